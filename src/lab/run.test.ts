import { describe, expect, it } from 'vitest';
import { LabScenarioError, labPassed, resolveKnobs, runLab, runVariant } from './run.js';
import type { LabContext, Scenario, VariantOutcome } from './types.js';

/** A tiny scenario whose unsafe variant violates on odd seeds: enough to test the framework. */
function toy(
  overrides: Partial<Record<'unsafe' | 'safe', (c: LabContext) => Promise<VariantOutcome>>> = {},
): Scenario {
  const base = async (context: LabContext, unsafe: boolean): Promise<VariantOutcome> => {
    const sim = context.simulation();
    const a = sim.node('a');
    const b = sim.node('b');
    let got = 0;
    b.start((node) => void node.transport.onMessage(() => got++));
    a.start((node) => node.transport.send('b', 'x'));
    await sim.run({ untilMs: 100 });
    const violated = unsafe && context.seed % 2 === 1;
    const index = context.note('b', violated ? 'bad' : 'good');
    return violated
      ? {
          violated,
          evidence: { timeMs: sim.nowMs, summary: 'odd seed', traceIndex: index },
          figures: { got },
        }
      : { violated, figures: { got } };
  };
  return {
    name: 'toy',
    title: 'Toy',
    problem: 'A toy. It tests the framework.',
    reference: 'none',
    property: 'even seeds only',
    api: '',
    figures: [{ name: 'got', label: 'messages', unit: '', better: 'none' }],
    knobs: [{ name: 'lossPct', label: 'loss', min: 0, max: 100, step: 1, default: 5, unit: '%' }],
    variants: {
      unsafe: { summary: 'u', run: overrides.unsafe ?? ((c) => base(c, true)) },
      safe: { summary: 's', run: overrides.safe ?? ((c) => base(c, false)) },
    },
  };
}

describe('lab framework', () => {
  it('fills knob defaults and refuses unknown or out-of-range knobs, naming them', () => {
    expect(resolveKnobs(toy())).toEqual({ lossPct: 5 });
    expect(resolveKnobs(toy(), { lossPct: 0 })).toEqual({ lossPct: 0 });
    expect(() => resolveKnobs(toy(), { nope: 1 })).toThrow(/knobs.*nope/);
    expect(() => resolveKnobs(toy(), { lossPct: 101 })).toThrow(/knobs\.lossPct.*101/);
    expect(() => resolveKnobs(toy(), { lossPct: Number.NaN })).toThrow(/knobs\.lossPct/);
    expect(() => resolveKnobs(toy(), { lossPct: '5' as unknown as number })).toThrow(RangeError);
  });

  it('refuses bad seeds and variants', async () => {
    await expect(runVariant(toy(), 'unsafe', { seed: -1 })).rejects.toThrow(/seed/);
    await expect(runVariant(toy(), 'unsafe', { seed: 1.5 })).rejects.toThrow(/seed/);
    await expect(runVariant(toy(), 'textbook', { seed: 1 })).rejects.toThrow(/variant/);
  });

  it('returns verdict, evidence, figures and a trace hash; records the trace on request', async () => {
    const run = await runVariant(toy(), 'unsafe', { seed: 1, record: true });
    expect(run.violated).toBe(true);
    expect(run.evidence?.summary).toBe('odd seed');
    expect(run.figures).toEqual({ got: 1 });
    expect(run.traceHash).toMatch(/^[0-9a-f]{16}$/);
    const noted = run.trace?.events.find((e) => e.index === run.evidence?.traceIndex);
    expect(noted?.kind).toBe('note');
    expect(noted?.detail).toBe('bad');
    const again = await runVariant(toy(), 'unsafe', { seed: 1 });
    expect(again.traceHash).toBe(run.traceHash);
    expect(again.trace).toBeUndefined();
  });

  it('turns a broken scenario contract into a LabScenarioError naming scenario, variant and seed', async () => {
    const noEvidence = toy({
      unsafe: async (c) => {
        c.simulation();
        return { violated: true, figures: { got: 0 } };
      },
    });
    await expect(runVariant(noEvidence, 'unsafe', { seed: 3 })).rejects.toThrow(
      /toy, unsafe variant, seed 3: reported a violation without evidence/,
    );
    const badFigure = toy({
      safe: async (c) => {
        c.simulation();
        return { violated: false, figures: { got: Number.NaN } };
      },
    });
    await expect(runVariant(badFigure, 'safe', { seed: 1 })).rejects.toBeInstanceOf(
      LabScenarioError,
    );
    const extraFigure = toy({
      safe: async (c) => {
        c.simulation();
        return { violated: false, figures: { got: 1, other: 2 } };
      },
    });
    await expect(runVariant(extraFigure, 'safe', { seed: 1 })).rejects.toThrow(
      /undeclared figure other/,
    );
    const twoSims = toy({
      safe: async (c) => {
        c.simulation();
        c.simulation();
        return { violated: false, figures: { got: 1 } };
      },
    });
    await expect(runVariant(twoSims, 'safe', { seed: 1 })).rejects.toThrow(/second simulation/);
    const throws = toy({
      safe: async () => {
        throw new Error('boom');
      },
    });
    await expect(runVariant(throws, 'safe', { seed: 7 })).rejects.toThrow(
      /seed 7: threw Error: boom/,
    );
  });

  it('summarises seeds and applies the verdict rule', async () => {
    const [summary] = await runLab([toy()], { seeds: 4, firstSeed: 1 });
    expect(summary?.unsafe).toEqual({
      violated: true,
      violatedSeeds: 2,
      firstViolatedSeed: 1,
      figures: { got: 1 },
    });
    expect(summary?.safe.violated).toBe(false);
    expect(summary?.problems).toEqual([]);
    // An unsafe variant that never fails proves nothing: seed 2 alone is even.
    const evenOnly = await runLab([toy()], { seeds: 1, firstSeed: 2 });
    expect(labPassed(evenOnly)).toBe(false);
    expect(evenOnly[0]?.problems[0]).toMatch(/unsafe variant never violated in seeds 2\.\.2/);
    // A safe variant that fails names the seed to replay.
    const broken = toy({ safe: toy().variants.unsafe.run });
    const failed = await runLab([broken], { seeds: 3 });
    expect(failed[0]?.problems[0]).toMatch(
      /safe variant violated on 2 seed\(s\); replay: faultline lab --scenario toy --seed 1/,
    );
  });
});

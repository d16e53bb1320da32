import { describe, expect, it } from 'vitest';
import { runVariant } from '../run.js';
import { causality } from './causality.js';

const seeds = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('lab scenario causality', () => {
  it('wall-clock timestamps misorder a happened-before pair on most of seeds 1..10', async () => {
    let violated = 0;
    for (const seed of seeds(10))
      if ((await runVariant(causality, 'unsafe', { seed })).violated) violated++;
    expect(violated).toBeGreaterThanOrEqual(9);
  });

  it('Lamport and vector clocks hold on seeds 1..200', async () => {
    const failing: number[] = [];
    for (const seed of seeds(200))
      if ((await runVariant(causality, 'safe', { seed })).violated) failing.push(seed);
    expect(failing).toEqual([]);
  });

  it('is deterministic: the same seed gives the same trace hash and figures', async () => {
    for (const variant of ['unsafe', 'safe'] as const) {
      const one = await runVariant(causality, variant, { seed: 5 });
      const two = await runVariant(causality, variant, { seed: 5 });
      expect(two.traceHash).toBe(one.traceHash);
      expect(two.figures).toEqual(one.figures);
    }
  });

  it('points its evidence at the note of the misordered effect', async () => {
    const run = await runVariant(causality, 'unsafe', { seed: 1, record: true });
    expect(run.violated).toBe(true);
    const evidence = run.evidence;
    expect(Number.isFinite(evidence?.timeMs)).toBe(true);
    const event = run.trace?.events.find((e) => e.index === evidence?.traceIndex);
    expect(event?.kind).toBe('note');
    expect(event?.timeMs).toBe(evidence?.timeMs);
    expect(evidence?.operations).toHaveLength(2);
  });

  it('vector clocks detect every concurrent pair; wall clocks detect none', async () => {
    const unsafe = await runVariant(causality, 'unsafe', { seed: 2 });
    const safe = await runVariant(causality, 'safe', { seed: 2 });
    expect(unsafe.figures['misorderedPairs']).toBeGreaterThan(0);
    expect(safe.figures['misorderedPairs']).toBe(0);
    expect(safe.figures['concurrentPairs']).toBeGreaterThan(0);
    expect(safe.figures['concurrentDetected']).toBe(safe.figures['concurrentPairs']);
    expect(unsafe.figures['concurrentDetected']).toBe(0);
  });
});

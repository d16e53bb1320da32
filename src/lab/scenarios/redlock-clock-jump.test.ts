import { describe, expect, it } from 'vitest';
import { runVariant } from '../run.js';
import type { VariantName } from '../types.js';
import { redlockClockJump } from './redlock-clock-jump.js';

async function violatedSeeds(variant: VariantName, seeds: number): Promise<number> {
  let violated = 0;
  for (let seed = 1; seed <= seeds; seed++)
    if ((await runVariant(redlockClockJump, variant, { seed })).violated) violated++;
  return violated;
}

async function meanFigure(variant: VariantName, name: string): Promise<number> {
  let sum = 0;
  for (let seed = 1; seed <= 10; seed++)
    sum += (await runVariant(redlockClockJump, variant, { seed })).figures[name] ?? Number.NaN;
  return sum / 10;
}

describe('the redlock-clock-jump scenario', () => {
  it('violates in the unsafe variant on most seeds 1..10', async () => {
    expect(await violatedSeeds('unsafe', 10)).toBeGreaterThanOrEqual(8);
  });

  it('holds in the safe variant on every seed 1..200', async () => {
    expect(await violatedSeeds('safe', 200)).toBe(0);
  });

  it('replays a seed: same trace hash and figures', async () => {
    for (const variant of ['unsafe', 'safe'] as const) {
      const a = await runVariant(redlockClockJump, variant, { seed: 3 });
      const b = await runVariant(redlockClockJump, variant, { seed: 3 });
      expect(b.traceHash).toBe(a.traceHash);
      expect(b.figures).toEqual(a.figures);
    }
  });

  it('points its evidence at a note of the trace', async () => {
    for (const variant of ['unsafe'] as const) {
      const run = await runVariant(redlockClockJump, variant, { seed: 1, record: true });
      expect(run.violated).toBe(true);
      const evidence = run.evidence;
      expect(Number.isFinite(evidence?.timeMs)).toBe(true);
      expect(evidence?.operations?.length).toBeGreaterThan(0);
      const event = run.trace?.events.find((e) => e.index === evidence?.traceIndex);
      expect(event?.kind).toBe('note');
      expect(event?.timeMs).toBeCloseTo(evidence?.timeMs ?? Number.NaN, 6);
    }
  });

  it('lets two clients hold the lock at once, and orders their writes only with the token', async () => {
    expect(await meanFigure('unsafe', 'holdersAtOnce')).toBe(2);
    expect(await meanFigure('safe', 'holdersAtOnce')).toBe(2);
    expect(await meanFigure('unsafe', 'staleWrites')).toBeGreaterThan(0.5);
    expect(await meanFigure('safe', 'staleWrites')).toBe(0);
    expect(await meanFigure('safe', 'writesRejected')).toBe(
      await meanFigure('unsafe', 'staleWrites'),
    );
  });

  it('needs the clock jump: without it the second client never gets a quorum', async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const run = await runVariant(redlockClockJump, 'unsafe', { seed, knobs: { clockJumpMs: 0 } });
      expect(run.violated).toBe(false);
      expect(run.figures['holdersAtOnce']).toBe(1);
    }
  });
});

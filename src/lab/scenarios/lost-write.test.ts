import { describe, expect, it } from 'vitest';
import { runVariant } from '../run.js';
import { lostWrite } from './lost-write.js';

const seeds = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('lab: lost write', () => {
  it('the server that acknowledges before fsync loses writes on most seeds', async () => {
    let violated = 0;
    for (const seed of seeds(1, 10))
      if ((await runVariant(lostWrite, 'unsafe', { seed })).violated) violated++;
    expect(violated).toBeGreaterThanOrEqual(6);
  });

  it('the server that acknowledges after fsync is linearizable on seeds 1..200', async () => {
    const failing: number[] = [];
    for (const seed of seeds(1, 200))
      if ((await runVariant(lostWrite, 'safe', { seed })).violated) failing.push(seed);
    expect(failing).toEqual([]);
  });

  it('replays a seed exactly and names the operations in its evidence', async () => {
    const a = await runVariant(lostWrite, 'unsafe', { seed: 1, record: true });
    const b = await runVariant(lostWrite, 'unsafe', { seed: 1 });
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.figures).toEqual(a.figures);
    expect(a.violated).toBe(true);
    expect(Number.isFinite(a.evidence?.timeMs)).toBe(true);
    expect(a.evidence?.operations?.length).toBeGreaterThan(0);
    const crashes = a.trace?.events.filter((e) => e.kind === 'crash').length;
    expect(crashes).toBe(3);
  });

  it('with no crash the lossy server loses nothing (the crash is what bites)', async () => {
    for (const seed of seeds(1, 10))
      expect(
        (await runVariant(lostWrite, 'unsafe', { seed, knobs: { crashes: 0 } })).violated,
      ).toBe(false);
  });
});

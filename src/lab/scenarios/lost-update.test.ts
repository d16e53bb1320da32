import { describe, expect, it } from 'vitest';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../testing.js';
import { lostUpdate } from './lost-update.js';

describe('the lost-update scenario', () => {
  it('oversells with read-modify-write, with or without a per-process mutex, on seeds 1..20', async () => {
    const unsafe = await runSeeds(lostUpdate, 'unsafe', 1, 20);
    const textbook = await runSeeds(lostUpdate, 'textbook', 1, 20);
    expect(unsafe.filter((r) => r.violated).length).toBeGreaterThanOrEqual(18);
    expect(textbook.filter((r) => r.violated).length).toBeGreaterThanOrEqual(15);
    expect(meanOf(unsafe, 'oversold')).toBeGreaterThan(meanOf(textbook, 'oversold'));
  });

  it('sells exactly the stock with each of the four fixes on every seed 1..200', async () => {
    const safe = await runSeeds(lostUpdate, 'safe', 1, 200);
    expect(safe.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
    // Every unit of every item is sold (30 buyers for 10 units each), none beyond.
    for (const r of safe) expect(r.figures['sold']).toBe(r.figures['stock']);
    // The optimistic fix met real conflicts and retried them.
    expect(meanOf(safe, 'conflicts')).toBeGreaterThan(1);
  });

  it('replays a seed and points its evidence at a note of the trace', async () => {
    for (const variant of ['unsafe', 'textbook', 'safe'] as const)
      expect(await replayDifferences(lostUpdate, variant, 5)).toEqual([]);
    for (const variant of ['unsafe', 'textbook'] as const) {
      const seed = (await runSeeds(lostUpdate, variant, 1, 10)).find((r) => r.violated)?.seed;
      expect(await evidenceProblems(lostUpdate, variant, seed ?? -1)).toEqual([]);
    }
  });
});

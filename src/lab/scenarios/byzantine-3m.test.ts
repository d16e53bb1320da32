import { describe, expect, it } from 'vitest';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../testing.js';
import { byzantine3m } from './byzantine-3m.js';

describe('the byzantine-3m scenario', () => {
  it('fails with 3 generals on every seed 1..10', async () => {
    const runs = await runSeeds(byzantine3m, 'unsafe', 1, 10);
    expect(runs.filter((r) => r.violated)).toHaveLength(10);
    expect(meanOf(runs, 'notFollowing')).toBe(1);
  });

  it('holds with 4 generals on every seed 1..200', async () => {
    const runs = await runSeeds(byzantine3m, 'safe', 1, 200);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
  });

  it('replays a seed and points its evidence at a note', async () => {
    for (const variant of ['unsafe', 'safe'] as const)
      expect(await replayDifferences(byzantine3m, variant, 3)).toEqual([]);
    expect(await evidenceProblems(byzantine3m, 'unsafe', 1)).toEqual([]);
  });
});

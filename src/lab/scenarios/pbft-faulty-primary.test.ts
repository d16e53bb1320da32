import { describe, expect, it } from 'vitest';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../testing.js';
import { pbftFaultyPrimary } from './pbft-faulty-primary.js';

describe('the pbft-faulty-primary scenario', () => {
  it('commits two requests at one sequence number with f + 1 quorums on most seeds 1..10', async () => {
    const runs = await runSeeds(pbftFaultyPrimary, 'unsafe', 1, 10);
    expect(runs.filter((r) => r.violated).length).toBeGreaterThanOrEqual(5);
  });

  it('holds with 2f + 1 quorums and a view change on every seed 1..200', async () => {
    const runs = await runSeeds(pbftFaultyPrimary, 'safe', 1, 200);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
    expect(meanOf(runs, 'divergent')).toBe(0);
  });

  it('replays a seed and points its evidence at a note', async () => {
    for (const variant of ['unsafe', 'safe'] as const)
      expect(await replayDifferences(pbftFaultyPrimary, variant, 3)).toEqual([]);
    const failing = (await runSeeds(pbftFaultyPrimary, 'unsafe', 1, 10)).find((r) => r.violated);
    expect(await evidenceProblems(pbftFaultyPrimary, 'unsafe', failing?.seed ?? 1)).toEqual([]);
  });
});

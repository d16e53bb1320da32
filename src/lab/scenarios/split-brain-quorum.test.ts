import { describe, expect, it } from 'vitest';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../testing.js';
import { splitBrainQuorum } from './split-brain-quorum.js';

describe('the split-brain-quorum scenario', () => {
  it('accepts stale writes in the unsafe variant on every seed 1..10', async () => {
    const runs = await runSeeds(splitBrainQuorum, 'unsafe', 1, 10);
    expect(runs.filter((r) => r.violated)).toHaveLength(10);
    expect(meanOf(runs, 'primariesAtOnce')).toBe(2);
  });

  it('holds in the safe variant on every seed 1..200, with one primary at a time', async () => {
    const runs = await runSeeds(splitBrainQuorum, 'safe', 1, 200);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
    expect(meanOf(runs, 'primariesAtOnce')).toBe(1);
  });

  it('replays a seed and points its evidence at a note', async () => {
    for (const variant of ['unsafe', 'safe'] as const)
      expect(await replayDifferences(splitBrainQuorum, variant, 3)).toEqual([]);
    expect(await evidenceProblems(splitBrainQuorum, 'unsafe', 1)).toEqual([]);
  });

  it('textbook: checking the quorum only when a peer is reported down still lets stale writes through', async () => {
    const runs = await runSeeds(splitBrainQuorum, 'textbook', 1, 10);
    expect(runs.filter((r) => r.violated).length).toBeGreaterThan(0);
    expect(meanOf(runs, 'writesRejected')).toBeGreaterThan(0);
    expect(
      await evidenceProblems(splitBrainQuorum, 'textbook', runs.find((r) => r.violated)?.seed ?? 1),
    ).toEqual([]);
  });
});

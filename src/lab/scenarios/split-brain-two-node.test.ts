import { describe, expect, it } from 'vitest';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../testing.js';
import { splitBrainTwoNode } from './split-brain-two-node.js';

describe('the split-brain-two-node scenario', () => {
  it('accepts stale writes in the unsafe variant on every seed 1..10', async () => {
    const runs = await runSeeds(splitBrainTwoNode, 'unsafe', 1, 10);
    expect(runs.filter((r) => r.violated)).toHaveLength(10);
    expect(meanOf(runs, 'primariesAtOnce')).toBe(2);
  });

  it('holds in the safe variant on every seed 1..200, with one primary at a time', async () => {
    const runs = await runSeeds(splitBrainTwoNode, 'safe', 1, 200);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
    expect(meanOf(runs, 'primariesAtOnce')).toBe(1);
  });

  it('replays a seed and points its evidence at a note', async () => {
    for (const variant of ['unsafe', 'safe'] as const)
      expect(await replayDifferences(splitBrainTwoNode, variant, 3)).toEqual([]);
    expect(await evidenceProblems(splitBrainTwoNode, 'unsafe', 1)).toEqual([]);
  });
});

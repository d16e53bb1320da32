import { describe, expect, it } from 'vitest';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../testing.js';
import { paxosDurablePromise } from './paxos-durable-promise.js';

describe('the paxos-durable-promise scenario', () => {
  it('chooses a second value on every seed 1..10 when acceptors forget', async () => {
    const runs = await runSeeds(paxosDurablePromise, 'unsafe', 1, 10);
    expect(runs.filter((r) => r.violated)).toHaveLength(10);
    expect(meanOf(runs, 'valuesChosen')).toBe(2);
  });

  it('chooses one value on every seed 1..200 with durable acceptors', async () => {
    const runs = await runSeeds(paxosDurablePromise, 'safe', 1, 200);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
    expect(meanOf(runs, 'valuesChosen')).toBe(1);
  });

  it('replays a seed and points its evidence at a note', async () => {
    for (const variant of ['unsafe', 'safe'] as const)
      expect(await replayDifferences(paxosDurablePromise, variant, 3)).toEqual([]);
    expect(await evidenceProblems(paxosDurablePromise, 'unsafe', 1)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../testing.js';
import { distributedDeadlock } from './distributed-deadlock.js';

describe('the distributed-deadlock scenario', () => {
  it('violates without detection on most seeds 1..20', { timeout: 300_000 }, async () => {
    const runs = await runSeeds(distributedDeadlock, 'unsafe', 1, 20);
    expect(runs.filter((r) => r.violated).length).toBeGreaterThanOrEqual(18);
    expect(meanOf(runs, 'unfinishedWorkers')).toBeGreaterThan(1);
  });

  it(
    'the textbook snapshot detector reports phantoms; edge chasing never does (seeds 1..100)',
    { timeout: 300_000 },
    async () => {
      const textbook = await runSeeds(distributedDeadlock, 'textbook', 1, 100);
      const safe = await runSeeds(distributedDeadlock, 'safe', 1, 100);
      expect(textbook.filter((r) => r.violated).length).toBeGreaterThanOrEqual(5);
      expect(meanOf(textbook, 'phantomDeadlocks')).toBeGreaterThan(0);
      expect(safe.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
      expect(meanOf(safe, 'realDeadlocksReported')).toBeGreaterThan(1);
      expect(meanOf(safe, 'detectorMessages')).toBeLessThan(meanOf(textbook, 'detectorMessages'));
    },
  );

  it('replays a seed and points its evidence at a note', { timeout: 120_000 }, async () => {
    for (const variant of ['unsafe', 'textbook', 'safe'] as const)
      expect(await replayDifferences(distributedDeadlock, variant, 4)).toEqual([]);
    expect(await evidenceProblems(distributedDeadlock, 'unsafe', 1)).toEqual([]);
    const seed =
      (await runSeeds(distributedDeadlock, 'textbook', 1, 40)).find((r) => r.violated)?.seed ?? 1;
    expect(await evidenceProblems(distributedDeadlock, 'textbook', seed)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { meanOf, runSeeds } from '../testing.js';
import { distributedDeadlock } from './distributed-deadlock.js';

describe('the distributed-deadlock scenario', () => {
  it('without detection the workers of a cross-site cycle wait forever', async () => {
    const runs = await runSeeds(distributedDeadlock, 'unsafe', 1, 10);
    expect(meanOf(runs, 'unfinishedWorkers')).toBeGreaterThan(1);
  });

  it(
    'the textbook snapshot detector reports phantoms; edge chasing never does (seeds 1..40)',
    { timeout: 300_000 },
    async () => {
      const textbook = await runSeeds(distributedDeadlock, 'textbook', 1, 40);
      const safe = await runSeeds(distributedDeadlock, 'safe', 1, 40);
      expect(textbook.filter((r) => r.violated).length).toBeGreaterThanOrEqual(20);
      expect(meanOf(textbook, 'phantomDeadlocks')).toBeGreaterThan(0);
      expect(safe.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
      expect(meanOf(safe, 'realDeadlocksReported')).toBeGreaterThan(1);
      expect(meanOf(safe, 'detectorMessages')).toBeLessThan(meanOf(textbook, 'detectorMessages'));
    },
  );
});

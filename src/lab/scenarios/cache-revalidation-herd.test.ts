import { describe, expect, it } from 'vitest';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../testing.js';
import { cacheRevalidationHerd } from './cache-revalidation-herd.js';

describe('cache-revalidation-herd scenario', () => {
  it('the unsafe variant violates the property on every seed 1..10', async () => {
    const runs = await runSeeds(cacheRevalidationHerd, 'unsafe', 1, 10);
    expect(runs.filter((r) => r.violated).length).toBe(10);
    expect(meanOf(runs, 'maxConcurrentLoads')).toBeGreaterThan(10);
  });

  it('the textbook variant violates the property on every seed 1..10', async () => {
    const runs = await runSeeds(cacheRevalidationHerd, 'textbook', 1, 10);
    expect(runs.filter((r) => r.violated).length).toBe(10);
    expect(meanOf(runs, 'originCalls')).toBeGreaterThan(
      5 * meanOf(await runSeeds(cacheRevalidationHerd, 'safe', 1, 10), 'originCalls'),
    );
  });

  it('the safe variant holds on seeds 1..40, with far fewer origin calls', async () => {
    const runs = await runSeeds(cacheRevalidationHerd, 'safe', 1, 40);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
    expect(Math.max(...runs.map((r) => r.figures['maxConcurrentLoads'] ?? Number.NaN))).toBe(1);
    const unsafe = await runSeeds(cacheRevalidationHerd, 'unsafe', 1, 10);
    expect(meanOf(unsafe, 'originCalls')).toBeGreaterThan(
      5 * meanOf(runs.slice(0, 10), 'originCalls'),
    );
  }, 120_000);

  it('replays: the same seed gives the same trace hash and figures', async () => {
    expect(await replayDifferences(cacheRevalidationHerd, 'unsafe', 3)).toEqual([]);
    expect(await replayDifferences(cacheRevalidationHerd, 'textbook', 3)).toEqual([]);
    expect(await replayDifferences(cacheRevalidationHerd, 'safe', 3)).toEqual([]);
  });

  it('points its evidence at a note of the trace', async () => {
    expect(await evidenceProblems(cacheRevalidationHerd, 'unsafe', 1)).toEqual([]);
    expect(await evidenceProblems(cacheRevalidationHerd, 'textbook', 1)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../testing.js';
import { cacheCrossInstance } from './cache-cross-instance.js';

describe('cache-cross-instance scenario', () => {
  it('per-process locking (unsafe) reloads once per instance: K loads at once', async () => {
    const runs = await runSeeds(cacheCrossInstance, 'unsafe', 1, 8);
    expect(runs.filter((r) => r.violated).length).toBe(8);
    expect(meanOf(runs, 'maxConcurrentLoads')).toBe(4);
  });

  it('the textbook lock (SET NX, DEL, sleep 100 ms) lets a second reload in on most seeds', async () => {
    const runs = await runSeeds(cacheCrossInstance, 'textbook', 1, 8);
    expect(runs.filter((r) => r.violated).length).toBeGreaterThanOrEqual(7);
  });

  it('the fenced, renewed lease (safe) holds on seeds 1..30 with far fewer origin calls than unsafe', async () => {
    const runs = await runSeeds(cacheCrossInstance, 'safe', 1, 30);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
    const unsafe = await runSeeds(cacheCrossInstance, 'unsafe', 1, 8);
    expect(meanOf(unsafe, 'originCalls')).toBeGreaterThan(
      2.5 * meanOf(runs.slice(0, 8), 'originCalls'),
    );
  }, 120_000);

  it('replays: the same seed gives the same trace hash and figures', async () => {
    expect(await replayDifferences(cacheCrossInstance, 'textbook', 3)).toEqual([]);
    expect(await replayDifferences(cacheCrossInstance, 'safe', 3)).toEqual([]);
  });

  it('points its evidence at a note of the trace', async () => {
    expect(await evidenceProblems(cacheCrossInstance, 'unsafe', 1)).toEqual([]);
    expect(await evidenceProblems(cacheCrossInstance, 'textbook', 1)).toEqual([]);
  });
});

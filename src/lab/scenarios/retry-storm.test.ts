import { describe, expect, it } from 'vitest';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../resilience/testing.js';
import { retryStorm } from './retry-storm.js';

describe('retry-storm scenario', () => {
  it('the unsafe variant (immediate retries) violates the property on most seeds', async () => {
    const runs = await runSeeds(retryStorm, 'unsafe', 1, 10);
    expect(runs.filter((r) => r.violated).length).toBeGreaterThanOrEqual(9);
  });

  it('the textbook variant (exponential backoff without jitter) violates on most seeds', async () => {
    const runs = await runSeeds(retryStorm, 'textbook', 1, 10);
    expect(runs.filter((r) => r.violated).length).toBeGreaterThanOrEqual(9);
    // The synchronised waves do not finish within the horizon.
    expect(meanOf(runs, 'completionMs')).toBe(3_000);
  });

  it('the safe variant (full jitter + retry budget) holds on seeds 1..200', async () => {
    const runs = await runSeeds(retryStorm, 'safe', 1, 200);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
  }, 180_000);

  it('immediate retries cost the server more than twice the calls of jittered backoff', async () => {
    const unsafe = await runSeeds(retryStorm, 'unsafe', 1, 10);
    const safe = await runSeeds(retryStorm, 'safe', 1, 10);
    expect(meanOf(unsafe, 'serverCalls')).toBeGreaterThan(2 * meanOf(safe, 'serverCalls'));
    expect(meanOf(unsafe, 'failedRequests')).toBeGreaterThan(0);
    expect(meanOf(safe, 'failedRequests')).toBe(0);
  });

  it('replays: the same seed gives the same trace hash and figures', async () => {
    expect(await replayDifferences(retryStorm, 'unsafe', 3)).toEqual([]);
    expect(await replayDifferences(retryStorm, 'safe', 3)).toEqual([]);
  });

  it('points its evidence at a note of the trace', async () => {
    expect(await evidenceProblems(retryStorm, 'unsafe', 1)).toEqual([]);
    expect(await evidenceProblems(retryStorm, 'textbook', 1)).toEqual([]);
  });
});

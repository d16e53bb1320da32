import { describe, expect, it } from 'vitest';
import { meanOf, runSeeds } from '../testing.js';
import { retryStorm } from './retry-storm.js';

describe('retry-storm scenario', () => {
  it('immediate retries cost the server more than twice the calls of jittered backoff', async () => {
    const unsafe = await runSeeds(retryStorm, 'unsafe', 1, 10);
    const safe = await runSeeds(retryStorm, 'safe', 1, 10);
    expect(meanOf(unsafe, 'serverCalls')).toBeGreaterThan(2 * meanOf(safe, 'serverCalls'));
    expect(meanOf(unsafe, 'failedRequests')).toBeGreaterThan(0);
    expect(meanOf(safe, 'failedRequests')).toBe(0);
    // Exponential backoff without jitter: the synchronised waves do not finish within the horizon.
    expect(meanOf(await runSeeds(retryStorm, 'textbook', 1, 10), 'completionMs')).toBe(3_000);
  });
});

import { describe, expect, it } from 'vitest';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../resilience/testing.js';
import { readiness } from './readiness.js';

describe('readiness scenario', () => {
  it('the unsafe variant (readiness = liveness) violates the property on most seeds', async () => {
    const runs = await runSeeds(readiness, 'unsafe', 1, 10);
    expect(runs.filter((r) => r.violated).length).toBeGreaterThanOrEqual(9);
  });

  it('the safe variant (readiness from the circuit breaker) holds on seeds 1..200', async () => {
    const runs = await runSeeds(readiness, 'safe', 1, 200);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
  }, 180_000);

  it('readiness from the breaker takes the instance out of rotation and fails far fewer requests', async () => {
    const unsafe = await runSeeds(readiness, 'unsafe', 1, 10);
    const safe = await runSeeds(readiness, 'safe', 1, 10);
    expect(meanOf(unsafe, 'failedRequests')).toBeGreaterThan(3 * meanOf(safe, 'failedRequests'));
    // Unsafe never takes it out: the figure is then the whole outage (1000 ms by default).
    expect(meanOf(unsafe, 'outOfRotationMs')).toBe(1_000);
    expect(meanOf(safe, 'outOfRotationMs')).toBeLessThan(500);
  });

  it('replays: the same seed gives the same trace hash and figures', async () => {
    expect(await replayDifferences(readiness, 'unsafe', 6)).toEqual([]);
    expect(await replayDifferences(readiness, 'safe', 6)).toEqual([]);
  });

  it('points its evidence at a note of the trace', async () => {
    expect(await evidenceProblems(readiness, 'unsafe', 1)).toEqual([]);
  });
});

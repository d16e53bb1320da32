import { describe, expect, it } from 'vitest';
import { meanOf, runSeeds } from '../testing.js';
import { readiness } from './readiness.js';

describe('readiness scenario', () => {
  it('readiness from the breaker takes the instance out of rotation and fails far fewer requests', async () => {
    const unsafe = await runSeeds(readiness, 'unsafe', 1, 10);
    const safe = await runSeeds(readiness, 'safe', 1, 10);
    expect(meanOf(unsafe, 'failedRequests')).toBeGreaterThan(3 * meanOf(safe, 'failedRequests'));
    // Unsafe never takes it out: the figure is then the whole outage (1000 ms by default).
    expect(meanOf(unsafe, 'outOfRotationMs')).toBe(1_000);
    expect(meanOf(safe, 'outOfRotationMs')).toBeLessThan(500);
  });
});

import { describe, expect, it } from 'vitest';
import { meanOf, runSeeds } from '../testing.js';
import { semaphoreStarvation } from './semaphore-starvation.js';

describe('the semaphore-starvation scenario', () => {
  it('starves the big request without a queue and serves it promptly with one', async () => {
    const unsafe = await runSeeds(semaphoreStarvation, 'unsafe', 1, 10);
    const safe = await runSeeds(semaphoreStarvation, 'safe', 1, 10);
    expect(unsafe.filter((r) => r.violated).length).toBeGreaterThanOrEqual(6);
    expect(meanOf(unsafe, 'smallGrantsWhileWaiting')).toBeGreaterThan(10);
    // With the queue, only the grants already made when it asked come before it.
    for (const r of safe)
      expect(r.figures['smallGrantsWhileWaiting']).toBeLessThanOrEqual(PERMITS_HELD);
    expect(meanOf(safe, 'bigWaitMs')).toBeLessThan(meanOf(unsafe, 'bigWaitMs'));
  });
});

const PERMITS_HELD = 3;

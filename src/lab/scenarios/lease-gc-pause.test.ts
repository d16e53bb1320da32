import { describe, expect, it } from 'vitest';
import { meanOf, runSeeds } from '../testing.js';
import { leaseGcPause } from './lease-gc-pause.js';

describe('the lease-gc-pause scenario', () => {
  it('turns the stale writes of the unsafe variant into rejections', async () => {
    const unsafe = await runSeeds(leaseGcPause, 'unsafe', 1, 10);
    const safe = await runSeeds(leaseGcPause, 'safe', 1, 10);
    expect(meanOf(unsafe, 'staleWrites')).toBeGreaterThan(0.5);
    expect(meanOf(safe, 'staleWrites')).toBe(0);
    expect(meanOf(safe, 'writesRejected')).toBe(meanOf(unsafe, 'staleWrites'));
  });
});

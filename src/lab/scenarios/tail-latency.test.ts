import { describe, expect, it } from 'vitest';
import { meanOf, runSeeds } from '../testing.js';
import { tailLatency } from './tail-latency.js';

describe('tail-latency scenario', () => {
  it('hedging cuts the p99 several times over for a bounded share of extra backend calls', async () => {
    const unsafe = await runSeeds(tailLatency, 'unsafe', 1, 10);
    const safe = await runSeeds(tailLatency, 'safe', 1, 10);
    expect(meanOf(unsafe, 'p99Ms')).toBeGreaterThan(3 * meanOf(safe, 'p99Ms'));
    expect(meanOf(unsafe, 'extraLoadPercent')).toBe(0);
    expect(meanOf(safe, 'extraLoadPercent')).toBeGreaterThan(0);
    expect(meanOf(safe, 'extraLoadPercent')).toBeLessThan(15);
  });
});

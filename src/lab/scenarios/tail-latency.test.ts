import { describe, expect, it } from 'vitest';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../resilience/testing.js';
import { tailLatency } from './tail-latency.js';

describe('tail-latency scenario', () => {
  it('the unsafe variant (fixed timeout, no hedging) violates the SLO on most seeds', async () => {
    const runs = await runSeeds(tailLatency, 'unsafe', 1, 10);
    expect(runs.filter((r) => r.violated).length).toBeGreaterThanOrEqual(8);
  });

  it('the textbook variant (adaptive P99 timeout + retry, no hedging) violates on most seeds', async () => {
    const runs = await runSeeds(tailLatency, 'textbook', 1, 10);
    expect(runs.filter((r) => r.violated).length).toBeGreaterThanOrEqual(8);
  });

  it('the safe variant (hedging after the p95, adaptive timeout) holds on seeds 1..200', async () => {
    const runs = await runSeeds(tailLatency, 'safe', 1, 200);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
  }, 180_000);

  it('hedging cuts the p99 several times over for a bounded share of extra backend calls', async () => {
    const unsafe = await runSeeds(tailLatency, 'unsafe', 1, 10);
    const safe = await runSeeds(tailLatency, 'safe', 1, 10);
    expect(meanOf(unsafe, 'p99Ms')).toBeGreaterThan(3 * meanOf(safe, 'p99Ms'));
    expect(meanOf(unsafe, 'extraLoadPercent')).toBe(0);
    expect(meanOf(safe, 'extraLoadPercent')).toBeGreaterThan(0);
    expect(meanOf(safe, 'extraLoadPercent')).toBeLessThan(15);
  });

  it('replays: the same seed gives the same trace hash and figures', async () => {
    expect(await replayDifferences(tailLatency, 'unsafe', 5)).toEqual([]);
    expect(await replayDifferences(tailLatency, 'safe', 5)).toEqual([]);
  });

  it('points its evidence at a note of the trace', async () => {
    expect(await evidenceProblems(tailLatency, 'unsafe', 1)).toEqual([]);
    expect(await evidenceProblems(tailLatency, 'textbook', 1)).toEqual([]);
  });
});

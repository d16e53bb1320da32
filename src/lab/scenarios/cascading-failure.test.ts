import { describe, expect, it } from 'vitest';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../resilience/testing.js';
import { cascadingFailure } from './cascading-failure.js';

describe('cascading-failure scenario', () => {
  it('the unsafe variant (no timeout, breaker or bulkhead) violates the property on most seeds', async () => {
    const runs = await runSeeds(cascadingFailure, 'unsafe', 1, 10);
    expect(runs.filter((r) => r.violated).length).toBeGreaterThanOrEqual(9);
  });

  it('the textbook variant (a breaker without a timeout) violates on most seeds', async () => {
    const runs = await runSeeds(cascadingFailure, 'textbook', 1, 10);
    expect(runs.filter((r) => r.violated).length).toBeGreaterThanOrEqual(9);
  });

  it('the safe variant (breaker + bulkhead + timeout) holds on seeds 1..200', async () => {
    const runs = await runSeeds(cascadingFailure, 'safe', 1, 200);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
  }, 180_000);

  it('without protection the front queue grows and local requests fail; with it they do not', async () => {
    const unsafe = await runSeeds(cascadingFailure, 'unsafe', 1, 10);
    const safe = await runSeeds(cascadingFailure, 'safe', 1, 10);
    expect(meanOf(unsafe, 'maxQueued')).toBeGreaterThan(10 * (meanOf(safe, 'maxQueued') + 1));
    expect(meanOf(unsafe, 'independentFailed')).toBeGreaterThan(0);
    expect(meanOf(safe, 'independentFailed')).toBe(0);
  });

  it('replays: the same seed gives the same trace hash and figures', async () => {
    expect(await replayDifferences(cascadingFailure, 'unsafe', 4)).toEqual([]);
    expect(await replayDifferences(cascadingFailure, 'safe', 4)).toEqual([]);
  });

  it('points its evidence at a note of the trace', async () => {
    expect(await evidenceProblems(cascadingFailure, 'unsafe', 1)).toEqual([]);
    expect(await evidenceProblems(cascadingFailure, 'textbook', 1)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../testing.js';
import { twoPhaseCrash } from './two-phase-crash.js';

describe('lab: two-phase commit coordinator crash', () => {
  it('the coordinator that forgets its decision breaks atomicity on every seed 1..10', async () => {
    const runs = await runSeeds(twoPhaseCrash, 'unsafe', 1, 10);
    expect(runs.filter((r) => r.violated).length).toBe(10);
    expect(meanOf(runs, 'mixedOutcomes')).toBeGreaterThanOrEqual(1);
  });

  it('the coordinator with a durable decision log and recovery keeps atomicity on seeds 1..100', async () => {
    const runs = await runSeeds(twoPhaseCrash, 'safe', 1, 100);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
    expect(meanOf(runs, 'inDoubtLeft')).toBe(0);
    expect(meanOf(runs, 'committed')).toBeGreaterThan(5);
  });

  it('blocks in both variants: a prepared branch holds its lock while the coordinator is down', async () => {
    for (const variant of ['unsafe', 'safe'] as const) {
      const runs = await runSeeds(twoPhaseCrash, variant, 1, 5);
      // The coordinator is down for 300 ms by default; the branch waits at least that long.
      for (const r of runs) expect(r.figures['lockHeldMaxMs']).toBeGreaterThanOrEqual(300);
    }
  });

  it('a shorter outage shortens the blocking window', async () => {
    const { runVariant } = await import('../run.js');
    const run = await runVariant(twoPhaseCrash, 'safe', { seed: 2, knobs: { restartAfterMs: 60 } });
    expect(run.violated).toBe(false);
    expect(run.figures['lockHeldMaxMs']).toBeGreaterThanOrEqual(60);
    expect(run.figures['lockHeldMaxMs']).toBeLessThan(300);
  });

  it('replays a seed and points its evidence at a note', async () => {
    for (const variant of ['unsafe', 'safe'] as const)
      expect(await replayDifferences(twoPhaseCrash, variant, 3)).toEqual([]);
    expect(await evidenceProblems(twoPhaseCrash, 'unsafe', 1)).toEqual([]);
  });
});

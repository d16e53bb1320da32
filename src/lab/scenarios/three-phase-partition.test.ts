import { describe, expect, it } from 'vitest';
import { runVariant } from '../run.js';
import { meanOf, runSeeds } from '../testing.js';
import { threePhasePartition } from './three-phase-partition.js';

describe('lab: 3PC under a partition', () => {
  it('3PC’s timeout rule decides the cut-off transaction both ways on every seed 1..10', async () => {
    const runs = await runSeeds(threePhasePartition, 'unsafe', 1, 10);
    expect(runs.filter((r) => r.violated).length).toBe(10);
    expect(meanOf(runs, 'inconsistentTxns')).toBeGreaterThanOrEqual(1);
    // The cut-off side did not wait out the partition: it decided on its 40-tick timeout.
    for (const r of runs) expect(r.figures['blockedMaxMs']).toBeLessThan(300);
  });

  it('2PC’s rule blocks the cut-off side through the partition and stays atomic', async () => {
    const runs = await runSeeds(threePhasePartition, 'safe', 1, 20);
    expect(runs.filter((r) => r.violated)).toEqual([]);
    for (const r of runs) {
      expect(r.figures['blockedMaxMs']).toBeGreaterThanOrEqual(300);
      expect(r.figures['undecidedLeft']).toBe(0);
    }
  });

  it('a shorter partition shortens the blocking', async () => {
    const run = await runVariant(threePhasePartition, 'safe', {
      seed: 2,
      knobs: { partitionMs: 60 },
    });
    expect(run.violated).toBe(false);
    expect(run.figures['blockedMaxMs']).toBeGreaterThanOrEqual(60);
    expect(run.figures['blockedMaxMs']).toBeLessThan(300);
  });
});

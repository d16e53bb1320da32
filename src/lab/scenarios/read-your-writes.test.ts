import { describe, expect, it } from 'vitest';
import { runVariant } from '../run.js';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../testing.js';
import { readYourWrites } from './read-your-writes.js';

describe('lab: read-your-writes on replicas', () => {
  it('reading from any replica returns the client’s old value on every seed 1..10', async () => {
    const runs = await runSeeds(readYourWrites, 'unsafe', 1, 10);
    expect(runs.filter((r) => r.violated).length).toBe(10);
    expect(meanOf(runs, 'staleReads')).toBeGreaterThan(10);
  });

  it('the session token never returns a stale read on seeds 1..100', async () => {
    const runs = await runSeeds(readYourWrites, 'safe', 1, 100);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
  });

  it('waiting for a replica keeps reads on replicas; not waiting sends them to the primary', async () => {
    const waiting = await runVariant(readYourWrites, 'safe', { seed: 2 });
    const eager = await runVariant(readYourWrites, 'safe', { seed: 2, knobs: { maxWaitMs: 0 } });
    expect(waiting.figures['replicaReadsPercent']).toBeGreaterThan(90);
    expect(eager.figures['replicaReadsPercent']).toBeLessThan(10);
    expect(eager.violated).toBe(false);
  });

  it('without replica lag the unsafe variant reads its writes too (the lag is what bites)', async () => {
    const run = await runVariant(readYourWrites, 'unsafe', { seed: 1, knobs: { lagMs: 0 } });
    expect(run.figures['staleReads']).toBeLessThan(run.figures['reads'] ?? 0);
  });

  it('replays a seed and points its evidence at a note', async () => {
    for (const variant of ['unsafe', 'safe'] as const)
      expect(await replayDifferences(readYourWrites, variant, 5)).toEqual([]);
    expect(await evidenceProblems(readYourWrites, 'unsafe', 1)).toEqual([]);
  });
});

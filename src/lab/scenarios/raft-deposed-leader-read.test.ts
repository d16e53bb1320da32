import { describe, expect, it } from 'vitest';
import { replayDifferences, runSeeds } from '../testing.js';
import { raftDeposedLeaderRead } from './raft-deposed-leader-read.js';

describe('the raft-deposed-leader-read scenario', () => {
  it('violates in the unsafe variant on at least 1 of seeds 1..10', async () => {
    const runs = await runSeeds(raftDeposedLeaderRead, 'unsafe', 1, 10);
    expect(runs.filter((r) => r.violated).length).toBeGreaterThanOrEqual(1);
  }, 300_000);

  it('holds in the safe variant on every seed 1..20', async () => {
    const runs = await runSeeds(raftDeposedLeaderRead, 'safe', 1, 20);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
  }, 300_000);

  it('replays a seed: same trace hash, verdict and figures', async () => {
    expect(await replayDifferences(raftDeposedLeaderRead, 'unsafe', 1)).toEqual([]);
    expect(await replayDifferences(raftDeposedLeaderRead, 'safe', 1)).toEqual([]);
  }, 120_000);

  it('the unsafe runs that violate are not linearizable; the safe ones are', async () => {
    const unsafe = await runSeeds(raftDeposedLeaderRead, 'unsafe', 1, 5);
    for (const r of unsafe.filter((x) => x.violated)) expect(r.figures['linearizable']).toBe(0);
    const safe = await runSeeds(raftDeposedLeaderRead, 'safe', 1, 5);
    for (const r of safe) expect(r.figures['linearizable']).toBe(1);
  }, 300_000);
});

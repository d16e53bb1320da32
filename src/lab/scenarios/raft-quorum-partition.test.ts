import { describe, expect, it } from 'vitest';
import { evidenceProblems, replayDifferences, runSeeds } from '../testing.js';
import { raftQuorumPartition } from './raft-quorum-partition.js';

describe('the raft-quorum-partition scenario', () => {
  it('violates in the unsafe variant on at least 5 of seeds 1..5', async () => {
    const runs = await runSeeds(raftQuorumPartition, 'unsafe', 1, 5);
    expect(runs.filter((r) => r.violated).length).toBeGreaterThanOrEqual(5);
  }, 300_000);

  it('holds in the safe variant on every seed 1..20', async () => {
    const runs = await runSeeds(raftQuorumPartition, 'safe', 1, 20);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
  }, 300_000);

  it('replays a seed: same trace hash, verdict and figures', async () => {
    expect(await replayDifferences(raftQuorumPartition, 'unsafe', 1)).toEqual([]);
    expect(await replayDifferences(raftQuorumPartition, 'safe', 1)).toEqual([]);
  }, 120_000);

  it('points its evidence at a note of the trace, at the moment of the violation', async () => {
    expect(await evidenceProblems(raftQuorumPartition, 'unsafe', 1)).toEqual([]);
  }, 120_000);
});

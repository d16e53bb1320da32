import { describe, expect, it } from 'vitest';
import { evidenceProblems, replayDifferences, runSeeds } from '../testing.js';
import { raftFigure8 } from './raft-figure-8.js';

describe('the raft-figure-8 scenario', () => {
  it('violates in the unsafe variant on at least 3 of seeds 1..3', async () => {
    const runs = await runSeeds(raftFigure8, 'unsafe', 1, 3);
    expect(runs.filter((r) => r.violated).length).toBeGreaterThanOrEqual(3);
  }, 300_000);

  it('holds in the safe variant on every seed 1..10', async () => {
    const runs = await runSeeds(raftFigure8, 'safe', 1, 10);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
  }, 300_000);

  it('replays a seed: same trace hash, verdict and figures', async () => {
    expect(await replayDifferences(raftFigure8, 'unsafe', 1)).toEqual([]);
    expect(await replayDifferences(raftFigure8, 'safe', 1)).toEqual([]);
  }, 120_000);

  it('points its evidence at a note of the trace, at the moment of the violation', async () => {
    expect(await evidenceProblems(raftFigure8, 'unsafe', 1)).toEqual([]);
  }, 120_000);
});

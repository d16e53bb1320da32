/**
 * The lab's catalogue: every scenario, in the order the table lists them. Adding a scenario is
 * one module in `scenarios/` and one line here.
 *
 * @module
 */
import type { Scenario } from './types.js';
import { cascadingFailure } from './scenarios/cascading-failure.js';
import { causality } from './scenarios/causality.js';
import { commitWait } from './scenarios/commit-wait.js';
import { failureDetection } from './scenarios/failure-detection.js';
import { leaseGcPause } from './scenarios/lease-gc-pause.js';
import { lostWrite } from './scenarios/lost-write.js';
import { lwwClockSkew } from './scenarios/lww-clock-skew.js';
import { readiness } from './scenarios/readiness.js';
import { redlockClockJump } from './scenarios/redlock-clock-jump.js';
import { retryStorm } from './scenarios/retry-storm.js';
import { splitBrainLeader } from './scenarios/split-brain-leader.js';
import { staleRead } from './scenarios/stale-read.js';
import { tailLatency } from './scenarios/tail-latency.js';
import { twoGenerals } from './scenarios/two-generals.js';
// raft (issue 12)
import { raftDeposedLeaderRead } from './scenarios/raft-deposed-leader-read.js';
import { raftFigure8 } from './scenarios/raft-figure-8.js';
import { raftQuorumPartition } from './scenarios/raft-quorum-partition.js';
import { raftSplitVote } from './scenarios/raft-split-vote.js';

/** Every scenario of the lab. */
export const catalogue: readonly Scenario[] = [
  retryStorm,
  cascadingFailure,
  twoGenerals,
  leaseGcPause,
  splitBrainLeader,
  redlockClockJump,
  lwwClockSkew,
  causality,
  failureDetection,
  tailLatency,
  lostWrite,
  staleRead,
  commitWait,
  readiness,
  // raft (issue 12)
  raftQuorumPartition,
  raftFigure8,
  raftDeposedLeaderRead,
  raftSplitVote,
];

/** The scenario named `name`, or undefined. */
export function scenarioByName(name: string): Scenario | undefined {
  return catalogue.find((s) => s.name === name);
}

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
// Idempotency keys and lost updates (issue 11).
import { duplicatePayment } from './scenarios/duplicate-payment.js';
import { lostUpdate } from './scenarios/lost-update.js';
// Caching (issue 11).
import { cacheStampedeCold } from './scenarios/cache-stampede-cold.js';
import { cacheStampedeExpiry } from './scenarios/cache-stampede-expiry.js';
import { cacheRevalidationHerd } from './scenarios/cache-revalidation-herd.js';
import { cacheCrossInstance } from './scenarios/cache-cross-instance.js';
// Transactions (issue 15).
import { twoPhaseCrash } from './scenarios/two-phase-crash.js';
import { sagaCompensation } from './scenarios/saga-compensation.js';
import { threePhasePartition } from './scenarios/three-phase-partition.js';
import { readYourWrites } from './scenarios/read-your-writes.js';
import { tccHangingTry } from './scenarios/tcc-hanging-try.js';
// Gossip and membership (issue 14).
import { gossipSpread } from './scenarios/gossip-spread.js';
import { swimSlowMember } from './scenarios/swim-slow-member.js';
// Deadlock detection (issue 14).
import { distributedDeadlock } from './scenarios/distributed-deadlock.js';
// Agreement (issue 13).
import { paxosDurablePromise } from './scenarios/paxos-durable-promise.js';
import { flpDuelling } from './scenarios/flp-duelling.js';
import { byzantineGenerals } from './scenarios/byzantine-generals.js';
import { byzantine3m } from './scenarios/byzantine-3m.js';
import { pbftFaultyPrimary } from './scenarios/pbft-faulty-primary.js';
import { splitBrainQuorum } from './scenarios/split-brain-quorum.js';
import { splitBrainTwoNode } from './scenarios/split-brain-two-node.js';
// raft (issue 12)
import { raftDeposedLeaderRead } from './scenarios/raft-deposed-leader-read.js';
import { raftFigure8 } from './scenarios/raft-figure-8.js';
import { raftQuorumPartition } from './scenarios/raft-quorum-partition.js';
import { raftSplitVote } from './scenarios/raft-split-vote.js';
import { capPartition } from './scenarios/cap-partition.js';
// Semaphores (issue 10).
import { semaphoreStarvation } from './scenarios/semaphore-starvation.js';

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
  // Idempotency keys and lost updates (issue 11).
  duplicatePayment,
  lostUpdate,
  // Caching (issue 11).
  cacheStampedeCold,
  cacheStampedeExpiry,
  cacheRevalidationHerd,
  cacheCrossInstance,
  // Transactions (issue 15).
  twoPhaseCrash,
  threePhasePartition,
  sagaCompensation,
  readYourWrites,
  tccHangingTry,
  // Gossip and membership (issue 14).
  gossipSpread,
  swimSlowMember,
  // Deadlock detection (issue 14).
  distributedDeadlock,
  // Agreement (issue 13).
  paxosDurablePromise,
  flpDuelling,
  byzantineGenerals,
  byzantine3m,
  pbftFaultyPrimary,
  splitBrainQuorum,
  splitBrainTwoNode,
  // raft (issue 12)
  raftQuorumPartition,
  raftFigure8,
  raftDeposedLeaderRead,
  raftSplitVote,
  capPartition,
  // Semaphores (issue 10).
  semaphoreStarvation,
];

/** The scenario named `name`, or undefined. */
export function scenarioByName(name: string): Scenario | undefined {
  return catalogue.find((s) => s.name === name);
}

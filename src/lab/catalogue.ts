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
import { paxosDurablePromise } from './scenarios/paxos-durable-promise.js';
import { flpDuelling } from './scenarios/flp-duelling.js';
import { byzantineGenerals } from './scenarios/byzantine-generals.js';
import { byzantine3m } from './scenarios/byzantine-3m.js';
import { pbftFaultyPrimary } from './scenarios/pbft-faulty-primary.js';
import { splitBrainQuorum } from './scenarios/split-brain-quorum.js';
import { splitBrainTwoNode } from './scenarios/split-brain-two-node.js';

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
  paxosDurablePromise,
  flpDuelling,
  byzantineGenerals,
  byzantine3m,
  pbftFaultyPrimary,
  splitBrainQuorum,
  splitBrainTwoNode,
];

/** The scenario named `name`, or undefined. */
export function scenarioByName(name: string): Scenario | undefined {
  return catalogue.find((s) => s.name === name);
}

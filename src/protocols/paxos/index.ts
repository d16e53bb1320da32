/**
 * Paxos (`faultline/paxos`): single-decree Paxos and Multi-Paxos as pure state machines, the
 * checker that decides their safety, and their simulator workloads.
 *
 * @module faultline/paxos
 */
export { PaxosNode } from './single.js';
export type { PaxosMessage, PaxosDurable, PaxosOptions, Proposal } from './single.js';
export { ballotOf, roundOf, MAX_PROPOSERS } from './ballot.js';
export type { Backoff, RetryOptions } from './ballot.js';
export { MultiPaxosNode, NOOP } from './multi.js';
export type {
  MultiPaxosMessage,
  MultiPaxosDurable,
  MultiPaxosOptions,
  SlotProposal,
} from './multi.js';
export { runMultiPaxos, multiPaxosProtocol, multiPaxosVariants } from './multi-sim.js';
export type { MultiPaxosOutcome, MultiPaxosVariant } from './multi-sim.js';
export { ChosenChecker } from './checker.js';
export type { PaxosViolation, ViolationReport } from './checker.js';
export {
  runPaxos,
  paxosProtocol,
  paxosVariants,
  flpExperiment,
  flpWorkload,
  FLP_HORIZON_MS,
} from './sim.js';
export type { PaxosRunOptions, PaxosRunOutcome, PaxosVariant, FlpFigures } from './sim.js';
export { Outbox } from '../machine.js';
export type { Outbound, Ready, StateMachine } from '../machine.js';
export { driveOnNode } from '../drive.js';
export type { DriveOptions } from '../drive.js';

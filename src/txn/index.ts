/**
 * Distributed transactions (`faultline/txn`): a two-phase commit coordinator with presumed abort,
 * a durable decision log and recovery of in-doubt transactions, over participants such as
 * `PostgresParticipant` (`faultline/postgres`) and `MariadbParticipant` (`faultline/mariadb`).
 *
 * @module faultline/txn
 */
export { TwoPhaseCommit } from './two-phase.js';
export type { RecoveryReport, TwoPhaseCommitOptions, TxnResult, TxnScope } from './two-phase.js';
export type { Branch, DecisionLog, Participant, TwoPhaseStep } from './types.js';
export { MemoryDecisionLog, MemoryParticipant } from './memory.js';
export type { MemoryBranch } from './memory.js';
export {
  TxnAbortedError,
  isTxnAbortedError,
  TxnInDoubtError,
  isTxnInDoubtError,
} from './errors.js';
export { TxnCallTimeoutError } from './call.js';
export { MAX_GID_BYTES, MAX_COORDINATOR_ID_LENGTH, gidPrefix, isGid, newGid } from './gid.js';
export {
  MAX_REMEMBERED_TXNS,
  ThreePhaseCoordinator,
  ThreePhaseParticipant,
} from './three-phase.js';
export type {
  ParticipantTxnState,
  ThreePhaseCoordinatorDurable,
  ThreePhaseCoordinatorOptions,
  ThreePhaseDecision,
  ThreePhaseMessage,
  ThreePhaseParticipantDurable,
  ThreePhaseParticipantOptions,
  ThreePhaseTermination,
  ThreePhaseTimeouts,
} from './three-phase.js';
export { SagaOrchestrator } from './saga.js';
export type {
  SagaDefinition,
  SagaEvent,
  SagaLog,
  SagaOrchestratorOptions,
  SagaRecord,
  SagaResumeReport,
  SagaStepContext,
  SagaStepDefinition,
} from './saga.js';
export { MemorySagaLog } from './memory.js';
export {
  SagaCompensatedError,
  isSagaCompensatedError,
  SagaStuckError,
  isSagaStuckError,
} from './errors.js';
export { SessionRouter, SessionToken } from './session.js';
export type { ReadOn, RoutedRead, ServedRead, SessionRouterOptions } from './session.js';

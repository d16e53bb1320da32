/**
 * Distributed transactions (`faultline/txn`): a two-phase commit coordinator with presumed abort,
 * a durable decision log and recovery of in-doubt transactions, over participants such as
 * `PostgresParticipant` (`faultline/postgres`) and `MariadbParticipant` (`faultline/mariadb`);
 * sagas with a durable log; TCC (Try-Confirm-Cancel) with a fence table (`TccCoordinator`,
 * `TccResource`, `MemoryTccFenceStore`, `PostgresTccFenceStore` in `faultline/postgres`).
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
// TCC with a fence table.
export {
  TccCoordinator,
  TccResource,
  checkBranchKey,
  tccBranch,
  MAX_TCC_GID_LENGTH,
} from './tcc.js';
export type {
  TccActions,
  TccBranch,
  TccBranchKey,
  TccBranchState,
  TccCancelOutcome,
  TccConfirmOutcome,
  TccCoordinatorOptions,
  TccFenceStore,
  TccParticipant,
  TccRecoveryReport,
  TccResourceOptions,
  TccResult,
  TccStep,
  TccTryOutcome,
} from './tcc.js';
export { MemoryTccFenceStore } from './tcc-memory.js';
export type { MemoryTccFenceStoreOptions } from './tcc-memory.js';
export {
  TccAlreadyConfirmedError,
  isTccAlreadyConfirmedError,
  TccHangingTryError,
  isTccHangingTryError,
  TccNothingReservedError,
  isTccNothingReservedError,
} from './tcc-errors.js';

/**
 * The PostgreSQL adapter (`faultline/postgres`): locks and elections on a lease table or on
 * session-bound advisory locks, two-phase commit (`PostgresParticipant`, `PostgresDecisionLog`),
 * through the `pg` client (an optional peer dependency the caller installs and passes in).
 *
 * @module
 */
export { PostgresLockBackend } from './lock.js';
export type { PostgresLockBackendOptions } from './base.js';
export { PostgresAdvisoryLockBackend } from './advisory.js';
export type { PostgresAdvisoryLockBackendOptions } from './advisory.js';
export { ensureSchema, schemaNames } from './schema.js';
export type { SchemaNames } from './schema.js';
// Idempotency keys and lost updates (issue 11).
export { PostgresIdempotencyStore } from './idempotency.js';
export type { PostgresIdempotencyStoreOptions } from './idempotency.js';
export { runPhases, FIRST_RECOVERY_POINT } from './phases.js';
export type { Phase, PhaseContext, PhaseStep, PhasedOptions } from './phases.js';
export {
  updateForUpdate,
  updateOptimistic,
  updateUnderLock,
  conditionalUpdate,
  OptimisticConflictError,
  isOptimisticConflictError,
} from './lost-update.js';
export type {
  Change,
  ConditionalUpdate,
  FencedLockOptions,
  OptimisticOptions,
  RowTarget,
  UpdateOutcome,
} from './lost-update.js';
export {
  PostgresBranch,
  PostgresDecisionLog,
  PostgresParticipant,
  PostgresSagaLog,
} from './txn.js';
export type {
  PostgresDecisionLogOptions,
  PostgresParticipantOptions,
  PostgresSagaLogOptions,
} from './txn.js';
export { PostgresReadRouter, PostgresSession, parseLsn } from './session.js';
export type { PostgresReadRouterOptions } from './session.js';
export { PostgresTccFenceStore } from './tcc.js';
export type { PostgresTccFenceStoreOptions } from './tcc.js';

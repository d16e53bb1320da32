/**
 * The PostgreSQL adapter (`faultline/postgres`): locks and elections on a lease table or on
 * session-bound advisory locks, a FIFO semaphore on tables, two-phase commit (`PostgresParticipant`, `PostgresDecisionLog`),
 * through the `pg` client (an optional peer dependency the caller installs and passes in).
 *
 * @module faultline/postgres
 */
export { PostgresLockBackend } from './lock.js';
export type { PostgresLockBackendOptions } from './base.js';
export { PostgresAdvisoryLockBackend } from './advisory.js';
export type { PostgresAdvisoryLockBackendOptions } from './advisory.js';
export { ensureSchema, schemaNames } from './schema.js';
export {
  PG_QUEUE_ENTRY_MS,
  PG_QUEUE_REFRESH_MS,
  PostgresSemaphoreBackend,
  ensureSemaphoreSchema,
  semaphoreSchemaNames,
} from './semaphore.js';
export type { PostgresSemaphoreBackendOptions, SemaphoreSchemaNames } from './semaphore.js';
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
// Fenced writes (the shared result type, FenceResult, is in faultline/coord).
export { pgFencedWrite, pgFencedWriteSql, quoteIdent } from './fence.js';
export type { PgFencedWrite, PgQueryClient } from './fence.js';
// Deadlocks across databases (issue 14).
export { cancelPostgresWait, postgresWaitForEdges } from './wait-for.js';
export type { PostgresQueryable, PostgresWaitForOptions } from './wait-for.js';
export { PostgresTccFenceStore } from './tcc.js';
export type { PostgresTccFenceStoreOptions } from './tcc.js';

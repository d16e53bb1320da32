/**
 * Fenced coordination (`faultline/coord`): locks, leases, leader election and semaphores with
 * fencing tokens, over any backend that implements the SPI in `types.ts`, plus the fenced in-memory
 * store and the result vocabulary of every fence helper (`fence.ts`).
 *
 * @module faultline/coord
 */
export type {
  AcquireOptions,
  AcquireResult,
  BackendGuarantees,
  Busy,
  CallOptions,
  ClientOptions,
  ElectionBackend,
  ElectionOptions,
  ExtendResult,
  ProclaimResult,
  Granted,
  Holder,
  HolderInfo,
  LeaseCallback,
  LeaderEvent,
  Leadership,
  Lease,
  LockBackend,
  LossReason,
  SemaphoreAcquireOptions,
  SemaphoreBackend,
  SemaphoreCallOptions,
  SemaphoreOptions,
} from './types.js';
export { MAX_OWNER_LENGTH, QUEUE_PLACE_GRACE_MS } from './types.js';
export {
  LOSS_REASONS,
  LockLostError,
  isLockLostError,
  LeaseReleasedError,
  isLeaseReleasedError,
  NotAcquiredError,
  isNotAcquiredError,
  LockTimeoutError,
  isLockTimeoutError,
  TooManyWaitersError,
  isTooManyWaitersError,
  BackendUnavailableError,
  isBackendUnavailableError,
  BackendClosedError,
  isBackendClosedError,
  toBackendUnavailable,
  StaleTokenError,
  isStaleTokenError,
  NotLeaderError,
  isNotLeaderError,
} from './errors.js';
export { Lock } from './lock.js';
export { Semaphore } from './semaphore.js';
export { Election, candidateOf, checkElectionTiming } from './election.js';
export type { Demotion, DemotionReason, ElectionTiming } from './election.js';
export { MemoryLockBackend, MemorySemaphoreBackend } from './memory.js';
export type { MemoryBackendOptions } from './memory.js';
// The Redis, PostgreSQL and etcd fence helpers live in their adapters (`faultline/redis`,
// `faultline/postgres`, `faultline/etcd`) and answer with this module's FenceResult.
export { FencedStore, assertAccepted, checkFenceToken, checkFencedKey } from './fence.js';
export type { FenceResult, FencedStoreOptions } from './fence.js';
export { callWithDeadline, CallDeadlines } from './deadlines.js';
export type { DeadlineCallOptions } from './deadlines.js';
export { newOwnerId } from './owner.js';
export { MAX_KEY_LENGTH } from './validate.js';
export { validityMs, minimumTtlMs } from './validity.js';
export type { Drift } from './validity.js';
export { lockBackendConformance, semaphoreBackendConformance } from './conformance.js';
export type { ConformanceFixture, SemaphoreConformanceFixture, TestApi } from './conformance.js';
// Idempotency keys (issue 11).
export * from './idempotency/index.js';
export type { LeaseLostMessage } from './diagnostics.js';
export type { AcquireFailureEvent, LeaseEvent, LeaseLostEvent } from './events.js';

/**
 * Fenced coordination (`faultline/coord`): locks, leases, leader election and semaphores with
 * fencing tokens, over any backend that implements the SPI in `types.ts`, plus the `fence` helpers
 * that make storage reject stale holders.
 *
 * @module
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
  Granted,
  Holder,
  LeaderEvent,
  Leadership,
  Lease,
  LockBackend,
  LossReason,
  SemaphoreBackend,
  SemaphoreOptions,
} from './types.js';
export { MAX_OWNER_LENGTH } from './types.js';
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
  StaleTokenError,
  isStaleTokenError,
  NotLeaderError,
  isNotLeaderError,
} from './errors.js';

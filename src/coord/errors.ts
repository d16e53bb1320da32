/**
 * Typed failures of the coordination primitives. Each is a {@link FaultlineError} with a stable
 * `code` and an `isXError` guard; expected failures (a lost lease, a wait that timed out, a stale
 * fenced write) are never crashes.
 *
 * @module
 */
import { errorGuard, FaultlineError, isAbortedError } from '../core/errors.js';

/**
 * Why a lease (a lock, a semaphore permit, a leadership term) ended without its holder releasing it.
 *
 * - `expired`: the holder's deadline passed (on the client, the deadline computed at send time minus
 *   the drift margin; on the server, the key's TTL) before a renewal succeeded.
 * - `stolen`: the backend answered that the key is now held under another owner or token (the lease
 *   expired on the server and someone else took it, or an operator deleted it).
 * - `unreachable`: renewals kept failing (timeouts, connection errors) until the client-side
 *   deadline; the lease may still exist on the server, but the holder can no longer rely on it.
 */
export type LossReason = 'expired' | 'stolen' | 'unreachable';

/** Every {@link LossReason}, in a stable order (handy for exhaustive tests and docs). */
export const LOSS_REASONS: readonly LossReason[] = Object.freeze([
  'expired',
  'stolen',
  'unreachable',
]);

/** The lease was lost: its `signal` aborted with this error, and `extend()` rejects with it. */
export class LockLostError extends FaultlineError {
  override name = 'LockLostError';
  /** Why the lease ended. */
  readonly reason: LossReason;
  /** The key the lease was on. */
  readonly key: string;
  /** The fencing token of the lost lease. */
  readonly token: bigint;

  constructor(key: string, token: bigint, reason: LossReason, options?: { cause?: unknown }) {
    super(
      'FAULTLINE_LOCK_LOST',
      `lease on ${JSON.stringify(key)} (token ${token}) lost: ${reason}`,
      options,
    );
    this.key = key;
    this.token = token;
    this.reason = reason;
  }
}

/** True when `e` is a {@link LockLostError}. */
export const isLockLostError = errorGuard(LockLostError);

/**
 * The lease was released by its holder (`release()`, `resign()`, `await using` ending): its
 * `signal` aborts with this error. It is not a failure, but work guarded by the lease must stop.
 */
export class LeaseReleasedError extends FaultlineError {
  override name = 'LeaseReleasedError';
  constructor(key: string, token: bigint) {
    super(
      'FAULTLINE_LEASE_RELEASED',
      `lease on ${JSON.stringify(key)} (token ${token}) was released`,
    );
  }
}

/** True when `e` is a {@link LeaseReleasedError}. */
export const isLeaseReleasedError = errorGuard(LeaseReleasedError);

/**
 * A lease was not granted. `acquire()` rejects with a subclass ({@link LockTimeoutError},
 * {@link TooManyWaitersError}); catch this class to handle every "did not get it" case at once.
 */
export class NotAcquiredError extends FaultlineError {
  override name = 'NotAcquiredError';
  /** The key that was not acquired. */
  readonly key: string;

  constructor(code: string, key: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.key = key;
  }
}

/** True when `e` is a {@link NotAcquiredError} (or one of its subclasses). */
export const isNotAcquiredError = errorGuard(NotAcquiredError);

/** `acquire()` waited `waitMs` without getting the lease. */
export class LockTimeoutError extends NotAcquiredError {
  override name = 'LockTimeoutError';
  /** How long the caller was willing to wait, in milliseconds. */
  readonly waitMs: number;

  constructor(key: string, waitMs: number, options?: { cause?: unknown }) {
    super(
      'FAULTLINE_LOCK_TIMEOUT',
      key,
      `could not acquire ${JSON.stringify(key)} within ${waitMs} ms`,
      options,
    );
    this.waitMs = waitMs;
  }
}

/** True when `e` is a {@link LockTimeoutError}. */
export const isLockTimeoutError = errorGuard(LockTimeoutError);

/** The bounded queue of waiters for a key (client-side or server-side) is full. */
export class TooManyWaitersError extends NotAcquiredError {
  override name = 'TooManyWaitersError';
  /** The bound that was reached. */
  readonly maxWaiters: number;

  constructor(key: string, maxWaiters: number) {
    super(
      'FAULTLINE_TOO_MANY_WAITERS',
      key,
      `more than ${maxWaiters} waiters for ${JSON.stringify(key)}`,
    );
    this.maxWaiters = maxWaiters;
  }
}

/** True when `e` is a {@link TooManyWaitersError}. */
export const isTooManyWaitersError = errorGuard(TooManyWaitersError);

/**
 * A backend call did not complete in time (its deadline passed) or the backend reported that it
 * cannot be reached. Backends throw it (or any error) from SPI calls; clients treat every thrown
 * error as "the outcome of this call is unknown".
 */
export class BackendUnavailableError extends FaultlineError {
  override name = 'BackendUnavailableError';
  /** The SPI operation that failed, such as `tryAcquire` or `extend`. */
  readonly operation: string;

  constructor(operation: string, message: string, options?: { cause?: unknown }) {
    super('FAULTLINE_BACKEND_UNAVAILABLE', `${operation}: ${message}`, options);
    this.operation = operation;
  }
}

/** True when `e` is a {@link BackendUnavailableError}. */
export const isBackendUnavailableError = errorGuard(BackendUnavailableError);

/**
 * The backend was closed (`close()`), so the call was not made: a definite answer, unlike
 * {@link BackendUnavailableError}. Every adapter throws this one class; the clients stop waiting at
 * once instead of retrying until `waitMs`. It is a {@link BackendUnavailableError} too, so code that
 * handles that class handles a closed backend as well.
 */
export class BackendClosedError extends BackendUnavailableError {
  override name = 'BackendClosedError';
  override readonly code: string = 'FAULTLINE_BACKEND_CLOSED';
  /** The backend's name (`redis`, `etcd`, `postgres`, ...). */
  readonly backend: string;

  constructor(backend: string, operation: string) {
    super(operation, `the ${backend} backend is closed`);
    this.backend = backend;
  }
}

/** True when `e` is a {@link BackendClosedError}. */
export const isBackendClosedError = errorGuard(BackendClosedError);

/**
 * The normaliser every adapter uses for a failed server call: `error` itself when it is already a
 * faultline verdict (a {@link BackendUnavailableError}, a {@link BackendClosedError}, or an abort),
 * otherwise a {@link BackendUnavailableError} naming `operation` with `error` as its cause.
 */
export function toBackendUnavailable(operation: string, error: unknown): unknown {
  if (error instanceof BackendUnavailableError || isAbortedError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new BackendUnavailableError(operation, message, { cause: error });
}

/**
 * A fenced write carried a token older than the newest the storage has seen: the writer is a stale
 * holder (its lease expired, someone newer wrote). The write had no effect.
 */
export class StaleTokenError extends FaultlineError {
  override name = 'StaleTokenError';
  /** The token the rejected write carried. */
  readonly token: bigint;
  /** The newest token the storage had accepted, when it reports it. */
  readonly highestToken: bigint | undefined;

  constructor(resource: string, token: bigint, highestToken: bigint | undefined) {
    const seen = highestToken === undefined ? '' : ` (storage has seen ${highestToken})`;
    super(
      'FAULTLINE_STALE_TOKEN',
      `write to ${JSON.stringify(resource)} with stale token ${token} rejected${seen}`,
    );
    this.token = token;
    this.highestToken = highestToken;
  }
}

/** True when `e` is a {@link StaleTokenError}. */
export const isStaleTokenError = errorGuard(StaleTokenError);

/** An operation needs leadership this candidate does not hold (never elected, resigned, demoted). */
export class NotLeaderError extends FaultlineError {
  override name = 'NotLeaderError';
  constructor(message: string) {
    super('FAULTLINE_NOT_LEADER', message);
  }
}

/** True when `e` is a {@link NotLeaderError}. */
export const isNotLeaderError = errorGuard(NotLeaderError);

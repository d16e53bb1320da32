/**
 * Typed failures of idempotency keys. Each is a {@link FaultlineError} with a stable `code` and an
 * `isXError` guard.
 *
 * @module
 */
import { errorGuard, FaultlineError } from '../../core/errors.js';

/**
 * Another invocation with the same key is running (its lease is live), and the caller asked not to
 * wait (`concurrent: 'error'`) or waited `waitedMs` without seeing it finish.
 */
export class IdempotencyInProgressError extends FaultlineError {
  override name = 'IdempotencyInProgressError';
  /** The idempotency key. */
  readonly key: string;
  /** How long this caller waited before giving up, in milliseconds (0 when it did not wait). */
  readonly waitedMs: number;
  /** Milliseconds until the running invocation's lease expires, when the store knows it. */
  readonly retryAfterMs: number | undefined;

  constructor(key: string, waitedMs: number, retryAfterMs: number | undefined) {
    const waited = waitedMs > 0 ? ` after waiting ${waitedMs} ms` : '';
    super(
      'FAULTLINE_IDEMPOTENCY_IN_PROGRESS',
      `a request with idempotency key ${JSON.stringify(key)} is still in progress${waited}`,
    );
    this.key = key;
    this.waitedMs = waitedMs;
    this.retryAfterMs = retryAfterMs;
  }
}

/** True when `e` is an {@link IdempotencyInProgressError}. */
export const isIdempotencyInProgressError = errorGuard(IdempotencyInProgressError);

/**
 * The key was first used with a different request: reusing a key for another request is a client
 * bug, and replaying the first request's result for it would be wrong.
 */
export class IdempotencyMismatchError extends FaultlineError {
  override name = 'IdempotencyMismatchError';
  /** The idempotency key. */
  readonly key: string;
  /** The fingerprint stored with the key (the first request's). */
  readonly storedFingerprint: string;
  /** The fingerprint of this request. */
  readonly fingerprint: string;

  constructor(key: string, storedFingerprint: string, fingerprint: string) {
    super(
      'FAULTLINE_IDEMPOTENCY_MISMATCH',
      `idempotency key ${JSON.stringify(key)} was used for another request ` +
        `(fingerprint ${storedFingerprint}, this request ${fingerprint})`,
    );
    this.key = key;
    this.storedFingerprint = storedFingerprint;
    this.fingerprint = fingerprint;
  }
}

/** True when `e` is an {@link IdempotencyMismatchError}. */
export const isIdempotencyMismatchError = errorGuard(IdempotencyMismatchError);

/**
 * Why an invocation lost its right to write the key's record.
 *
 * - `lease-expired`: its lease ran out (on the client's monotonic clock) before it finished.
 * - `taken-over`: the store refused its completion, renewal or deletion: the record now belongs to
 *   another owner or epoch (a retry took over after the lease expired), or it is gone.
 */
export type FenceLoss = 'lease-expired' | 'taken-over';

/**
 * This invocation no longer owns the key's record: a retry took over after its lease expired, so
 * its completion (or deletion) was refused and had no effect. The work `fn` did may have happened;
 * fence its side effects with `context.token` so a late invocation's effects are refused too.
 */
export class IdempotencyFencedError extends FaultlineError {
  override name = 'IdempotencyFencedError';
  /** The idempotency key. */
  readonly key: string;
  /** The epoch this invocation held. */
  readonly epoch: number;
  /** Why the invocation lost the record. */
  readonly reason: FenceLoss;

  constructor(key: string, epoch: number, reason: FenceLoss, options?: { cause?: unknown }) {
    super(
      'FAULTLINE_IDEMPOTENCY_FENCED',
      `invocation of ${JSON.stringify(key)} (epoch ${epoch}) was fenced off: ${reason}`,
      options,
    );
    this.key = key;
    this.epoch = epoch;
    this.reason = reason;
  }
}

/** True when `e` is an {@link IdempotencyFencedError}. */
export const isIdempotencyFencedError = errorGuard(IdempotencyFencedError);

/**
 * The first invocation failed and the failure was recorded (`onError: 'record'`): repeats get this
 * error, carrying the original error's name, message and code, instead of running again.
 */
export class IdempotentFailureError extends FaultlineError {
  override name = 'IdempotentFailureError';
  /** The idempotency key. */
  readonly key: string;
  /** The original error's `name`. */
  readonly originalName: string;
  /** The original error's `message`. */
  readonly originalMessage: string;
  /** The original error's `code`, when it had a string one. */
  readonly originalCode: string | undefined;

  constructor(key: string, original: { name: string; message: string; code?: string }) {
    super(
      'FAULTLINE_IDEMPOTENT_FAILURE',
      `the request with idempotency key ${JSON.stringify(key)} failed: ${original.name}: ${original.message}`,
    );
    this.key = key;
    this.originalName = original.name;
    this.originalMessage = original.message;
    this.originalCode = original.code;
  }
}

/** True when `e` is an {@link IdempotentFailureError}. */
export const isIdempotentFailureError = errorGuard(IdempotentFailureError);

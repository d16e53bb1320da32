/**
 * Typed failures of the resilience policies. Each is a {@link FaultlineError} with a stable `code`
 * and an `isXError` guard, so callers can tell "the policy refused" from "the operation failed".
 *
 * @module
 */
import { errorGuard, FaultlineError } from '../core/errors.js';

/** Thrown by a circuit breaker that rejects a call because it is open (or half-open and full). */
export class BrokenCircuitError extends FaultlineError {
  override name = 'BrokenCircuitError';
  /** The breaker state that rejected the call. */
  readonly state: 'open' | 'half-open';

  constructor(
    state: 'open' | 'half-open',
    message = `the circuit is ${state}`,
    options?: { cause?: unknown },
  ) {
    super('FAULTLINE_BROKEN_CIRCUIT', message, options);
    this.state = state;
  }
}

/** True when `e` is a {@link BrokenCircuitError}. */
export const isBrokenCircuitError = errorGuard(BrokenCircuitError);

/** Thrown when a call did not complete within its timeout. */
export class TimeoutError extends FaultlineError {
  override name = 'TimeoutError';
  /** The timeout that elapsed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number, options?: { cause?: unknown }) {
    super('FAULTLINE_TIMEOUT', `the operation timed out after ${timeoutMs} ms`, options);
    this.timeoutMs = timeoutMs;
  }
}

/** True when `e` is a {@link TimeoutError}. */
export const isTimeoutError = errorGuard(TimeoutError);

/** Thrown when a bulkhead has no free slot and its queue is full. */
export class BulkheadRejectedError extends FaultlineError {
  override name = 'BulkheadRejectedError';
  /** The bulkhead's concurrency limit. */
  readonly maxConcurrent: number;
  /** The bulkhead's queue bound. */
  readonly maxQueue: number;

  constructor(maxConcurrent: number, maxQueue: number) {
    super(
      'FAULTLINE_BULKHEAD_REJECTED',
      `the bulkhead is full (${maxConcurrent} running, ${maxQueue} queued)`,
    );
    this.maxConcurrent = maxConcurrent;
    this.maxQueue = maxQueue;
  }
}

/** True when `e` is a {@link BulkheadRejectedError}. */
export const isBulkheadRejectedError = errorGuard(BulkheadRejectedError);

/**
 * Thrown by a retry policy that would retry but whose shared retry budget is empty. `cause` is the
 * failure of the last attempt.
 */
export class RetryBudgetExhaustedError extends FaultlineError {
  override name = 'RetryBudgetExhaustedError';

  constructor(options?: { cause?: unknown }) {
    super('FAULTLINE_RETRY_BUDGET_EXHAUSTED', 'the retry budget is exhausted', options);
  }
}

/** True when `e` is a {@link RetryBudgetExhaustedError}. */
export const isRetryBudgetExhaustedError = errorGuard(RetryBudgetExhaustedError);

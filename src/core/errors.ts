/**
 * The error hierarchy. Every error faultline throws on purpose is a {@link FaultlineError} with a
 * stable `code`; each failure has its own subclass and an `isXError` guard.
 *
 * @module
 */

/** Base class of every expected faultline failure. `code` is stable across releases. */
export class FaultlineError extends Error {
  override name = 'FaultlineError';
  /** A stable, machine-readable identifier such as `FAULTLINE_LOCK_LOST`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True when `e` is any faultline error. */
export function isFaultlineError(e: unknown): e is FaultlineError {
  return e instanceof FaultlineError;
}

/**
 * Builds the `isXError` guard of an error class: an `instanceof` test typed as a type predicate,
 * so each module declares its guards in one line instead of repeating the same function.
 *
 * @example
 * export class TimeoutError extends FaultlineError { ... }
 * export const isTimeoutError = errorGuard(TimeoutError);
 * if (isTimeoutError(e)) console.log(e.timeoutMs);
 */
export function errorGuard<E extends Error>(
  errorClass: abstract new (...args: never[]) => E,
): (e: unknown) => e is E {
  return (e: unknown): e is E => e instanceof errorClass;
}

/** Raised when an operation is cancelled through its `AbortSignal` without a reason of its own. */
export class AbortedError extends FaultlineError {
  override name = 'AbortError';
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super('FAULTLINE_ABORTED', message, options);
  }
}

/** True when `e` is an {@link AbortedError} or a platform `AbortError`. */
export function isAbortedError(e: unknown): boolean {
  return (
    e instanceof AbortedError ||
    (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'AbortError')
  );
}

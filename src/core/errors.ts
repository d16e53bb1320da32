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

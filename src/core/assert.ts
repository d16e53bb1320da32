/**
 * Assertions for programmer errors. Expected failures (a lost lock, an open circuit) are typed
 * errors or results, never assertions.
 *
 * @module
 */

/** Thrown when an internal invariant or a documented precondition does not hold. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

/**
 * Throws an {@link AssertionError} when `condition` is falsy.
 *
 * @example
 * assert(token > lastToken, 'fencing tokens must increase');
 */
export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Marks a branch that exhaustive `switch` statements can never reach. */
export function assertNever(value: never, what = 'value'): never {
  throw new AssertionError(`unexpected ${what}: ${JSON.stringify(value)}`);
}

/**
 * The contract every resilience policy implements, and the plumbing that lets policies compose
 * without allocating a closure per layer per call.
 *
 * @module
 */

/**
 * What a policy hands the function it runs. `signal` may be a lazy getter: a timeout policy only
 * creates its `AbortController` when someone reads it, so policies pass the context object through
 * instead of reading `signal` unless they need it.
 */
export interface ExecuteContext {
  /** Aborts when the caller or an enclosing policy gives up on this call. */
  readonly signal: AbortSignal | undefined;
  /** The idempotency key the caller supplied to a retry policy, to send along with the request. */
  readonly idempotencyKey?: string | undefined;
  /** False when the caller marked the call non-idempotent: a retry policy then does not retry it. */
  readonly idempotent?: boolean | undefined;
}

/** Per-call options accepted by {@link Policy.execute} in place of a bare signal. */
export interface CallOptions {
  /** Cancels the call. */
  signal?: AbortSignal | undefined;
  /**
   * Set to false for an operation that must not run twice (a payment, an append). Retry policies
   * then never retry it, unless `idempotencyKey` is also given (the server deduplicates by key).
   */
  idempotent?: boolean | undefined;
  /** A key the server uses to deduplicate repeats; the callee reads it from its context. */
  idempotencyKey?: string | undefined;
}

/** A function a policy runs: it receives the call's {@link ExecuteContext}. */
export type Callee<T> = (context: ExecuteContext) => T | PromiseLike<T>;

/**
 * A callee in "static function + argument" form. Policies invoke `fn(arg, context)`; composition
 * passes a small frame object as `arg` instead of building a closure per layer.
 */
export type Step<A, T> = (arg: A, context: ExecuteContext) => T | PromiseLike<T>;

/** A resilience policy: runs a function under some protection (retry, breaker, timeout...). */
export interface Policy {
  /**
   * Runs `fn` under this policy.
   *
   * @param fn the operation; it receives a context whose `signal` it should honour.
   * @param options a signal that cancels the call (and any wait the policy does on its behalf), or
   *   {@link CallOptions}.
   */
  execute<T>(fn: Callee<T>, options?: AbortSignal | CallOptions): Promise<T>;
  /**
   * The composition primitive behind {@link Policy.execute}: runs `step(arg, context)` under this
   * policy, passing `context` (or a derived one) through. Most callers want `execute`.
   */
  run<A, T>(step: Step<A, T>, arg: A, context: ExecuteContext): Promise<T>;
}

/** The context of a call made without a signal. Shared and frozen: it allocates nothing. */
export const NO_SIGNAL: ExecuteContext = Object.freeze({ signal: undefined });

/** The context for an `execute(fn, options)` call: the shared empty one when there are no options. */
export function contextOf(options: AbortSignal | CallOptions | undefined): ExecuteContext {
  if (options === undefined) return NO_SIGNAL;
  if (options instanceof AbortSignal) return { signal: options };
  return {
    signal: options.signal,
    idempotent: options.idempotent,
    idempotencyKey: options.idempotencyKey,
  };
}

/** Adapts a plain {@link Callee} to the {@link Step} form (`arg` is the callee). */
export function callCallee<T>(fn: Callee<T>, context: ExecuteContext): T | PromiseLike<T> {
  return fn(context);
}

/** True when `value` has a callable `then` (a promise or promise-like). */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Calls `step` and turns a synchronous throw into a rejected promise, so policies see one failure
 * channel. Returns the raw value (not wrapped) when `step` returns synchronously.
 */
export function invoke<A, T>(
  step: Step<A, T>,
  arg: A,
  context: ExecuteContext,
): T | PromiseLike<T> {
  try {
    return step(arg, context);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Retry with backoff and jitter, a cap on attempts and elapsed time, server pushback
 * (`Retry-After`), a shared retry budget and cancellation.
 *
 * @module
 */
import { isAbortedError } from '../core/errors.js';
import { Emitter } from '../core/events.js';
import type { Disposable, Listener } from '../core/events.js';
import type { Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { integerIn, nonNegative, positive, rangeError } from '../core/validate.js';
import { Backoff } from './backoff.js';
import type { BackoffOptions } from './backoff.js';
import { RetryBudget } from './budget.js';
import { RetryBudgetExhaustedError } from './errors.js';
import { callCallee, contextOf, isThenable } from './policy.js';
import type { CallOptions, Callee, ExecuteContext, Policy, Step } from './policy.js';
import { retryAfterMsOf } from './retry-after.js';
import { callChannel, eventChannel, traced } from '../core/diagnostics.js';
import { CallEvents, policyEmitter } from './events.js';
import type { CallFailureEvent, CallSuccessEvent } from './events.js';

/** `faultline:retry:execute`: a TracingChannel around every `execute`. */
const executeChannel = callChannel('faultline:retry:execute');

/** What an attempt produced: a thrown error or a returned value. */
export type RetryOutcome =
  | { readonly kind: 'error'; readonly error: unknown; readonly attempt: number }
  | { readonly kind: 'result'; readonly value: unknown; readonly attempt: number };

/** Emitted before each retry. */
export interface RetryEvent {
  /** The attempt that failed (0 is the first call). */
  readonly attempt: number;
  /** The wait before the next attempt, in ms. */
  readonly delayMs: number;
  /** Why it is retried. */
  readonly outcome: RetryOutcome;
}

/**
 * Why a retry policy stopped retrying a call it would otherwise have retried: the attempt bound,
 * the elapsed-time bound, the caller's abort, a non-idempotent call without an idempotency key, a
 * `Retry-After` beyond `maxRetryAfterMs`, or an empty retry budget.
 */
export type RetryGiveUpReason =
  'attempts' | 'elapsed' | 'aborted' | 'non-idempotent' | 'retry-after' | 'budget';

/** Emitted when a retry policy gives up on a retryable outcome (see {@link RetryGiveUpReason}). */
export interface RetryGiveUpEvent {
  /** Attempts made, the first included. */
  readonly attempts: number;
  /** Why no further attempt is made. */
  readonly reason: RetryGiveUpReason;
  /** The last attempt's outcome, which the call settles with (the budget's error aside). */
  readonly outcome: RetryOutcome;
}

/** Options of a {@link Retry} policy. */
export interface RetryOptions {
  /** Attempts in total, the first included (default 3, in [1, 1000]). 1 disables retries. */
  maxAttempts?: number;
  /** The backoff schedule (default: exponential, full jitter, base 100 ms, cap 30 s). */
  backoff?: Backoff | BackoffOptions;
  /**
   * Upper bound on the time from the first attempt to the start of the last one, in ms (default
   * unbounded). A retry whose wait would end past it is not made.
   */
  maxElapsedMs?: number;
  /**
   * Decides whether an outcome is retried (default: every error except an abort; never a result).
   * It is called for results only when given, so the default success path allocates nothing.
   */
  shouldRetry?: (outcome: RetryOutcome) => boolean;
  /**
   * Honour server pushback (default true): an error or result carrying `retryAfterMs`, a
   * `retryAfter` value or a `retry-after` header (seconds or HTTP-date, read against the runtime's
   * wall clock) sets the wait instead of the backoff.
   */
  honourRetryAfter?: boolean;
  /** Longest pushback honoured, in ms (default 60,000); a longer one ends the retries. */
  maxRetryAfterMs?: number;
  /** A budget shared with other policies; a retry that finds it empty fails with {@link RetryBudgetExhaustedError}. */
  budget?: RetryBudget;
  /**
   * Whether the operations this policy runs may run twice (default true). When false, calls are
   * retried only if they carry an idempotency key; a call can also mark itself with `CallOptions`.
   */
  idempotent?: boolean;
  /** Time, timers and randomness (default: the system runtime). */
  runtime?: Runtime;
}

const defaultShouldRetry = (outcome: RetryOutcome): boolean =>
  outcome.kind === 'error' && !isAbortedError(outcome.error);

/**
 * Retries a failing operation.
 *
 * @example
 * const retry = new Retry({ maxAttempts: 5, backoff: { baseMs: 50, capMs: 2000, jitter: 'full' } });
 * const user = await retry.execute(({ signal }) => fetch(url, { signal }));
 */
export class Retry implements Policy {
  /** Attempts in total. */
  readonly maxAttempts: number;
  /** The backoff schedule. */
  readonly backoff: Backoff;
  private readonly maxElapsedMs: number;
  private readonly shouldRetry: ((outcome: RetryOutcome) => boolean) | undefined;
  private readonly honourRetryAfter: boolean;
  private readonly maxRetryAfterMs: number;
  private readonly budget: RetryBudget | undefined;
  private readonly idempotent: boolean;
  private readonly runtime: Runtime;
  private readonly retried = new Emitter<RetryEvent>(1000, eventChannel('faultline:retry:retry'));
  private readonly events = new CallEvents('retry');
  private readonly gaveUp = policyEmitter<RetryGiveUpEvent>('faultline:retry:give-up');

  constructor(options: RetryOptions = {}) {
    this.maxAttempts = integerIn('maxAttempts', options.maxAttempts ?? 3, 1, 1000);
    const b = options.backoff;
    this.backoff = b instanceof Backoff ? b : new Backoff(b);
    this.maxElapsedMs =
      options.maxElapsedMs === undefined
        ? Infinity
        : positive('maxElapsedMs', options.maxElapsedMs);
    if (options.shouldRetry !== undefined && typeof options.shouldRetry !== 'function') {
      throw rangeError('shouldRetry', 'a function', options.shouldRetry);
    }
    this.shouldRetry = options.shouldRetry;
    this.honourRetryAfter = bool('honourRetryAfter', options.honourRetryAfter ?? true);
    this.maxRetryAfterMs = nonNegative('maxRetryAfterMs', options.maxRetryAfterMs ?? 60_000);
    if (options.budget !== undefined && !(options.budget instanceof RetryBudget)) {
      throw rangeError('budget', 'a RetryBudget', options.budget);
    }
    this.budget = options.budget;
    this.idempotent = bool('idempotent', options.idempotent ?? true);
    this.runtime = options.runtime ?? systemRuntime();
  }

  /** Calls `listener` before each retry. */
  onRetry(listener: Listener<RetryEvent>): Disposable {
    return this.retried.on(listener);
  }

  /** Calls `listener` when a call succeeds, after however many attempts (`durationMs` spans them all). */
  onSuccess(listener: Listener<CallSuccessEvent>): Disposable {
    return this.events.onSuccess(listener);
  }

  /** Calls `listener` when a call fails for good: its last error, after every attempt. */
  onFailure(listener: Listener<CallFailureEvent>): Disposable {
    return this.events.onFailure(listener);
  }

  /**
   * Calls `listener` when the policy stops retrying an outcome it would have retried (attempts,
   * elapsed time, abort, idempotency, `Retry-After` or budget); not for errors `shouldRetry` rejects.
   */
  onGiveUp(listener: Listener<RetryGiveUpEvent>): Disposable {
    return this.gaveUp.on(listener);
  }

  execute<T>(fn: Callee<T>, options?: AbortSignal | CallOptions): Promise<T> {
    const context = contextOf(options);
    if (executeChannel === undefined || !executeChannel.hasSubscribers)
      return this.run(callCallee<T>, fn, context);
    return traced(
      executeChannel,
      () => ({ policy: this }),
      () => this.run(callCallee<T>, fn, context),
    );
  }

  run<A, T>(step: Step<A, T>, arg: A, context: ExecuteContext): Promise<T> {
    if (!this.events.active) return this.runPlain(step, arg, context);
    return this.events.observe(this.runtime.clock, () => this.runPlain(step, arg, context));
  }

  private runPlain<A, T>(step: Step<A, T>, arg: A, context: ExecuteContext): Promise<T> {
    const startMs = this.maxElapsedMs === Infinity ? 0 : this.runtime.clock.monotonicMs();
    if (this.shouldRetry !== undefined) return this.loop(step, arg, context, startMs, undefined);
    // The first attempt without an async frame: success settles through a pre-bound handler.
    let result: T | PromiseLike<T>;
    try {
      result = step(arg, context);
    } catch (error) {
      return this.afterFirstFailure(step, arg, context, startMs, error);
    }
    if (!isThenable(result)) {
      this.budget?.deposit();
      return Promise.resolve(result);
    }
    return Promise.resolve(result).then(this.succeeded, (error: unknown) =>
      this.afterFirstFailure(step, arg, context, startMs, error),
    );
  }

  private readonly succeeded = <T>(value: T): T => {
    this.budget?.deposit();
    return value;
  };

  private afterFirstFailure<A, T>(
    step: Step<A, T>,
    arg: A,
    context: ExecuteContext,
    startMs: number,
    error: unknown,
  ): Promise<T> {
    const outcome: RetryOutcome = { kind: 'error', error, attempt: 0 };
    if (!defaultShouldRetry(outcome)) return Promise.reject(error);
    return this.loop(step, arg, context, startMs, outcome);
  }

  /** The attempt loop; `failed` is the outcome of a first attempt already made, if any. */
  private async loop<A, T>(
    step: Step<A, T>,
    arg: A,
    context: ExecuteContext,
    startMs: number,
    failed: RetryOutcome | undefined,
  ): Promise<T> {
    let previousMs = this.backoff.initialPreviousMs;
    let outcome = failed;
    for (let attempt = outcome === undefined ? 0 : 1; ; attempt++) {
      if (outcome !== undefined) {
        const delayMs = this.delayBeforeRetry(outcome, previousMs, context, startMs);
        if (typeof delayMs === 'string') {
          this.giveUp(outcome, delayMs);
          return settle<T>(outcome);
        }
        if (this.budget !== undefined && !this.budget.tryWithdraw()) {
          this.giveUp(outcome, 'budget');
          if (outcome.kind === 'result') return outcome.value as T;
          throw new RetryBudgetExhaustedError({ cause: outcome.error });
        }
        previousMs = delayMs;
        if (this.retried.active)
          this.retried.notify({ attempt: outcome.attempt, delayMs, outcome });
        await this.runtime.timers.sleep(delayMs, context.signal);
      }
      try {
        const value = await step(arg, context);
        outcome = { kind: 'result', value, attempt };
        if (this.shouldRetry === undefined || !this.shouldRetry(outcome)) {
          this.budget?.deposit();
          return value;
        }
      } catch (error) {
        outcome = { kind: 'error', error, attempt };
        if (!(this.shouldRetry ?? defaultShouldRetry)(outcome)) throw error;
      }
    }
  }

  private giveUp(outcome: RetryOutcome, reason: RetryGiveUpReason): void {
    if (this.gaveUp.active) this.gaveUp.notify({ attempts: outcome.attempt + 1, reason, outcome });
  }

  /** The wait before the next attempt in ms, or why the outcome must not be retried. */
  private delayBeforeRetry(
    outcome: RetryOutcome,
    previousMs: number,
    context: ExecuteContext,
    startMs: number,
  ): number | RetryGiveUpReason {
    if (outcome.attempt + 1 >= this.maxAttempts) return 'attempts';
    if (context.signal?.aborted === true) return 'aborted';
    const idempotent = context.idempotent ?? this.idempotent;
    if (!idempotent && context.idempotencyKey === undefined) return 'non-idempotent';
    let delayMs: number | undefined;
    if (this.honourRetryAfter) {
      const pushback = retryAfterMsOf(
        outcome.kind === 'error' ? outcome.error : outcome.value,
        this.runtime.clock.wallMs(),
      );
      if (pushback !== undefined && pushback > this.maxRetryAfterMs) return 'retry-after';
      delayMs = pushback;
    }
    delayMs ??= this.backoff.delayMs(outcome.attempt, previousMs, this.runtime.random);
    if (this.maxElapsedMs !== Infinity) {
      const elapsedMs = this.runtime.clock.monotonicMs() - startMs;
      if (elapsedMs + delayMs > this.maxElapsedMs) return 'elapsed';
    }
    return delayMs;
  }
}

function bool(field: string, value: boolean): boolean {
  if (typeof value !== 'boolean') throw rangeError(field, 'a boolean', value);
  return value;
}

function settle<T>(outcome: RetryOutcome): T {
  if (outcome.kind === 'result') return outcome.value as T;
  throw outcome.error;
}

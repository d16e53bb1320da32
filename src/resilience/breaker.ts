/**
 * A circuit breaker with consecutive, count-window and time-window policies, slow-call detection,
 * ratio-based half-open trials, a bound on the half-open duration, and JSON state export.
 *
 * @module
 */
import { Emitter } from '../core/events.js';
import type { Disposable, Listener } from '../core/events.js';
import type { Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { integerIn, numberIn, positive, rangeError } from '../core/validate.js';
import { BrokenCircuitError } from './errors.js';
import { callCallee, contextOf, isThenable } from './policy.js';
import type { CallOptions, Callee, ExecuteContext, Policy, Step } from './policy.js';
import { createWindow } from './windows.js';
import type { BreakerPolicy, FailureWindow, WindowSnapshot } from './windows.js';
import { callChannel, eventChannel, traced } from '../core/diagnostics.js';

/** `faultline:breaker:execute`: a TracingChannel around every `execute`. */
const executeChannel = callChannel('faultline:breaker:execute');

/** The states of a breaker. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** A JSON-serialisable breaker state (times are relative, so it survives a restart). */
export interface BreakerSnapshot {
  readonly version: 1;
  readonly state:
    | { readonly kind: 'closed' }
    /** Open; it admits trials in `halfOpenInMs` (half-open state exports as open with 0). */
    | { readonly kind: 'open'; readonly halfOpenInMs: number };
  readonly window: WindowSnapshot;
}

/** A failed call, or a call that succeeded too slowly. */
export type BreakerFailureEvent =
  | { readonly kind: 'error'; readonly error: unknown; readonly durationMs: number }
  | { readonly kind: 'slow'; readonly durationMs: number };

/** Options of a {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** When to open (default `{ kind: 'consecutive', threshold: 5 }`). */
  policy?: BreakerPolicy;
  /** Time open before trial calls are admitted, in ms (default 10,000). Shorter probes a sick dependency more often. */
  halfOpenAfterMs?: number;
  /** Trial calls admitted while half-open (default 1, in [1, 1000]); others are rejected. */
  halfOpenTrials?: number;
  /** Share of trials that must succeed to close (default 1, in (0, 1]); below it the circuit reopens. */
  halfOpenSuccessRatio?: number;
  /**
   * Longest time in half-open, in ms (default 60,000): if the trials have not decided by then
   * (they hang), the circuit reopens and later trials start afresh.
   */
  maxHalfOpenMs?: number;
  /** A success slower than this (ms) counts as a failure (default: never). Costs one clock read per call. */
  slowCallMs?: number;
  /** Which errors count as failures (default: all). An error it rejects counts as a success. */
  isFailure?: (error: unknown) => boolean;
  /** A state to start from, from {@link CircuitBreaker.exportState}. */
  initialState?: BreakerSnapshot;
  /** Clock (default: the system runtime). */
  runtime?: Runtime;
}

/**
 * Stops calling a failing dependency for a while, then probes it with a few trial calls.
 *
 * @example
 * const breaker = new CircuitBreaker({ policy: { kind: 'count', size: 50, failureRatio: 0.5 }, halfOpenAfterMs: 5000 });
 * breaker.onStateChange(({ from, to }) => log(`circuit ${from} -> ${to}`));
 * const body = await breaker.execute(() => callDependency());
 */
export class CircuitBreaker implements Policy {
  private readonly window: FailureWindow;
  private readonly halfOpenAfterMs: number;
  private readonly trials: number;
  private readonly trialsToClose: number;
  private readonly maxHalfOpenMs: number;
  private readonly slowCallMs: number;
  private readonly isFailure: ((error: unknown) => boolean) | undefined;
  private readonly runtime: Runtime;
  private current: BreakerState = 'closed';
  private openedAtMs = 0;
  private halfOpenAtMs = 0;
  private halfOpenEpoch = 0;
  private trialsStarted = 0;
  private trialSuccesses = 0;
  private trialFailures = 0;
  private readonly stateChanged = new Emitter<{ from: BreakerState; to: BreakerState }>(
    1000,
    eventChannel('faultline:breaker:state'),
  );
  private readonly succeeded = new Emitter<{ durationMs: number }>(
    1000,
    eventChannel('faultline:breaker:success'),
  );
  private readonly failed = new Emitter<BreakerFailureEvent>(
    1000,
    eventChannel('faultline:breaker:failure'),
  );
  private readonly rejected = new Emitter<{ state: 'open' | 'half-open' }>(
    1000,
    eventChannel('faultline:breaker:reject'),
  );
  // Pre-bound settle handlers for calls admitted while closed: no closure per call.
  private readonly closedOk = <T>(value: T): T => {
    this.closedOutcome(false);
    return value;
  };
  private readonly closedError = (error: unknown): never => {
    this.closedOutcome(this.countsAsFailure(error));
    throw error;
  };

  constructor(options: CircuitBreakerOptions = {}) {
    this.window = createWindow(options.policy ?? { kind: 'consecutive' });
    this.halfOpenAfterMs = positive('halfOpenAfterMs', options.halfOpenAfterMs ?? 10_000);
    this.trials = integerIn('halfOpenTrials', options.halfOpenTrials ?? 1, 1, 1000);
    const ratio = numberIn('halfOpenSuccessRatio', options.halfOpenSuccessRatio ?? 1, 0, 1);
    if (ratio === 0) throw rangeError('halfOpenSuccessRatio', 'a number in (0, 1]', ratio);
    this.trialsToClose = Math.max(1, Math.ceil(ratio * this.trials - 1e-9));
    this.maxHalfOpenMs = positive('maxHalfOpenMs', options.maxHalfOpenMs ?? 60_000);
    this.slowCallMs =
      options.slowCallMs === undefined ? Infinity : positive('slowCallMs', options.slowCallMs);
    if (options.isFailure !== undefined && typeof options.isFailure !== 'function') {
      throw rangeError('isFailure', 'a function', options.isFailure);
    }
    this.isFailure = options.isFailure;
    this.runtime = options.runtime ?? systemRuntime();
    if (options.initialState !== undefined) this.restoreState(options.initialState);
  }

  /** The current state (time-based transitions are applied when read). */
  get state(): BreakerState {
    this.applyTime(this.runtime.clock.monotonicMs());
    return this.current;
  }

  /** True when a call made now would be admitted: closed, or half-open with a free trial slot. */
  isReady(): boolean {
    const state = this.state;
    return state === 'closed' || (state === 'half-open' && this.trialsStarted < this.trials);
  }

  /** Calls `listener` on every state transition. */
  onStateChange(listener: Listener<{ from: BreakerState; to: BreakerState }>): Disposable {
    return this.stateChanged.on(listener);
  }

  /** Calls `listener` after each call that counted as a success. */
  onSuccess(listener: Listener<{ durationMs: number }>): Disposable {
    return this.succeeded.on(listener);
  }

  /** Calls `listener` after each call that counted as a failure (an error or a slow success). */
  onFailure(listener: Listener<BreakerFailureEvent>): Disposable {
    return this.failed.on(listener);
  }

  /** Calls `listener` for each call rejected without running. */
  onReject(listener: Listener<{ state: 'open' | 'half-open' }>): Disposable {
    return this.rejected.on(listener);
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
    if (this.current !== 'closed') return this.runNotClosed(step, arg, context);
    if (this.slowCallMs !== Infinity || this.succeeded.active || this.failed.active) {
      return this.runTimed(step, arg, context, -1);
    }
    let result: T | PromiseLike<T>;
    try {
      result = step(arg, context);
    } catch (error) {
      this.closedOutcome(this.countsAsFailure(error));
      return Promise.reject(error);
    }
    if (isThenable(result)) return Promise.resolve(result).then(this.closedOk, this.closedError);
    this.closedOutcome(false);
    return Promise.resolve(result);
  }

  /** Returns the state as JSON-serialisable data, for {@link CircuitBreaker.restoreState}. */
  exportState(): BreakerSnapshot {
    const now = this.runtime.clock.monotonicMs();
    this.applyTime(now);
    const window = this.window.snapshot(this.runtime.clock);
    if (this.current === 'closed') return { version: 1, state: { kind: 'closed' }, window };
    const halfOpenInMs =
      this.current === 'open' ? Math.max(0, this.openedAtMs + this.halfOpenAfterMs - now) : 0;
    return { version: 1, state: { kind: 'open', halfOpenInMs }, window };
  }

  /** Replaces the state with a snapshot (trials in flight are forgotten). */
  restoreState(snapshot: BreakerSnapshot): void {
    if (snapshot.version !== 1) throw rangeError('snapshot.version', '1', snapshot.version);
    const s = snapshot.state;
    if (s.kind === 'closed') {
      this.transition('closed', 0);
    } else if (s.kind === 'open') {
      const remaining = numberIn(
        'snapshot.state.halfOpenInMs',
        s.halfOpenInMs,
        0,
        this.halfOpenAfterMs,
      );
      this.transition(
        'open',
        this.runtime.clock.monotonicMs() - (this.halfOpenAfterMs - remaining),
      );
    } else {
      throw rangeError('snapshot.state.kind', '"closed" or "open"', (s as { kind: unknown }).kind);
    }
    // After the transition, which resets the window when closing.
    this.window.restore(snapshot.window, this.runtime.clock);
  }

  private runNotClosed<A, T>(step: Step<A, T>, arg: A, context: ExecuteContext): Promise<T> {
    const now = this.runtime.clock.monotonicMs();
    this.applyTime(now);
    if (this.current === 'closed') return this.run(step, arg, context);
    if (this.current === 'open' || this.trialsStarted >= this.trials) {
      const state = this.current;
      if (this.rejected.active) this.rejected.notify({ state });
      return Promise.reject(new BrokenCircuitError(state));
    }
    this.trialsStarted++;
    return this.runTimed(step, arg, context, this.halfOpenEpoch);
  }

  /**
   * Runs a call that needs its duration or its admission epoch: slow-call detection, listeners,
   * or a half-open trial (`epoch` >= 0).
   */
  private runTimed<A, T>(
    step: Step<A, T>,
    arg: A,
    context: ExecuteContext,
    epoch: number,
  ): Promise<T> {
    const clock = this.runtime.clock;
    const startMs = clock.monotonicMs();
    const settle = (error: unknown, failed: boolean): void => {
      const durationMs = clock.monotonicMs() - startMs;
      const failure = failed ? this.countsAsFailure(error) : durationMs > this.slowCallMs;
      if (failure && this.failed.active) {
        this.failed.notify(
          failed ? { kind: 'error', error, durationMs } : { kind: 'slow', durationMs },
        );
      } else if (!failure && this.succeeded.active) {
        this.succeeded.notify({ durationMs });
      }
      if (epoch < 0) this.closedOutcome(failure);
      else this.trialOutcome(epoch, failure);
    };
    let result: T | PromiseLike<T>;
    try {
      result = step(arg, context);
    } catch (error) {
      settle(error, true);
      return Promise.reject(error);
    }
    return Promise.resolve(result).then(
      (value) => {
        settle(undefined, false);
        return value;
      },
      (error: unknown) => {
        settle(error, true);
        throw error;
      },
    );
  }

  private countsAsFailure(error: unknown): boolean {
    return this.isFailure === undefined || this.isFailure(error);
  }

  private closedOutcome(failure: boolean): void {
    // A call admitted while closed that ends after the circuit opened no longer counts.
    if (this.current !== 'closed') return;
    if (this.window.record(failure, this.runtime.clock)) {
      this.transition('open', this.runtime.clock.monotonicMs());
    }
  }

  private trialOutcome(epoch: number, failure: boolean): void {
    if (this.current !== 'half-open' || epoch !== this.halfOpenEpoch) return;
    if (failure) this.trialFailures++;
    else this.trialSuccesses++;
    if (this.trialSuccesses >= this.trialsToClose) {
      this.transition('closed', 0);
    } else if (this.trialFailures > this.trials - this.trialsToClose) {
      this.transition('open', this.runtime.clock.monotonicMs());
    }
  }

  /** Applies the transitions that time alone causes: open -> half-open, half-open timing out. */
  private applyTime(nowMs: number): void {
    if (this.current === 'half-open' && nowMs - this.halfOpenAtMs >= this.maxHalfOpenMs) {
      // Reopen at the moment the half-open period ran out, then see whether it is due again.
      this.transition('open', this.halfOpenAtMs + this.maxHalfOpenMs);
    }
    if (this.current === 'open' && nowMs - this.openedAtMs >= this.halfOpenAfterMs) {
      this.transition('half-open', nowMs);
    }
  }

  private transition(to: BreakerState, atMs: number): void {
    const from = this.current;
    this.current = to;
    switch (to) {
      case 'closed':
        this.window.reset();
        break;
      case 'open':
        this.openedAtMs = atMs;
        break;
      case 'half-open':
        this.halfOpenAtMs = atMs;
        this.halfOpenEpoch++;
        this.trialsStarted = this.trialSuccesses = this.trialFailures = 0;
        break;
    }
    if (from !== to && this.stateChanged.active) this.stateChanged.notify({ from, to });
  }
}

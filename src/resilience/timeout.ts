/**
 * Timeouts, cooperative (the callee gets a signal that aborts at the deadline) or aggressive (the
 * call rejects at the deadline even if the callee ignores the signal). The `AbortController` is
 * created lazily, only when someone reads `context.signal`, so a callee that does not listen costs
 * one timer and no signal.
 *
 * @module
 */
import { abortReason } from '../core/abort.js';
import { Emitter } from '../core/events.js';
import type { Disposable, Listener } from '../core/events.js';
import type { Cancel, Clock, Runtime, Timers } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { positive, rangeError } from '../core/validate.js';
import { TimeoutError } from './errors.js';
import { callCallee, contextOf, isThenable, NO_SIGNAL } from './policy.js';
import type { CallOptions, Callee, ExecuteContext, Policy, Step } from './policy.js';
import { callChannel, eventChannel, publish, traced } from '../core/diagnostics.js';
import { CallEvents } from './events.js';
import type { CallFailureEvent, CallSuccessEvent } from './events.js';

/** `faultline:timeout:execute`: a TracingChannel around every `execute`. */
const executeChannel = callChannel('faultline:timeout:execute');
/** `faultline:timeout:timeout`. */
const timeoutChannel = eventChannel<{ policy: Timeout; timeoutMs: number }>(
  'faultline:timeout:timeout',
);

/**
 * Emitted when a call's deadline passes: the call then fails with a {@link TimeoutError} (or, with
 * a cooperative timeout, a callee that ignores its signal may still return its value).
 */
export interface TimeoutEvent {
  /** The deadline that passed, in ms. */
  readonly timeoutMs: number;
}

/** What happens at the deadline. */
export type TimeoutStrategy = 'cooperative' | 'aggressive';

/**
 * When the callee's signal is created: `lazy` (default) on first read of `context.signal`; `eager`
 * always; `none` never (the callee sees the caller's signal, and a cooperative timeout can then
 * only relabel a late failure).
 */
export type TimeoutSignalMode = 'lazy' | 'eager' | 'none';

/** Options of a {@link Timeout} policy. */
export interface TimeoutOptions {
  /** The deadline, in ms from the start of the call. */
  timeoutMs: number;
  /**
   * `cooperative` (default): abort the callee's signal and wait for it to settle; a failure after
   * the deadline becomes a {@link TimeoutError}. `aggressive`: also reject at once, without waiting
   * (the callee's work may go on in the background).
   */
  strategy?: TimeoutStrategy;
  /** When to create the callee's `AbortSignal` (default `lazy`). */
  signal?: TimeoutSignalMode;
  /** Timers (default: the system runtime). */
  runtime?: Runtime;
}

/**
 * The per-call state: the context handed to the callee, the timer and the lazy controller. Fields
 * are plain and assigned in the constructor, and methods live on the prototype: class-field arrow
 * functions cost a closure each per call.
 */
class TimeoutCall implements ExecuteContext {
  readonly policy: Timeout;
  readonly parent: ExecuteContext;
  controller: AbortController | undefined;
  timedOut: boolean;
  done: boolean;
  cancelTimer: Cancel | undefined;
  parentSignal: AbortSignal | undefined;
  parentListener: (() => void) | undefined;
  reject: ((error: unknown) => void) | undefined;

  constructor(policy: Timeout, parent: ExecuteContext) {
    this.policy = policy;
    this.parent = parent;
    this.controller = undefined;
    this.timedOut = false;
    this.done = false;
    this.cancelTimer = undefined;
    this.parentSignal = undefined;
    this.parentListener = undefined;
    this.reject = undefined;
  }

  get signal(): AbortSignal | undefined {
    if (this.controller !== undefined) return this.controller.signal;
    if (this.policy.signalMode === 'none') return this.parent.signal;
    return this.createController().signal;
  }

  get idempotencyKey(): string | undefined {
    return this.parent.idempotencyKey;
  }

  get idempotent(): boolean | undefined {
    return this.parent.idempotent;
  }

  createController(): AbortController {
    const controller = new AbortController();
    this.controller = controller;
    if (this.timedOut) controller.abort(new TimeoutError(this.policy.timeoutMs));
    else if (!this.done) this.listenToParent();
    return controller;
  }

  /** Forwards the caller's abort to the controller (and, when aggressive, to the result). */
  listenToParent(): void {
    if (this.parentSignal !== undefined || this.parent === NO_SIGNAL) return;
    const signal = this.parent.signal;
    if (signal === undefined) return;
    if (signal.aborted) {
      this.parentAborted(signal);
      return;
    }
    this.parentSignal = signal;
    this.parentListener = () => this.parentAborted(signal);
    signal.addEventListener('abort', this.parentListener);
  }

  parentAborted(signal: AbortSignal): void {
    const reason = abortReason(signal);
    this.controller?.abort(reason);
    this.reject?.(reason);
  }

  expire(): void {
    this.timedOut = true;
    this.cancelTimer = undefined;
    const error = new TimeoutError(this.policy.timeoutMs);
    publish(timeoutChannel, () => ({ policy: this.policy, timeoutMs: this.policy.timeoutMs }));
    this.policy.expired();
    this.controller?.abort(error);
    this.reject?.(error);
  }

  finish(): void {
    this.done = true;
    if (this.cancelTimer !== undefined) {
      this.cancelTimer();
      this.cancelTimer = undefined;
    }
    if (this.parentSignal !== undefined && this.parentListener !== undefined) {
      this.parentSignal.removeEventListener('abort', this.parentListener);
      this.parentSignal = undefined;
    }
  }
}

/**
 * Bounds how long a call may take.
 *
 * @example
 * const timeout = new Timeout({ timeoutMs: 500, strategy: 'aggressive' });
 * const body = await timeout.execute(({ signal }) => fetch(url, { signal }));
 */
export class Timeout implements Policy {
  /** The deadline in ms. */
  readonly timeoutMs: number;
  /** What happens at the deadline. */
  readonly strategy: TimeoutStrategy;
  /** When the callee's signal is created. */
  readonly signalMode: TimeoutSignalMode;
  private readonly timers: Timers;
  private readonly clock: Clock;
  private readonly events = new CallEvents('timeout');
  // No channel of its own: `faultline:timeout:timeout` already publishes each deadline.
  private readonly timedOut = new Emitter<TimeoutEvent>(1000);

  constructor(options: TimeoutOptions) {
    this.timeoutMs = positive('timeoutMs', options.timeoutMs);
    this.strategy = options.strategy ?? 'cooperative';
    if (this.strategy !== 'cooperative' && this.strategy !== 'aggressive') {
      throw rangeError('strategy', '"cooperative" or "aggressive"', this.strategy);
    }
    this.signalMode = options.signal ?? 'lazy';
    if (!['lazy', 'eager', 'none'].includes(this.signalMode)) {
      throw rangeError('signal', '"lazy", "eager" or "none"', this.signalMode);
    }
    const runtime = options.runtime ?? systemRuntime();
    this.timers = runtime.timers;
    this.clock = runtime.clock;
  }

  /** Calls `listener` after each call that returned a value (in time, or late but cooperative). */
  onSuccess(listener: Listener<CallSuccessEvent>): Disposable {
    return this.events.onSuccess(listener);
  }

  /** Calls `listener` after each call that failed, with a {@link TimeoutError} or its own error. */
  onFailure(listener: Listener<CallFailureEvent>): Disposable {
    return this.events.onFailure(listener);
  }

  /** Calls `listener` at each deadline that passes, before the call settles. */
  onTimeout(listener: Listener<TimeoutEvent>): Disposable {
    return this.timedOut.on(listener);
  }

  /** @internal Reports a passed deadline to the `onTimeout` listeners. */
  expired(): void {
    if (this.timedOut.active) this.timedOut.notify({ timeoutMs: this.timeoutMs });
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
    return this.events.observe(this.clock, () => this.runPlain(step, arg, context));
  }

  private runPlain<A, T>(step: Step<A, T>, arg: A, context: ExecuteContext): Promise<T> {
    const call = new TimeoutCall(this, context);
    if (this.signalMode === 'eager') call.createController();
    call.cancelTimer = this.timers.setTimer(this.timeoutMs, () => call.expire());
    let result: T | PromiseLike<T>;
    try {
      result = step(arg, call);
    } catch (error) {
      call.finish();
      return Promise.reject(error);
    }
    if (!isThenable(result)) {
      call.finish();
      return Promise.resolve(result);
    }
    return this.strategy === 'cooperative' ? cooperative(result, call) : aggressive(result, call);
  }
}

async function cooperative<T>(result: PromiseLike<T>, call: TimeoutCall): Promise<T> {
  try {
    return await result;
  } catch (error) {
    if (call.timedOut) throw new TimeoutError(call.policy.timeoutMs, { cause: error });
    throw error;
  } finally {
    call.finish();
  }
}

function aggressive<T>(result: PromiseLike<T>, call: TimeoutCall): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    call.reject = (error) => {
      // The callee may still settle later: the handlers below observe it, so nothing is unhandled.
      call.finish();
      reject(error);
    };
    call.listenToParent();
    result.then(
      (value) => {
        call.finish();
        resolve(value);
      },
      (error: unknown) => {
        call.finish();
        reject(error);
      },
    );
  });
}

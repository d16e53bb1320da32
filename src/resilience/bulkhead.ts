/**
 * A bulkhead: a limit on concurrent calls with a bounded FIFO queue in front of it.
 *
 * @module
 */
import { abortReason } from '../core/abort.js';
import { Emitter } from '../core/events.js';
import type { Disposable, Listener } from '../core/events.js';
import type { Clock, Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { integerIn } from '../core/validate.js';
import { BulkheadRejectedError } from './errors.js';
import { callCallee, contextOf, invoke, isThenable } from './policy.js';
import type { CallOptions, Callee, ExecuteContext, Policy, Step } from './policy.js';
import { callChannel, eventChannel, publish, traced } from '../core/diagnostics.js';
import { CallEvents } from './events.js';
import type { CallFailureEvent, CallSuccessEvent } from './events.js';

/** `faultline:bulkhead:execute`: a TracingChannel around every `execute`. */
const executeChannel = callChannel('faultline:bulkhead:execute');
/** `faultline:bulkhead:reject`. */
const rejectChannel = eventChannel<{ policy: Bulkhead; active: number; queued: number }>(
  'faultline:bulkhead:reject',
);

/** Options of a {@link Bulkhead}. */
export interface BulkheadOptions {
  /** Calls running at once (in [1, 1e6]). */
  maxConcurrent: number;
  /**
   * Calls waiting for a slot (default 0, in [0, 1e6]). A longer queue absorbs bursts but adds
   * latency and memory; beyond it calls fail fast with {@link BulkheadRejectedError}.
   */
  maxQueue?: number;
  /** The clock that times calls for `onSuccess` / `onFailure` (default: the system runtime). */
  runtime?: Runtime;
}

/** Emitted for a call a full {@link Bulkhead} rejects without running. */
export interface BulkheadRejectedEvent {
  /** Calls running when it was rejected. */
  readonly active: number;
  /** Calls queued when it was rejected. */
  readonly queued: number;
}

/** A queued call, in a doubly linked list so an aborted waiter leaves in O(1). */
interface Waiter {
  prev: Waiter | undefined;
  next: Waiter | undefined;
  start: () => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Isolates a dependency by bounding the calls in flight to it.
 *
 * @example
 * const bulkhead = new Bulkhead({ maxConcurrent: 10, maxQueue: 100 });
 * const row = await bulkhead.execute(({ signal }) => db.query(sql, { signal }));
 */
export class Bulkhead implements Policy {
  /** The concurrency limit. */
  readonly maxConcurrent: number;
  /** The queue bound. */
  readonly maxQueue: number;
  private active = 0;
  private queued = 0;
  private head: Waiter | undefined;
  private tail: Waiter | undefined;
  private readonly clock: Clock;
  private readonly events = new CallEvents('bulkhead');
  // No channel of its own: `faultline:bulkhead:reject` already publishes each rejection.
  private readonly rejected = new Emitter<BulkheadRejectedEvent>(1000);
  private readonly releaseOk = <T>(value: T): T => {
    this.release();
    return value;
  };
  private readonly releaseError = (error: unknown): never => {
    this.release();
    throw error;
  };

  constructor(options: BulkheadOptions) {
    this.maxConcurrent = integerIn('maxConcurrent', options.maxConcurrent, 1, 1e6);
    this.maxQueue = integerIn('maxQueue', options.maxQueue ?? 0, 0, 1e6);
    this.clock = (options.runtime ?? systemRuntime()).clock;
  }

  /** Calls `listener` after each admitted call that succeeded (`durationMs` includes time queued). */
  onSuccess(listener: Listener<CallSuccessEvent>): Disposable {
    return this.events.onSuccess(listener);
  }

  /** Calls `listener` after each admitted call that failed (an abort while queued included). */
  onFailure(listener: Listener<CallFailureEvent>): Disposable {
    return this.events.onFailure(listener);
  }

  /** Calls `listener` for each call rejected without running (it is not also a failure). */
  onRejected(listener: Listener<BulkheadRejectedEvent>): Disposable {
    return this.rejected.on(listener);
  }

  /** Calls running now. */
  get running(): number {
    return this.active;
  }

  /** Calls waiting for a slot. */
  get queueLength(): number {
    return this.queued;
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
    if (this.active < this.maxConcurrent) {
      if (this.events.active)
        return this.events.observe(this.clock, () => this.start(step, arg, context));
      return this.start(step, arg, context);
    }
    if (this.queued >= this.maxQueue) {
      publish(rejectChannel, () => ({ policy: this, active: this.active, queued: this.queued }));
      if (this.rejected.active) this.rejected.notify({ active: this.active, queued: this.queued });
      return Promise.reject(new BulkheadRejectedError(this.maxConcurrent, this.maxQueue));
    }
    if (this.events.active)
      return this.events.observe(this.clock, () => this.enqueue(step, arg, context));
    return this.enqueue(step, arg, context);
  }

  private start<A, T>(step: Step<A, T>, arg: A, context: ExecuteContext): Promise<T> {
    this.active++;
    const result = invoke(step, arg, context);
    if (isThenable(result)) return Promise.resolve(result).then(this.releaseOk, this.releaseError);
    this.release();
    return Promise.resolve(result);
  }

  private enqueue<A, T>(step: Step<A, T>, arg: A, context: ExecuteContext): Promise<T> {
    const signal = context.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        prev: this.tail,
        next: undefined,
        start: () => resolve(this.start(step, arg, context)),
        signal,
        onAbort: undefined,
      };
      if (signal !== undefined) {
        waiter.onAbort = () => {
          this.unlink(waiter);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      if (this.tail === undefined) this.head = waiter;
      else this.tail.next = waiter;
      this.tail = waiter;
      this.queued++;
    });
  }

  private release(): void {
    this.active--;
    const waiter = this.head;
    if (waiter === undefined) return;
    this.unlink(waiter);
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    waiter.start();
  }

  private unlink(waiter: Waiter): void {
    if (waiter.prev === undefined) this.head = waiter.next;
    else waiter.prev.next = waiter.next;
    if (waiter.next === undefined) this.tail = waiter.prev;
    else waiter.next.prev = waiter.prev;
    waiter.prev = waiter.next = undefined;
    this.queued--;
  }
}

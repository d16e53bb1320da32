/**
 * Deadlines of backend calls, bucketed: calls whose deadlines end within the same coarse slot share
 * one abort signal, and all of one client's buckets share one timer.
 *
 * Benchmark cases served: `bench locks`, `uncontended-par50` (50 concurrent acquires + releases):
 * with an exact timer and an `AbortController` per call, each acquire cost two timers and two
 * controllers; bucketed, a steady stream of calls reuses one never-aborted signal. And
 * `uncontended-seq` (one caller, acquire then release): a timer armed and cancelled per call cost
 * about as much CPU as the rest of the client (Node builds a timer list per distinct delay), so the
 * one timer is armed for the earliest bucket and left armed when its calls answer; a sequential
 * caller arms it about once per call timeout. One instance belongs to one client (see
 * `client-backend.ts`); nothing here is module-level state.
 *
 * @module
 */
import type { Abortable } from '../core/abort.js';
import { abortReason, isAborted, listenAbort } from '../core/abort.js';
import type { Cancel, Runtime, TimerOptions } from '../core/runtime.js';
import { BackendUnavailableError } from './errors.js';
import type { CallOptions } from './types.js';

/** How one call of {@link CallDeadlines.call} runs. */
export interface DeadlineCallOptions {
  /** The operation's name, for the {@link BackendUnavailableError} of a missed deadline. */
  readonly operation: string;
  /** The call's deadline, in ms from now. */
  readonly timeoutMs: number;
  /** Releases the caller at once when it aborts (the caller's signal, a client's `close()`). */
  readonly stop?: Abortable | undefined;
  /**
   * `shared` (default): the backend's signal is shared with the calls ending in the same slot and
   * aborts only at the deadline; when `stop` fires the caller is released at once and the call ends
   * on its own. `exclusive`: the call gets its own signal and an exact timer, and the signal aborts
   * as soon as `stop` fires — for a call the backend must stop when the caller gives up (a queued
   * wait).
   */
  readonly signal?: 'shared' | 'exclusive';
}

const noop = (): void => undefined;

/** A call waiting in a {@link DeadlineBucket}: a link of the bucket's list of calls. */
interface PendingCall {
  readonly operation: string;
  readonly timeoutMs: number;
  prev: PendingCall | undefined;
  next: PendingCall | undefined;
  fail(reason: unknown): void;
}

/**
 * The calls whose deadlines end at the same coarse instant, with one signal. The calls form a
 * doubly linked list through their own `prev`/`next` (a `Set` going 0 → 1 → 0 per call, as a
 * sequential caller's does, reallocates its table each time).
 */
interface DeadlineBucket {
  endMs: number;
  head: PendingCall | undefined;
  size: number;
  controller: AbortController;
  /** The `CallOptions` handed to every call of the bucket (its controller's signal). */
  options: CallOptions;
}

/**
 * The deadline timer guards calls in flight, which keep the process alive by their own I/O; left
 * armed after the last call answers, it must not hold the process open by itself.
 */
const DEADLINE_TIMER: TimerOptions = Object.freeze({ keepAlive: false });

/** Shortest delay the deadline timer is armed with, in ms (a timer may fire a hair early). */
const MIN_TIMER_MS = 0.001;

/**
 * Longest a call's deadline may be rounded up, in ms (and at most an eighth of its timeout):
 * calls ending within the same slot share one timer and one abort signal.
 */
const DEADLINE_SLOT_MS = 16;
/** Calls served by one reused (never aborted) bucket signal before it is replaced. */
const SIGNAL_REUSE = 1_000;

/**
 * The deadlines of one client's backend calls. A call joins the bucket of its rounded-up deadline;
 * a bucket whose calls have all answered is dropped, and its signal (never aborted then) is reused
 * by the next bucket. One timer serves every bucket: it is armed for the earliest bucket's end,
 * is not cancelled when calls answer, and when it fires it expires every bucket past its end (each
 * call in it is past its own deadline: the signal aborts, telling the backend to give up, and each
 * call rejects) and re-arms for the earliest bucket left, if any. {@link CallDeadlines.close}
 * cancels it.
 */
export class CallDeadlines {
  private readonly buckets = new Map<number, DeadlineBucket>();
  /**
   * The bucket that emptied last, left in `buckets` so the next call of the same slot joins it
   * without a map update (a sequential caller's calls mostly share one slot).
   */
  private idle: DeadlineBucket | undefined;
  /** A bucket that emptied without expiring (its signal never aborted), kept for the next one. */
  private spare: DeadlineBucket | undefined;
  private spareUses = 0;
  /** When the armed timer fires (monotonic ms); `Infinity` when none is armed. */
  private timerAtMs = Infinity;
  private cancelTimer: Cancel = noop;
  private readonly onTimer = (): void => this.expireDue();

  constructor(private readonly runtime: Runtime) {}

  /**
   * Runs one backend call with a deadline: the returned promise rejects with a
   * {@link BackendUnavailableError} once `timeoutMs` has passed (rounded up by at most an eighth of
   * it, and at most 16 ms, for a `shared` call), or with the reason of `stop` as soon as it fires;
   * it settles by then even when the backend ignores its signal, so a lost backend never leaves a
   * caller pending. A late result of an abandoned call is dropped (and observed, so it is never
   * unhandled).
   */
  call<T>(options: DeadlineCallOptions, fn: (options: CallOptions) => Promise<T>): Promise<T> {
    if (options.signal === 'exclusive') return exclusiveCall(this.runtime, options, fn);
    return this.shared(options.operation, options.timeoutMs, options.stop, fn);
  }

  /**
   * A `shared` {@link CallDeadlines.call} with its options as arguments (no options object per
   * call: the clients' every backend call comes through here).
   */
  shared<T>(
    operation: string,
    timeoutMs: number,
    stop: Abortable | undefined,
    fn: (options: CallOptions) => Promise<T>,
  ): Promise<T> {
    if (isAborted(stop)) return Promise.reject(abortReason(stop as Abortable));
    return new Promise<T>((resolve, reject) => {
      const call = new DeadlineCall<T>(operation, timeoutMs, this, resolve, reject);
      const bucket = this.join(call);
      call.bucket = bucket;
      if (stop !== undefined)
        call.offStop = listenAbort(stop, (reason) => call.settle(reason, false));
      let pending: Promise<T>;
      try {
        pending = fn(bucket.options);
      } catch (error) {
        call.settle(error, false);
        return;
      }
      pending.then(
        (value) => call.settle(value, true),
        (error: unknown) => call.settle(error, false),
      );
    });
  }

  /**
   * Cancels the deadline timer (the client is closing). Calls still in flight keep their deadline:
   * a later call arms the timer again.
   */
  close(): void {
    this.cancelTimer();
    this.cancelTimer = noop;
    this.timerAtMs = Infinity;
  }

  private join(call: PendingCall): DeadlineBucket {
    const now = this.runtime.clock.monotonicMs();
    const slot = Math.min(DEADLINE_SLOT_MS, call.timeoutMs / 8);
    const endMs = Math.ceil((now + call.timeoutMs) / slot) * slot;
    let bucket = this.buckets.get(endMs);
    if (bucket === undefined) {
      // A new slot: the idle bucket of an older one is done with, and its object is reused.
      if (this.idle !== undefined) this.drop(this.idle);
      bucket = this.fresh(endMs);
      this.buckets.set(endMs, bucket);
    } else if (bucket === this.idle) {
      this.idle = undefined;
    }
    if (bucket.size === 0 && endMs < this.timerAtMs) this.arm(now, endMs);
    call.next = bucket.head;
    if (bucket.head !== undefined) bucket.head.prev = call;
    bucket.head = call;
    bucket.size++;
    return bucket;
  }

  private arm(now: number, atMs: number): void {
    this.cancelTimer();
    this.timerAtMs = atMs;
    this.cancelTimer = this.runtime.timers.setTimer(
      Math.max(MIN_TIMER_MS, atMs - now),
      this.onTimer,
      DEADLINE_TIMER,
    );
  }

  /**
   * Removes a settled call. An emptied bucket becomes the idle one (the one before it is dropped
   * and becomes the spare); the timer stays (see the class).
   *
   * @internal
   */
  leave(bucket: DeadlineBucket, call: PendingCall): void {
    if (call.prev === undefined && bucket.head !== call) return; // expired: already unlinked
    if (call.prev !== undefined) call.prev.next = call.next;
    else bucket.head = call.next;
    if (call.next !== undefined) call.next.prev = call.prev;
    call.prev = undefined;
    call.next = undefined;
    if (--bucket.size > 0) return;
    const idle = this.idle;
    this.idle = bucket;
    if (idle !== undefined && idle !== bucket) this.drop(idle);
  }

  /** Takes an empty bucket out of `buckets`; its signal never aborted, so it becomes the spare. */
  private drop(bucket: DeadlineBucket): void {
    this.buckets.delete(bucket.endMs);
    if (this.idle === bucket) this.idle = undefined;
    this.spare ??= bucket;
  }

  /**
   * An empty bucket for `endMs`: the spare one (object, call set and signal reused: a sequential
   * caller would otherwise build all three per call), with a new signal every
   * {@link SIGNAL_REUSE} uses so listeners a careless backend leaves on it stay bounded.
   */
  private fresh(endMs: number): DeadlineBucket {
    const spare = this.spare;
    if (spare !== undefined) {
      this.spare = undefined;
      spare.endMs = endMs;
      if (++this.spareUses >= SIGNAL_REUSE) {
        spare.controller = sharedController();
        spare.options = settledByCaller(spare.controller.signal);
        this.spareUses = 0;
      }
      return spare;
    }
    const controller = sharedController();
    return {
      endMs,
      head: undefined,
      size: 0,
      controller,
      options: settledByCaller(controller.signal),
    };
  }

  /** The timer fired: expires the buckets past their end, re-arms for the earliest one left. */
  private expireDue(): void {
    this.cancelTimer = noop;
    this.timerAtMs = Infinity;
    const now = this.runtime.clock.monotonicMs();
    let next = Infinity;
    for (const bucket of [...this.buckets.values()]) {
      if (bucket.size === 0) {
        if (bucket.endMs <= now) this.drop(bucket);
      } else if (bucket.endMs <= now) this.expire(bucket);
      else if (bucket.endMs < next) next = bucket.endMs;
    }
    if (next !== Infinity) this.arm(now, next);
  }

  private expire(bucket: DeadlineBucket): void {
    this.buckets.delete(bucket.endMs);
    const calls: PendingCall[] = [];
    for (let c = bucket.head; c !== undefined; c = c.next) calls.push(c);
    for (const c of calls) {
      c.prev = undefined;
      c.next = undefined;
    }
    bucket.head = undefined;
    bucket.size = 0;
    bucket.controller.abort(new BackendUnavailableError('call', 'no answer before its deadline'));
    for (const call of calls) {
      call.fail(
        new BackendUnavailableError(call.operation, `no answer within ${call.timeoutMs} ms`),
      );
    }
  }
}

/**
 * The options a bucket hands its calls: the caller (a {@link DeadlineCall}) settles on its own
 * when the signal aborts, so the backend need not race it (`CallOptions.callerSettles`).
 */
function settledByCaller(signal: AbortSignal): CallOptions {
  return { signal, callerSettles: true };
}

/** One call of {@link CallDeadlines.call}: a class, so a call costs one object, not a closure per step. */
class DeadlineCall<T> implements PendingCall {
  private settled = false;
  offStop: () => void = noop;
  bucket: DeadlineBucket | undefined;
  prev: PendingCall | undefined = undefined;
  next: PendingCall | undefined = undefined;

  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
    private readonly deadlines: CallDeadlines,
    private readonly resolve: (value: T) => void,
    private readonly reject: (reason: unknown) => void,
  ) {}

  /** The bucket's deadline passed (the bucket has already dropped this call). */
  fail(reason: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.offStop();
    this.reject(reason);
  }

  /** The backend answered (`ok`: with a value), or the caller stopped first. */
  settle(result: unknown, ok: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.offStop();
    if (this.bucket !== undefined) this.deadlines.leave(this.bucket, this);
    if (ok) this.resolve(result as T);
    else this.reject(result);
  }
}

/** An `exclusive` call: a signal of its own that aborts when `stop` fires, and an exact timer. */
function exclusiveCall<T>(
  runtime: Runtime,
  options: DeadlineCallOptions,
  fn: (options: CallOptions) => Promise<T>,
): Promise<T> {
  const { operation, timeoutMs, stop } = options;
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let offStop = noop;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      cancelTimer();
      offStop();
      return true;
    };
    const fail = (reason: unknown): void => {
      if (!finish()) return;
      controller.abort(reason);
      reject(reason);
    };
    const cancelTimer = runtime.timers.setTimer(timeoutMs, () =>
      fail(new BackendUnavailableError(operation, `no answer within ${timeoutMs} ms`)),
    );
    if (stop !== undefined && stop.aborted) {
      fail(abortReason(stop));
      return;
    }
    offStop = listenAbort(stop, fail);
    let pending: Promise<T>;
    try {
      pending = fn({ signal: controller.signal });
    } catch (error) {
      fail(error);
      return;
    }
    pending.then(
      (value) => {
        if (finish()) resolve(value);
      },
      (error: unknown) => {
        if (finish()) reject(error);
      },
    );
  });
}

/**
 * Runs one backend call with a deadline (see {@link CallDeadlines.call}) outside any client. The
 * clients share buckets per client; this standalone form builds its own.
 *
 * @example
 * const holder = await callWithDeadline(runtime, { operation: 'holder', timeoutMs: 2_000, stop: signal },
 *   (o) => backend.holder('jobs/42', o));
 */
export function callWithDeadline<T>(
  runtime: Runtime,
  options: DeadlineCallOptions,
  fn: (options: CallOptions) => Promise<T>,
): Promise<T> {
  const deadlines = new CallDeadlines(runtime);
  const call = deadlines.call(options, fn);
  // One call, so no timer is left for the next one: cancel it once the call settles.
  call.then(
    () => deadlines.close(),
    () => deadlines.close(),
  );
  return call;
}

/** Node's `events.setMaxListeners`, when this runs on Node; browsers have no listener limit. */
type SetMaxListeners = (n: number, ...targets: EventTarget[]) => void;

/** Node's `events.setMaxListeners`, looked up once (`null` off Node). */
let setMaxListenersOfHost: SetMaxListeners | null | undefined;

/**
 * A controller whose signal may carry any number of listeners: every call in flight in a bucket
 * may listen to it, which is expected, not a leak. Node's `events` module is looked up through
 * `process.getBuiltinModule` rather than imported, so that the lab's page can bundle this file for
 * a browser, where EventTarget has no such limit and this does nothing.
 */
function sharedController(): AbortController {
  const controller = new AbortController();
  if (setMaxListenersOfHost === undefined) {
    const host = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } })
      .process;
    const events = host?.getBuiltinModule?.('node:events') as
      { setMaxListeners?: SetMaxListeners } | undefined;
    setMaxListenersOfHost = events?.setMaxListeners ?? null;
  }
  setMaxListenersOfHost?.(0, controller.signal);
  return controller;
}

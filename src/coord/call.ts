/**
 * Internal helpers of the coordination clients: bounded backend calls, owner ids and the shared
 * option validation.
 *
 * @module
 */
import { abortReason } from '../core/abort.js';
import type { Runtime } from '../core/runtime.js';
import { integerIn, nonNegative, numberIn, positive, rangeError } from '../core/validate.js';
import { BackendUnavailableError } from './errors.js';
import type { CallOptions, ClientOptions } from './types.js';
import { MAX_OWNER_LENGTH } from './types.js';

/** Longest key the clients accept (long enough for any namespacing, short enough for every backend). */
export const MAX_KEY_LENGTH = 1024;

/**
 * Something that can interrupt an operation without being an `AbortSignal`: a client's `close()`,
 * or a caller's signal combined with it. Listening costs a `Set` insertion, where an `AbortSignal`
 * shared by many calls would collect one event listener per call in flight (and warn past ten).
 */
export interface Interrupt {
  /** True once interrupted. */
  readonly interrupted: boolean;
  /** Why it was interrupted (meaningful once `interrupted` is true). */
  readonly reason: unknown;
  /** Calls `fn` once on interruption (never if already interrupted); returns the unregistration. */
  listen(fn: (reason: unknown) => void): () => void;
}

/** What can stop a call: a caller's signal, an {@link Interrupt}, or nothing. */
export type Stop = AbortSignal | Interrupt | undefined;

const noop = (): void => undefined;

function isInterrupt(stop: AbortSignal | Interrupt): stop is Interrupt {
  return typeof (stop as Partial<Interrupt>).listen === 'function';
}

/** True when `stop` has fired. */
export function isStopped(stop: Stop): boolean {
  if (stop === undefined) return false;
  return isInterrupt(stop) ? stop.interrupted : stop.aborted;
}

/** The reason of a fired `stop` (an `AbortedError` for a signal aborted without one). */
export function stopReason(stop: AbortSignal | Interrupt): unknown {
  return isInterrupt(stop) ? stop.reason : abortReason(stop);
}

/** Throws the reason of `stop` when it has fired. */
export function throwIfStopped(stop: Stop): void {
  if (stop !== undefined && isStopped(stop)) throw stopReason(stop);
}

/** Calls `fn` once when `stop` fires (not if it already has); returns the unregistration. */
export function onStop(stop: Stop, fn: (reason: unknown) => void): () => void {
  if (stop === undefined) return noop;
  return isInterrupt(stop) ? stop.listen(fn) : listenToSignal(stop, fn);
}

/** The functions waiting for each signal, behind the one listener this module adds to it. */
const signalListeners = new WeakMap<AbortSignal, Set<(reason: unknown) => void>>();

/**
 * Listens to a caller's signal through one shared listener per signal, so a signal passed to many
 * concurrent acquires does not collect a listener per call (nor the `MaxListenersExceededWarning`
 * past ten).
 */
function listenToSignal(signal: AbortSignal, fn: (reason: unknown) => void): () => void {
  let listeners = signalListeners.get(signal);
  if (listeners === undefined) {
    const set = new Set<(reason: unknown) => void>();
    signalListeners.set(signal, set);
    const fire = (): void => {
      const reason = abortReason(signal);
      const all = [...set];
      set.clear();
      for (const f of all) f(reason);
    };
    signal.addEventListener('abort', fire, { once: true });
    listeners = set;
  }
  const entry = (reason: unknown): void => fn(reason);
  const set = listeners;
  set.add(entry);
  return () => void set.delete(entry);
}

/**
 * An {@link Interrupt} fired by `close()`. Each acquire links the caller's signal to it with
 * {@link InterruptScope.link}, which allocates nothing when there is no caller signal.
 */
export class InterruptScope implements Interrupt {
  private fired = false;
  private why: unknown;
  private readonly listeners = new Set<(reason: unknown) => void>();

  get interrupted(): boolean {
    return this.fired;
  }

  get reason(): unknown {
    return this.why;
  }

  listen(fn: (reason: unknown) => void): () => void {
    if (this.fired) return noop;
    // Wrapped so that one function registered twice stays two registrations.
    const entry = (reason: unknown): void => fn(reason);
    this.listeners.add(entry);
    return () => void this.listeners.delete(entry);
  }

  /** Fires once with `reason`; later calls do nothing. */
  interrupt(reason: unknown): void {
    if (this.fired) return;
    this.fired = true;
    this.why = reason;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const fn of listeners) fn(reason);
  }

  /** This scope, or this scope and `caller` together (whichever fires first). */
  link(caller: AbortSignal | undefined): Interrupt {
    return caller === undefined ? this : new LinkedInterrupt(caller, this);
  }
}

/** A caller's signal and a scope: interrupted when either is. */
class LinkedInterrupt implements Interrupt {
  constructor(
    private readonly caller: AbortSignal,
    private readonly scope: Interrupt,
  ) {}

  get interrupted(): boolean {
    return this.caller.aborted || this.scope.interrupted;
  }

  get reason(): unknown {
    return this.caller.aborted ? abortReason(this.caller) : this.scope.reason;
  }

  listen(fn: (reason: unknown) => void): () => void {
    let done = false;
    const once = (reason: unknown): void => {
      if (done) return;
      done = true;
      offCaller();
      offScope();
      fn(reason);
    };
    const offScope = this.scope.listen(once);
    const offCaller = onStop(this.caller, once);
    return () => {
      done = true;
      offCaller();
      offScope();
    };
  }
}

/** A call waiting in a {@link DeadlineBucket}. */
interface PendingCall {
  readonly operation: string;
  readonly timeoutMs: number;
  fail(reason: unknown): void;
}

/** The calls whose deadlines end at the same coarse instant, with one timer and one signal. */
interface DeadlineBucket {
  endMs: number;
  readonly calls: Set<PendingCall>;
  controller: AbortController;
  /** The `CallOptions` handed to every call of the bucket (its controller's signal). */
  options: CallOptions;
  cancel: () => void;
  /** Expires this bucket (its timer's callback, made once per bucket object). */
  readonly expire: () => void;
}

/**
 * Longest a call's deadline may be rounded up, in ms (and at most an eighth of its timeout):
 * calls ending within the same slot share one timer and one abort signal.
 */
const DEADLINE_SLOT_MS = 16;
/** Calls served by one reused (never aborted) bucket signal before it is replaced. */
const SIGNAL_REUSE = 1_000;

/**
 * Deadlines of the calls of one runtime. A call joins the bucket of its rounded-up deadline; the
 * bucket's timer is cancelled when its last call settles, and its signal (never aborted then) is
 * reused by the next bucket. When a bucket's timer fires, every call in it is past its own
 * deadline: its signal aborts (telling the backend to give up) and each call rejects.
 */
class CallDeadlines {
  private readonly buckets = new Map<number, DeadlineBucket>();
  /** A bucket that emptied without expiring (its signal never aborted), kept for the next one. */
  private spare: DeadlineBucket | undefined;
  private spareUses = 0;

  constructor(private readonly runtime: Runtime) {}

  join(call: PendingCall): DeadlineBucket {
    const now = this.runtime.clock.monotonicMs();
    const slot = Math.min(DEADLINE_SLOT_MS, call.timeoutMs / 8);
    const endMs = Math.ceil((now + call.timeoutMs) / slot) * slot;
    let bucket = this.buckets.get(endMs);
    if (bucket === undefined) {
      bucket = this.fresh(endMs);
      bucket.cancel = this.runtime.timers.setTimer(Math.max(0, endMs - now), bucket.expire);
      this.buckets.set(endMs, bucket);
    }
    bucket.calls.add(call);
    return bucket;
  }

  leave(bucket: DeadlineBucket, call: PendingCall): void {
    if (!bucket.calls.delete(call) || bucket.calls.size > 0) return;
    bucket.cancel();
    this.buckets.delete(bucket.endMs);
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
        spare.controller = this.signal();
        spare.options = { signal: spare.controller.signal };
        this.spareUses = 0;
      }
      return spare;
    }
    const controller = this.signal();
    const b: DeadlineBucket = {
      endMs,
      calls: new Set(),
      controller,
      options: { signal: controller.signal },
      cancel: noop,
      expire: () => this.expire(b),
    };
    return b;
  }

  private signal(): AbortController {
    const controller = new AbortController();
    // Every call in flight in the bucket may listen to its signal: that is expected, not a leak.
    unlimitedListeners(controller.signal);
    return controller;
  }

  private expire(bucket: DeadlineBucket): void {
    this.buckets.delete(bucket.endMs);
    const calls = [...bucket.calls];
    bucket.calls.clear();
    bucket.controller.abort(new BackendUnavailableError('call', 'no answer before its deadline'));
    for (const call of calls) {
      call.fail(
        new BackendUnavailableError(call.operation, `no answer within ${call.timeoutMs} ms`),
      );
    }
  }
}

/** Node's `events.setMaxListeners`, when this runs on Node; browsers have no listener limit. */
type SetMaxListeners = (n: number, ...targets: EventTarget[]) => void;

let setMaxListenersOfHost: SetMaxListeners | null | undefined;

/**
 * Lifts Node's listener warning threshold (ten) on `signal`. Node's `events` module is looked up
 * through `process.getBuiltinModule` rather than imported, so that the lab's page can bundle this
 * file for a browser, where EventTarget has no such limit and this does nothing.
 */
function unlimitedListeners(signal: AbortSignal): void {
  if (setMaxListenersOfHost === undefined) {
    const host = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } })
      .process;
    const events = host?.getBuiltinModule?.('node:events') as
      { setMaxListeners?: SetMaxListeners } | undefined;
    setMaxListenersOfHost = events?.setMaxListeners ?? null;
  }
  setMaxListenersOfHost?.(0, signal);
}

const deadlinesByRuntime = new WeakMap<Runtime, CallDeadlines>();

function deadlinesOf(runtime: Runtime): CallDeadlines {
  let d = deadlinesByRuntime.get(runtime);
  if (d === undefined) {
    d = new CallDeadlines(runtime);
    deadlinesByRuntime.set(runtime, d);
  }
  return d;
}

/**
 * Runs one backend call with a deadline: the returned promise rejects with a
 * {@link BackendUnavailableError} once `timeoutMs` has passed (rounded up by at most an eighth of
 * it, and at most 16 ms, so that concurrent calls share one timer), or with the reason of `outer`
 * as soon as it fires; it settles by then even when the backend ignores its signal, so a lost
 * backend never leaves a caller pending. A late result of an abandoned call is dropped (and
 * observed, so it is never unhandled).
 *
 * The backend's signal aborts at the deadline. It is shared with other calls ending in the same
 * slot, so by default it does not abort when `outer` fires: the caller is released at once and the
 * call itself ends on its own or at its deadline. Pass `exclusive: true` for a call the backend must
 * stop as soon as the caller gives up (a queued wait): it gets its own signal and an exact timer.
 */
export function callWithDeadline<T>(
  runtime: Runtime,
  operation: string,
  timeoutMs: number,
  outer: Stop,
  fn: (options: CallOptions) => Promise<T>,
  exclusive = false,
): Promise<T> {
  if (exclusive) return exclusiveCall(runtime, operation, timeoutMs, outer, fn);
  if (outer !== undefined && isStopped(outer)) return Promise.reject(stopReason(outer));
  const deadlines = deadlinesOf(runtime);
  return new Promise<T>((resolve, reject) => {
    const call = new DeadlineCall<T>(operation, timeoutMs, deadlines, resolve, reject);
    const bucket = deadlines.join(call);
    call.bucket = bucket;
    if (outer !== undefined) call.offOuter = onStop(outer, (reason) => call.settle(reason, false));
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

/** One call of {@link callWithDeadline}: a class, so a call costs one object, not a closure per step. */
class DeadlineCall<T> implements PendingCall {
  private settled = false;
  offOuter: () => void = noop;
  bucket: DeadlineBucket | undefined;

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
    this.offOuter();
    this.reject(reason);
  }

  /** The backend answered (`ok`: with a value), or the caller stopped first. */
  settle(result: unknown, ok: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.offOuter();
    if (this.bucket !== undefined) this.deadlines.leave(this.bucket, this);
    if (ok) this.resolve(result as T);
    else this.reject(result);
  }
}

/** {@link callWithDeadline} with a signal of its own that aborts when `outer` fires. */
function exclusiveCall<T>(
  runtime: Runtime,
  operation: string,
  timeoutMs: number,
  outer: Stop,
  fn: (options: CallOptions) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let offOuter = noop;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      cancelTimer();
      offOuter();
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
    if (outer !== undefined && isStopped(outer)) {
      fail(stopReason(outer));
      return;
    }
    offOuter = onStop(outer, fail);
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

/** Two lowercase hex digits for every byte value. */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** A fresh owner id: 128 bits from `runtime.random.bytes(16)` in lowercase hex (32 characters). */
export function newOwnerId(runtime: Runtime): string {
  const bytes = runtime.random.bytes(16);
  let hex = '';
  for (const b of bytes) hex += HEX[b] ?? '';
  return hex;
}

/** Matches a lone surrogate (with the `u` flag a paired surrogate is one code point and no match). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Validates a key: a non-empty, well-formed string (no lone surrogate: every backend stores keys as
 * UTF-8, where a lone surrogate becomes U+FFFD and two distinct keys would name one lock) of at
 * most {@link MAX_KEY_LENGTH} characters.
 */
export function checkKey(field: string, key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw rangeError(field, `a non-empty string of at most ${MAX_KEY_LENGTH} characters`, key);
  }
  if (LONE_SURROGATE.test(key)) {
    throw rangeError(field, 'a well-formed string (no lone surrogate)', key);
  }
  return key;
}

/**
 * Validates a key for `backend`: {@link checkKey}, then the backend's own rule when it has one
 * (PostgreSQL cannot store NUL), so a key the backend cannot store is refused before any call
 * instead of failing every attempt until `waitMs`.
 */
export function checkBackendKey(
  backend: { checkKey?(field: string, key: string): void },
  field: string,
  key: string,
): string {
  checkKey(field, key);
  backend.checkKey?.(field, key);
  return key;
}

/** Validates an owner string as the SPI defines it. */
export function checkOwner(field: string, owner: string): string {
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > MAX_OWNER_LENGTH) {
    throw rangeError(field, `a non-empty string of at most ${MAX_OWNER_LENGTH} characters`, owner);
  }
  return owner;
}

/** Validates a TTL in milliseconds: finite, > 0 and at most about 24.8 days (2^31 − 1 ms). */
export function checkTtl(field: string, ttlMs: number): number {
  positive(field, ttlMs);
  if (ttlMs > 2 ** 31 - 1) throw rangeError(field, `at most ${2 ** 31 - 1}`, ttlMs);
  return ttlMs;
}

/** Validates a wait in milliseconds: `Infinity` or a finite number >= 0. */
export function checkWait(field: string, waitMs: number): number {
  if (waitMs === Number.POSITIVE_INFINITY) return waitMs;
  if (typeof waitMs !== 'number' || !Number.isFinite(waitMs) || waitMs < 0) {
    throw rangeError(field, 'a number >= 0 or Infinity', waitMs);
  }
  return waitMs;
}

/** Client options with every default applied and validated. */
export interface ResolvedClientOptions {
  readonly runtime: Runtime;
  readonly callTimeoutMs: number;
  readonly driftFactor: number;
  readonly driftMarginMs: number;
  readonly recheckMs: number;
  readonly maxWaiters: number;
}

/** Applies defaults to {@link ClientOptions} and validates every field (RangeError naming it). */
export function resolveClientOptions(
  options: ClientOptions,
  defaultRuntime: () => Runtime,
): ResolvedClientOptions {
  const driftFactor = options.driftFactor ?? 0.01;
  if (!(driftFactor >= 0 && driftFactor < 0.5))
    throw rangeError('driftFactor', 'a number in [0, 0.5)', driftFactor);
  return {
    runtime: options.runtime ?? defaultRuntime(),
    callTimeoutMs: checkTtl('callTimeoutMs', options.callTimeoutMs ?? 2_000),
    driftFactor: numberIn('driftFactor', driftFactor, 0, 0.5),
    driftMarginMs: nonNegative('driftMarginMs', options.driftMarginMs ?? 2),
    recheckMs: checkTtl('recheckMs', options.recheckMs ?? 1_000),
    maxWaiters: integerIn('maxWaiters', options.maxWaiters ?? 1_000, 1, 1_000_000),
  };
}

/**
 * Small, allocation-free helpers for `AbortSignal`. Hot paths take an optional signal and touch it
 * only when the caller supplied one.
 *
 * @module
 */
import { AbortedError } from './errors.js';
import type { Disposable } from './events.js';
import { noopDisposable, disposable } from './events.js';

/**
 * Something that aborts like an `AbortSignal` but is not one: an `AbortScope` (a client's
 * `close()`, or a caller's signal combined with it). It has the signal's `aborted` and `reason`, and
 * listening costs a `Set` insertion, where an `AbortSignal` shared by many operations in flight
 * would collect one event listener each (and warn past ten).
 */
export interface AbortScopeLike {
  /** True once aborted. */
  readonly aborted: boolean;
  /** Why it aborted (meaningful once `aborted` is true). */
  readonly reason: unknown;
  /** Calls `fn` once when it aborts (never if it already has); returns the unregistration. */
  listen(fn: (reason: unknown) => void): () => void;
}

/** What can cancel an operation: a caller's `AbortSignal` or an {@link AbortScopeLike}. */
export type Abortable = AbortSignal | AbortScopeLike;

const noop = (): void => undefined;

function isScope(a: Abortable): a is AbortScopeLike {
  return typeof (a as Partial<AbortScopeLike>).listen === 'function';
}

/** True when `a` (a signal or a scope, or nothing) has aborted. */
export function isAborted(a: Abortable | undefined): boolean {
  return a !== undefined && a.aborted;
}

/** The reason `a` aborted with, or an {@link AbortedError} when it gave none. */
export function abortReason(a: Abortable): unknown {
  return (a.reason as unknown) ?? new AbortedError();
}

/** Throws the reason of `a` (a signal or a scope) when it has already aborted. */
export function throwIfAborted(a: Abortable | undefined): void {
  if (a?.aborted) throw abortReason(a);
}

/**
 * Calls `fn` once when `a` aborts (not if it already has: check {@link isAborted} first); returns
 * the unregistration. The allocation-light form of {@link onAbort} for hot paths: a signal passed to
 * many concurrent operations gets one listener, not one per operation.
 */
export function listenAbort(a: Abortable | undefined, fn: (reason: unknown) => void): () => void {
  if (a === undefined) return noop;
  return isScope(a) ? a.listen(fn) : listenToSignal(a, fn);
}

/** The functions waiting for each signal, behind the one listener this module adds to it. */
const signalListeners = new WeakMap<AbortSignal, SlotBag<(reason: unknown) => void>>();

function listenToSignal(signal: AbortSignal, fn: (reason: unknown) => void): () => void {
  let listeners = signalListeners.get(signal);
  if (listeners === undefined) {
    const bag = new SlotBag<(reason: unknown) => void>();
    signalListeners.set(signal, bag);
    const fire = (): void => {
      const reason = abortReason(signal);
      for (const f of bag.takeAll()) f(reason);
    };
    signal.addEventListener('abort', fire, { once: true });
    listeners = bag;
  }
  return listeners.add(fn);
}

/**
 * A bag of items (listeners, calls in flight) with O(1) `add` and removal, where removal never
 * allocates. A `Set` would do, but V8 shrinks a `Set`'s table when it empties and grows it again on
 * the next insertion, so a set that goes 0 → 1 → 0 on every call (the one listener of a sequential
 * caller) reallocates twice per call. Removal is by the function `add` returns; a generation per
 * slot makes a late or repeated removal harmless once the slot holds another item. An item added
 * twice stays two entries.
 *
 * Benchmark case served: `bench locks`, `uncontended-seq` (every acquire and release registers and
 * removes abort listeners on the client's scope and on the shared deadline signal).
 */
export class SlotBag<T> {
  private readonly items: (T | undefined)[] = [];
  /** Each slot's generation, bumped whenever its item leaves (never truncated). */
  private readonly gens: number[] = [];
  private readonly free: number[] = [];
  private count = 0;

  /** Items in the bag. */
  get size(): number {
    return this.count;
  }

  /** Adds `item`; returns its removal (idempotent). */
  add(item: T): () => void {
    const i = this.free.pop() ?? this.items.length;
    const gen = (this.gens[i] ?? 0) + 1;
    this.items[i] = item;
    this.gens[i] = gen;
    this.count++;
    return () => this.remove(i, gen);
  }

  /** What the bag holds, as a new array (in slot order, not insertion order). */
  values(): T[] {
    const out: T[] = [];
    for (const item of this.items) if (item !== undefined) out.push(item);
    return out;
  }

  /** Empties the bag and returns what it held (in slot order, not insertion order). */
  takeAll(): T[] {
    const out: T[] = [];
    const { items, gens } = this;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (item === undefined) continue;
      out.push(item);
      gens[i] = (gens[i] ?? 0) + 1;
    }
    items.length = 0;
    this.free.length = 0;
    this.count = 0;
    return out;
  }

  private remove(i: number, gen: number): void {
    if (this.gens[i] !== gen) return;
    this.gens[i] = gen + 1;
    this.items[i] = undefined;
    this.free.push(i);
    this.count--;
  }
}

/**
 * An abort source that is not an `AbortSignal` (see {@link AbortScopeLike}): `abort(reason)` fires
 * its listeners once. `link(signal)` combines it with a caller's signal and allocates nothing when
 * there is none.
 *
 * @example
 * const scope = new AbortScope();
 * const stop = scope.link(options.signal); // aborts on close() or on the caller's signal
 * listenAbort(stop, (reason) => reject(reason));
 * scope.abort(new AbortedError('closed'));
 */
export class AbortScope implements AbortScopeLike {
  private fired = false;
  private why: unknown;
  private readonly listeners = new SlotBag<(reason: unknown) => void>();

  get aborted(): boolean {
    return this.fired;
  }

  get reason(): unknown {
    return this.why;
  }

  listen(fn: (reason: unknown) => void): () => void {
    if (this.fired) return noop;
    return this.listeners.add(fn);
  }

  /** Aborts once with `reason`; later calls do nothing. */
  abort(reason: unknown): void {
    if (this.fired) return;
    this.fired = true;
    this.why = reason;
    for (const fn of this.listeners.takeAll()) fn(reason);
  }

  /** This scope, or this scope and `caller` together (whichever aborts first). */
  link(caller: AbortSignal | undefined): AbortScopeLike {
    return caller === undefined ? this : new LinkedScope(caller, this);
  }
}

/** A caller's signal and a scope: aborted when either is. */
class LinkedScope implements AbortScopeLike {
  constructor(
    private readonly caller: AbortSignal,
    private readonly scope: AbortScopeLike,
  ) {}

  get aborted(): boolean {
    return this.caller.aborted || this.scope.aborted;
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
    const offCaller = listenToSignal(this.caller, once);
    return () => {
      done = true;
      offCaller();
      offScope();
    };
  }
}

/**
 * Waits for the first of: `ms` passing on `setTimer`, `wake` resolving, or `stop` aborting —
 * and settles once. Resolves on the timer or the wake-up, rejects with the abort reason (at once if
 * `stop` already aborted); clears the timer and the listener either way. The one implementation of
 * "sleep, unless woken or cancelled" that timers and wait loops share.
 */
export function waitFor(
  setTimer: (ms: number, fn: () => void) => () => void,
  ms: number,
  options: {
    readonly stop?: Abortable | undefined;
    readonly wake?: Promise<unknown> | undefined;
  } = {},
): Promise<void> {
  const { stop, wake } = options;
  if (stop?.aborted) return Promise.reject(abortReason(stop));
  return new Promise<void>((resolve, reject) => {
    if (stop === undefined && wake === undefined) {
      setTimer(ms, resolve);
      return;
    }
    // The abort listener is registered before the timer is armed, so neither callback can ever
    // reach the other before it exists.
    let settled = false;
    let cancel = noop;
    const off = listenAbort(stop, (reason) => {
      if (settled) return;
      settled = true;
      cancel();
      reject(reason);
    });
    const done = (): void => {
      if (settled) return;
      settled = true;
      cancel();
      off();
      resolve();
    };
    cancel = setTimer(ms, done);
    if (wake !== undefined) void wake.then(done, done);
  });
}

/**
 * Calls `fn` once when `signal` aborts (at once if it already has). The returned disposable
 * removes the listener; dispose it when the operation ends so no listener outlives it.
 */
export function onAbort(
  signal: AbortSignal | undefined,
  fn: (reason: unknown) => void,
): Disposable {
  if (signal === undefined) return noopDisposable;
  if (signal.aborted) {
    fn(abortReason(signal));
    return noopDisposable;
  }
  const listener = (): void => fn(abortReason(signal));
  signal.addEventListener('abort', listener, { once: true });
  return disposable(() => signal.removeEventListener('abort', listener));
}

/**
 * Settles like `promise`, or rejects with the signal's reason as soon as `signal` aborts. Without
 * a signal it returns `promise` itself and allocates nothing.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    // The original promise may still reject later; observe it so it is never unhandled.
    promise.catch(() => undefined);
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const sub = onAbort(signal, (reason) => {
      promise.catch(() => undefined);
      reject(reason);
    });
    promise.then(
      (value) => {
        sub.dispose();
        resolve(value);
      },
      (error: unknown) => {
        sub.dispose();
        reject(error);
      },
    );
  });
}

/**
 * A signal that aborts when any of `signals` does. Returns the single defined signal unchanged
 * (no allocation) when only one is given, and `undefined` when none is.
 */
export function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const defined = signals.filter((s): s is AbortSignal => s !== undefined);
  if (defined.length === 0) return undefined;
  if (defined.length === 1) return defined[0];
  return AbortSignal.any(defined);
}

/**
 * `Timers.sleep` written once over a timer primitive: resolves after `ms`, or rejects with the
 * signal's reason as soon as it aborts, clearing the timer and the listener either way.
 *
 * @example
 * class MyTimers implements Timers {
 *   setTimer(ms: number, fn: () => void): Cancel { ... }
 *   sleep(ms: number, signal?: AbortSignal): Promise<void> {
 *     return sleepOn((delay, fn) => this.setTimer(delay, fn), ms, signal);
 *   }
 * }
 */
export function sleepOn(
  setTimer: (ms: number, fn: () => void) => () => void,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  return waitFor(setTimer, ms, { stop: signal });
}

/**
 * True when `value` behaves as an `AbortSignal` (checked by shape, so a signal from another realm
 * passes): the `aborted` flag and the listener methods every consumer relies on.
 */
export function isAbortSignal(value: unknown): value is AbortSignal {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Partial<AbortSignal>;
  return (
    typeof s.aborted === 'boolean' &&
    typeof s.addEventListener === 'function' &&
    typeof s.removeEventListener === 'function'
  );
}

/**
 * Validates an optional `signal` option: `undefined` or an `AbortSignal`. Anything else is a
 * `TypeError` naming `field`, thrown before the operation starts (a foreign object would otherwise
 * fail later, inside a wait, where the failure looks like a timeout and leaks a listener).
 */
export function checkSignal(field: string, value: unknown): AbortSignal | undefined {
  if (value === undefined || isAbortSignal(value)) return value;
  let shown: string;
  if (value === null) shown = 'null';
  else if (typeof value === 'string') shown = JSON.stringify(value);
  else if (typeof value === 'object') shown = `an object without the AbortSignal interface`;
  else shown = String(value);
  throw new TypeError(`${field} must be an AbortSignal or undefined (got ${shown})`);
}

/**
 * Small, allocation-free helpers for `AbortSignal`. Hot paths take an optional signal and touch it
 * only when the caller supplied one.
 *
 * @module
 */
import { AbortedError } from './errors.js';
import type { Disposable } from './events.js';
import { noopDisposable, disposable } from './events.js';

/** The reason a signal aborted with, or an {@link AbortedError} when it gave none. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new AbortedError();
}

/** Throws the signal's reason when it has already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
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
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    if (signal === undefined) {
      setTimer(ms, resolve);
      return;
    }
    const onAbortEvent = (): void => {
      cancel();
      reject(abortReason(signal));
    };
    const cancel = setTimer(ms, () => {
      signal.removeEventListener('abort', onAbortEvent);
      resolve();
    });
    signal.addEventListener('abort', onAbortEvent, { once: true });
  });
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

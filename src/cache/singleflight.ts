/**
 * Request coalescing (Go's `singleflight`): one in-flight load per key, shared by every caller
 * that asks for the key while it runs. Each caller keeps its own `AbortSignal` and timeout: a
 * caller that leaves detaches only itself, and the load is aborted only when its last waiter has
 * left. The sharing window is the load itself, never a TTL, so a burst longer than a cache's TTL
 * is still coalesced.
 *
 * @module
 */
import { abortReason } from '../core/abort.js';
import { assert } from '../core/assert.js';
import { AbortedError } from '../core/errors.js';
import type { Cancel, Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { integerIn, positive, rangeError } from '../core/validate.js';
import { TimeoutError } from '../resilience/errors.js';
import { checkCacheKey, TooManyFlightsError } from './errors.js';

/** Loads the value of a key; `signal` aborts when every caller waiting for it has left. */
export type Loader<T> = (signal: AbortSignal) => T | PromiseLike<T>;

/** Options of a {@link Singleflight}. */
export interface SingleflightOptions {
  /**
   * Upper bound on keys loading at once (default 100,000). One more rejects with
   * {@link TooManyFlightsError}: an unbounded map of flights is a memory leak under a key storm.
   */
  maxFlights?: number;
  /** Timers of per-caller timeouts (default: the system runtime). */
  runtime?: Runtime;
}

/** Options of one {@link Singleflight.do} call. */
export interface FlightOptions {
  /** This caller gives up when it aborts; other callers and the load go on. */
  signal?: AbortSignal;
  /**
   * This caller's own timeout in ms (default: none). It rejects with a `TimeoutError` and detaches;
   * other callers keep waiting, and the load is aborted only if it was the last one.
   */
  timeoutMs?: number;
}

/** One shared load. */
class Flight<T> {
  readonly controller = new AbortController();
  /** Callers that can leave (they have a signal or a timeout) and have not. */
  waiters = 0;
  /** A caller that can never leave joined: the load is never aborted for lack of waiters. */
  pinned = false;
  settled = false;
  promise: Promise<T> | undefined;
}

/**
 * Coalesces concurrent loads of the same key.
 *
 * @example
 * const flights = new Singleflight<User>();
 * const user = await flights.do(`user:${id}`, (signal) => db.user(id, { signal }), { timeoutMs: 200 });
 */
export class Singleflight<T> {
  private readonly flights = new Map<string, Flight<T>>();
  private readonly maxFlights: number;
  private readonly runtime: Runtime;

  constructor(options: SingleflightOptions = {}) {
    this.maxFlights = integerIn('maxFlights', options.maxFlights ?? 100_000, 1, 100_000_000);
    this.runtime = options.runtime ?? systemRuntime();
  }

  /** Keys loading right now. */
  get size(): number {
    return this.flights.size;
  }

  /**
   * Callers waiting on `key`'s load that can still leave (they passed a signal or a timeout); 0
   * when none is in flight. Callers without either are not counted: they share the load's promise.
   */
  waiters(key: string): number {
    return this.flights.get(key)?.waiters ?? 0;
  }

  /**
   * Runs `loader` for `key` unless a load of `key` is already in flight, and resolves with that
   * load's result. A caller without a signal or timeout gets the shared promise itself (no
   * allocation per waiter): a burst of 10,000 callers costs one promise.
   */
  do(key: string, loader: Loader<T>, options?: FlightOptions): Promise<T> {
    try {
      checkCacheKey(key);
      if (typeof loader !== 'function') throw rangeError('loader', 'a function', loader);
      if (options?.timeoutMs !== undefined) positive('timeoutMs', options.timeoutMs);
      if (options?.signal?.aborted) throw abortReason(options.signal);
      const flight = this.flights.get(key) ?? this.start(key, loader);
      return this.wait(key, flight, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Like {@link Singleflight.do}, and says whether this caller joined a load already running. */
  async join(
    key: string,
    loader: Loader<T>,
    options: FlightOptions = {},
  ): Promise<{ value: T; shared: boolean }> {
    const shared = this.flights.has(key);
    const value = await this.do(key, loader, options);
    return { value, shared };
  }

  /** True while a load of `key` is in flight. */
  loading(key: string): boolean {
    return this.flights.has(key);
  }

  /**
   * Forgets `key`'s in-flight load: callers already waiting still get its result, the next caller
   * starts a new load (after an invalidation, a load that began before it must not be shared).
   */
  forget(key: string): void {
    this.flights.delete(key);
  }

  private start(key: string, loader: Loader<T>): Flight<T> {
    if (this.flights.size >= this.maxFlights) throw new TooManyFlightsError(this.maxFlights);
    const flight = new Flight<T>();
    this.flights.set(key, flight);
    const settle = (): void => {
      flight.settled = true;
      if (this.flights.get(key) === flight) this.flights.delete(key);
    };
    flight.promise = (async () => {
      try {
        return await loader(flight.controller.signal);
      } finally {
        settle();
      }
    })();
    // Every waiter observes the promise; this keeps an abandoned load's failure handled too.
    flight.promise.catch(() => undefined);
    return flight;
  }

  private wait(key: string, flight: Flight<T>, options: FlightOptions | undefined): Promise<T> {
    const promise = flight.promise;
    assert(promise !== undefined, 'a flight has its promise before anyone waits on it');
    const signal = options?.signal;
    const timeoutMs = options?.timeoutMs;
    if (signal === undefined && timeoutMs === undefined) {
      flight.pinned = true;
      return promise;
    }
    flight.waiters++;
    return new Promise<T>((resolve, reject) => {
      let cancelTimer: Cancel | undefined;
      let left = false;
      const leave = (reason: unknown): void => {
        if (left) return;
        left = true;
        cleanup();
        this.detach(key, flight);
        reject(reason);
      };
      const onAbortEvent = (): void => leave(abortReason(signal as AbortSignal));
      const cleanup = (): void => {
        cancelTimer?.();
        signal?.removeEventListener('abort', onAbortEvent);
      };
      if (timeoutMs !== undefined) {
        cancelTimer = this.runtime.timers.setTimer(timeoutMs, () =>
          leave(new TimeoutError(timeoutMs)),
        );
      }
      signal?.addEventListener('abort', onAbortEvent, { once: true });
      promise.then(
        (value) => {
          if (left) return;
          left = true;
          cleanup();
          flight.waiters--;
          resolve(value);
        },
        (error: unknown) => {
          if (left) return;
          left = true;
          cleanup();
          flight.waiters--;
          reject(error);
        },
      );
    });
  }

  /** A caller left before the load settled: abort the load when it was the last one. */
  private detach(key: string, flight: Flight<T>): void {
    flight.waiters--;
    assert(flight.waiters >= 0, 'a flight never has a negative number of waiters');
    if (flight.waiters > 0 || flight.pinned || flight.settled) return;
    if (this.flights.get(key) === flight) this.flights.delete(key);
    flight.controller.abort(new AbortedError('every caller waiting for the load left'));
  }
}

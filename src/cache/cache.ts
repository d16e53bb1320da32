/**
 * A stampede-proof cache: `getOrLoad(key, loader)` with a TTL, stale-while-revalidate, XFetch
 * early recomputation, request coalescing (one load per key, see {@link Singleflight}), soft and
 * hard loader timeouts, stale-on-error, negative caching and a bounded LRU memory tier. Time and
 * randomness come from the runtime, so the same code runs under the simulator.
 *
 * XFetch (Vattani, Chierichetti, Lowenstein, "Optimal Probabilistic Cache Stampede Prevention",
 * VLDB 2015): a caller recomputes early when `now − δ·β·ln(U) ≥ expiry`, with δ the time the last
 * recomputation of this key took, β ≥ 0 a tuning factor and U uniform in (0, 1]. Here the caller
 * that draws it starts a background refresh through the singleflight (a try-lock: when a refresh
 * is already running it does nothing) and is served the cached value at once.
 *
 * @module
 */
import { raceAbort } from '../core/abort.js';
import { assert } from '../core/assert.js';
import { eventChannel } from '../core/diagnostics.js';
import type { Disposable } from '../core/events.js';
import { Emitter } from '../core/events.js';
import type { Clock, Random, Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { integerIn, nonNegative, positive, rangeError } from '../core/validate.js';
import { TimeoutError } from '../resilience/errors.js';
import { CacheClosedError, CachedFailureError, checkCacheKey } from './errors.js';
import type { EvictionReason } from './lru.js';
import { approximateSize, LruStore } from './lru.js';
import { Singleflight } from './singleflight.js';
import type { FlightOptions } from './singleflight.js';

/** Options that can be set for the whole cache and overridden per `getOrLoad` call. */
export interface EntryOptions {
  /** How long a loaded value is fresh, in ms (cache default 60,000). */
  ttlMs?: number;
  /**
   * Stale-while-revalidate grace, in ms after expiry (default 0): a value this stale is served at
   * once while one background load refreshes it. Longer hides more origin latency and serves
   * older data.
   */
  staleMs?: number;
  /**
   * XFetch's β (default 1; 0 turns early recomputation off). Higher recomputes earlier (more
   * origin calls, fewer expiries under load); 1 is the paper's optimum for Poisson traffic.
   */
  beta?: number;
  /**
   * How long after expiry a value may still be served when the loader fails or exceeds its soft
   * timeout, in ms (default 0: never). Like HTTP's `stale-if-error`.
   */
  staleIfErrorMs?: number;
  /**
   * How long a loader failure is remembered, in ms (default 0: not at all). Meanwhile
   * `getOrLoad` rejects with a `CachedFailureError` without calling the origin: a failing origin
   * gets one call per key per `negativeTtlMs`, not one per request.
   */
  negativeTtlMs?: number;
  /**
   * When a usable old value exists (`staleIfErrorMs`) and a load takes longer than this, in ms,
   * the caller gets the old value and the load goes on in the background (default: no soft
   * timeout).
   */
  softTimeoutMs?: number;
  /**
   * Loads that run longer than this, in ms, are aborted (the loader's signal aborts) and fail with
   * a `TimeoutError` (default: no hard timeout). It bounds the work a stuck origin can hold.
   */
  hardTimeoutMs?: number;
}

/** Options of a {@link Cache}. */
export interface CacheOptions<V> extends EntryOptions {
  /** Upper bound on entries kept (default 10,000); the least recently used go first. */
  maxEntries?: number;
  /** Upper bound on the summed size of entries, in bytes as `sizeOf` counts them (default: none). */
  maxBytes?: number;
  /** The size of a value in bytes (default {@link approximateSize}). */
  sizeOf?: (value: V, key: string) => number;
  /**
   * Coalesce concurrent loads of a key into one (default `true`). `false` exists to measure the
   * stampede it prevents (every miss calls the origin); do not turn it off in a service.
   */
  coalesce?: boolean;
  /** Upper bound on keys loading at once (default 100,000). */
  maxFlights?: number;
  /** Clock, timers and XFetch's randomness (default: the system runtime). */
  runtime?: Runtime;
}

/** What a loader may learn and decide about the entry it loads. */
export interface LoadContext {
  /** The key being loaded. */
  readonly key: string;
  /**
   * How long the loaded value stays fresh, in ms: the call's `ttlMs`, which the loader may lower
   * or raise (a second tier sets it to the remaining TTL of the shared copy).
   */
  ttlMs: number;
}

/**
 * Loads a key's value from the origin. `signal` aborts when every caller waiting for the load has
 * left, at the hard timeout, or when the cache closes.
 */
export type CacheLoader<V> = (signal: AbortSignal, context: LoadContext) => V | PromiseLike<V>;

/** Options of one `getOrLoad` call. */
export interface GetOrLoadOptions extends EntryOptions {
  /** This caller gives up when it aborts; a load shared with others goes on. */
  signal?: AbortSignal;
  /** This caller's own timeout in ms; a load shared with others goes on. */
  timeoutMs?: number;
}

/** Options of {@link Cache.set}. */
export interface SetOptions {
  ttlMs?: number;
  /** The recompute time XFetch should assume for this value, in ms (default 0). */
  deltaMs?: number;
}

/** A cache event. `key` is the cache key. */
export type CacheEvent =
  | { readonly kind: 'hit'; readonly key: string; readonly early: boolean }
  | { readonly kind: 'miss'; readonly key: string }
  | {
      readonly kind: 'stale';
      readonly key: string;
      readonly reason: 'revalidate' | 'error' | 'soft-timeout';
    }
  | {
      readonly kind: 'load';
      readonly key: string;
      readonly durationMs: number;
      readonly ok: boolean;
    }
  | { readonly kind: 'evict'; readonly key: string; readonly reason: EvictionReason };

/** A stored value. Times are the runtime's monotonic ms. */
interface ValueEntry<V> {
  readonly kind: 'value';
  readonly value: V;
  readonly expiresAtMs: number;
  /** Served stale-while-revalidate until then. */
  readonly staleUntilMs: number;
  /** Usable when a load fails (stale-if-error) until then; the entry is dropped after it. */
  readonly keepUntilMs: number;
  /** How long the load that produced it took, for XFetch. */
  readonly deltaMs: number;
  readonly bytes: number;
}

/** A remembered loader failure (negative caching). */
interface FailureEntry<V> {
  readonly kind: 'failure';
  readonly error: unknown;
  readonly expiresAtMs: number;
  /** The value it replaced, still usable for stale-if-error. */
  readonly previous: ValueEntry<V> | undefined;
  readonly bytes: number;
}

type Entry<V> = ValueEntry<V> | FailureEntry<V>;

interface Resolved {
  ttlMs: number;
  staleMs: number;
  beta: number;
  staleIfErrorMs: number;
  negativeTtlMs: number;
  softTimeoutMs: number | undefined;
  hardTimeoutMs: number | undefined;
}

const channels = {
  hit: eventChannel<CacheEvent>('faultline:cache:hit'),
  miss: eventChannel<CacheEvent>('faultline:cache:miss'),
  stale: eventChannel<CacheEvent>('faultline:cache:stale'),
  load: eventChannel<CacheEvent>('faultline:cache:load'),
  evict: eventChannel<CacheEvent>('faultline:cache:evict'),
};

function resolveEntryOptions(options: EntryOptions, base: Resolved | undefined): Resolved {
  const opt = (v: number | undefined): number | undefined => v;
  return {
    ttlMs: positive('ttlMs', options.ttlMs ?? base?.ttlMs ?? 60_000),
    staleMs: nonNegative('staleMs', options.staleMs ?? base?.staleMs ?? 0),
    beta: nonNegative('beta', options.beta ?? base?.beta ?? 1),
    staleIfErrorMs: nonNegative(
      'staleIfErrorMs',
      options.staleIfErrorMs ?? base?.staleIfErrorMs ?? 0,
    ),
    negativeTtlMs: nonNegative('negativeTtlMs', options.negativeTtlMs ?? base?.negativeTtlMs ?? 0),
    softTimeoutMs: checkOptionalPositive(
      'softTimeoutMs',
      opt(options.softTimeoutMs) ?? base?.softTimeoutMs,
    ),
    hardTimeoutMs: checkOptionalPositive(
      'hardTimeoutMs',
      opt(options.hardTimeoutMs) ?? base?.hardTimeoutMs,
    ),
  };
}

function checkOptionalPositive(field: string, value: number | undefined): number | undefined {
  return value === undefined ? undefined : positive(field, value);
}

function hasOverrides(options: GetOrLoadOptions): boolean {
  return (
    options.ttlMs !== undefined ||
    options.staleMs !== undefined ||
    options.beta !== undefined ||
    options.staleIfErrorMs !== undefined ||
    options.negativeTtlMs !== undefined ||
    options.softTimeoutMs !== undefined ||
    options.hardTimeoutMs !== undefined
  );
}

const NO_OPTIONS: GetOrLoadOptions = Object.freeze({});

/** The loader passed when a load is already in flight (the singleflight never calls it). */
const NOT_CALLED = (): never => {
  throw new Error('unreachable: a load of this key was already in flight');
};

/**
 * An in-process cache whose `getOrLoad` calls the origin once per key per expiry, however many
 * callers ask at once.
 *
 * @example
 * const users = new Cache<User>({ ttlMs: 30_000, staleMs: 10_000, staleIfErrorMs: 300_000 });
 * const user = await users.getOrLoad(`user:${id}`, (signal) => db.user(id, { signal }));
 */
export class Cache<V> {
  private readonly defaults: Resolved;
  private readonly store: LruStore<Entry<V>>;
  private readonly flights: Singleflight<V>;
  private readonly coalesce: boolean;
  private readonly sizeOf: (value: V, key: string) => number;
  private readonly runtime: Runtime;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly emitters = {
    hit: new Emitter<CacheEvent & { kind: 'hit' }>(),
    miss: new Emitter<CacheEvent & { kind: 'miss' }>(),
    stale: new Emitter<CacheEvent & { kind: 'stale' }>(),
    load: new Emitter<CacheEvent & { kind: 'load' }>(),
    evict: new Emitter<CacheEvent & { kind: 'evict' }>(),
  };
  /** Background loads started by this cache, so `close()` can abort them. */
  private readonly background = new Set<AbortController>();
  private closed = false;

  constructor(options: CacheOptions<V> = {}) {
    this.defaults = resolveEntryOptions(options, undefined);
    const maxEntries = integerIn('maxEntries', options.maxEntries ?? 10_000, 1, 100_000_000);
    const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    if (typeof maxBytes !== 'number' || Number.isNaN(maxBytes) || maxBytes <= 0) {
      throw rangeError('maxBytes', 'a number > 0', maxBytes);
    }
    if (options.sizeOf !== undefined && typeof options.sizeOf !== 'function') {
      throw rangeError('sizeOf', 'a function', options.sizeOf);
    }
    this.sizeOf = options.sizeOf ?? approximateSize;
    this.coalesce = options.coalesce ?? true;
    this.runtime = options.runtime ?? systemRuntime();
    this.clock = this.runtime.clock;
    this.random = this.runtime.random.fork('cache');
    this.flights = new Singleflight<V>({
      runtime: this.runtime,
      ...(options.maxFlights === undefined ? {} : { maxFlights: options.maxFlights }),
    });
    this.store = new LruStore<Entry<V>>(maxEntries, maxBytes, (key, _entry, reason) =>
      this.emit('evict', { kind: 'evict', key, reason }),
    );
  }

  /** Entries held (values and remembered failures). */
  get size(): number {
    return this.store.size;
  }

  /** Summed size of the entries held, in bytes as `sizeOf` counts them. */
  get bytes(): number {
    return this.store.bytes;
  }

  /** Keys loading right now. */
  get loading(): number {
    return this.flights.size;
  }

  /**
   * The value of `key`: fresh (or within its stale-while-revalidate grace) from the cache, or from
   * one call of `loader` shared by every concurrent caller of the key.
   */
  getOrLoad(
    key: string,
    loader: CacheLoader<V>,
    options: GetOrLoadOptions = NO_OPTIONS,
  ): Promise<V> {
    if (this.closed) return Promise.reject(new CacheClosedError());
    checkCacheKey(key);
    const entry = this.store.peek(key);
    if (entry !== undefined) {
      const now = this.clock.monotonicMs();
      if (entry.kind === 'value') {
        // The hot path: a fresh hit resolves only the options it uses (β, when overridden).
        if (now < entry.expiresAtMs) return this.hit(key, entry, now, loader, options);
        if (now < entry.staleUntilMs) {
          this.store.touch(key, entry);
          this.emit('stale', { kind: 'stale', key, reason: 'revalidate' });
          this.refresh(key, loader, this.resolve(options));
          return Promise.resolve(entry.value);
        }
      } else if (now < entry.expiresAtMs) {
        return this.cachedFailure(key, entry, now);
      }
    }
    const o = this.resolve(options);
    this.emit('miss', { kind: 'miss', key });
    return this.miss(key, loader, o, options, entry);
  }

  private resolve(options: GetOrLoadOptions): Resolved {
    return hasOverrides(options) ? resolveEntryOptions(options, this.defaults) : this.defaults;
  }

  /** The cached value of `key` when fresh or within its grace, without loading. */
  get(key: string): V | undefined {
    const entry = this.store.peek(key);
    if (entry?.kind !== 'value') return undefined;
    return this.clock.monotonicMs() < entry.staleUntilMs ? entry.value : undefined;
  }

  /** Stores `value` for `key` as if a load had returned it. */
  set(key: string, value: V, options: SetOptions = {}): void {
    if (this.closed) throw new CacheClosedError();
    checkCacheKey(key);
    const o =
      options.ttlMs === undefined ? this.defaults : resolveEntryOptions(options, this.defaults);
    this.put(key, value, o, nonNegative('deltaMs', options.deltaMs ?? 0));
  }

  /**
   * Removes `key`. A load of `key` already running is forgotten: its callers still get its result
   * but it is not stored, and the next caller starts a new load.
   */
  delete(key: string): boolean {
    checkCacheKey(key);
    this.flights.forget(key);
    const state = this.loads.get(key);
    if (state !== undefined) state.generation++;
    return this.store.delete(key);
  }

  /** Removes every entry. */
  clear(): void {
    for (const key of [...this.store.keys()]) this.delete(key);
  }

  /** Hits (`early` when XFetch started a refresh). */
  onHit(listener: (event: CacheEvent & { kind: 'hit' }) => void): Disposable {
    return this.emitters.hit.on(listener);
  }

  /** Misses: the caller waits for a load. */
  onMiss(listener: (event: CacheEvent & { kind: 'miss' }) => void): Disposable {
    return this.emitters.miss.on(listener);
  }

  /** Stale serves, with why the old value was served. */
  onStale(listener: (event: CacheEvent & { kind: 'stale' }) => void): Disposable {
    return this.emitters.stale.on(listener);
  }

  /** Finished loads (origin calls), with their duration and outcome. */
  onLoad(listener: (event: CacheEvent & { kind: 'load' }) => void): Disposable {
    return this.emitters.load.on(listener);
  }

  /** Entries that left the store, with the reason. */
  onEvict(listener: (event: CacheEvent & { kind: 'evict' }) => void): Disposable {
    return this.emitters.evict.on(listener);
  }

  /** Aborts background refreshes, drops every entry and rejects later calls. Idempotent. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const controller of this.background) controller.abort(new CacheClosedError());
    this.background.clear();
    this.store.clear();
    for (const emitter of Object.values(this.emitters)) emitter.clear();
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // -------------------------------------------------------------------------------------------

  /**
   * Loads running per key, with a generation `delete` bumps so a load that started before the
   * delete does not store its result. An entry lives only while a load of its key runs.
   */
  private readonly loads = new Map<string, { running: number; generation: number }>();

  private beginLoad(key: string): { running: number; generation: number } {
    let state = this.loads.get(key);
    if (state === undefined) {
      state = { running: 0, generation: 0 };
      this.loads.set(key, state);
    }
    state.running++;
    return state;
  }

  private endLoad(key: string, state: { running: number; generation: number }): void {
    state.running--;
    if (state.running === 0 && this.loads.get(key) === state) this.loads.delete(key);
  }

  private hit(
    key: string,
    entry: ValueEntry<V>,
    now: number,
    loader: CacheLoader<V>,
    options: GetOrLoadOptions,
  ): Promise<V> {
    this.store.touch(key, entry);
    const beta =
      options.beta === undefined ? this.defaults.beta : nonNegative('beta', options.beta);
    // XFetch: recompute early when now − δ·β·ln(U) ≥ expiry, i.e. with probability
    // exp(−(expiry − now)/(δ·β)). Beyond 30·δ·β before expiry that is below 1e-13, so the draw is
    // skipped there: the hot path of a long-lived entry costs no random number.
    const scale = entry.deltaMs * beta;
    const early =
      scale > 0 &&
      entry.expiresAtMs - now < 30 * scale &&
      now - scale * Math.log(1 - this.random.next()) >= entry.expiresAtMs;
    if (early) this.refresh(key, loader, this.resolve(options));
    if (this.emitters.hit.size > 0 || channels.hit?.hasSubscribers === true) {
      this.emit('hit', { kind: 'hit', key, early });
    }
    return Promise.resolve(entry.value);
  }

  private cachedFailure(key: string, entry: FailureEntry<V>, now: number): Promise<V> {
    this.store.touch(key, entry);
    const previous = entry.previous;
    if (previous !== undefined && now < previous.keepUntilMs) {
      this.emit('stale', { kind: 'stale', key, reason: 'error' });
      return Promise.resolve(previous.value);
    }
    return Promise.reject(new CachedFailureError(key, { cause: entry.error }));
  }

  /** Starts one background load of `key` unless one is running (the try-lock). */
  private refresh(key: string, loader: CacheLoader<V>, o: Resolved): void {
    if (this.coalesce && this.flights.loading(key)) return;
    const controller = new AbortController();
    this.background.add(controller);
    this.fetch(key, loader, o, { signal: controller.signal })
      .catch(() => undefined)
      .finally(() => this.background.delete(controller));
  }

  private miss(
    key: string,
    loader: CacheLoader<V>,
    o: Resolved,
    call: GetOrLoadOptions,
    entry: Entry<V> | undefined,
  ): Promise<V> {
    const old = entry?.kind === 'value' ? entry : entry?.previous;
    const usable =
      old !== undefined && this.clock.monotonicMs() < old.keepUntilMs ? old : undefined;
    const load = this.fetch(key, loader, o, call);
    return usable === undefined ? load : this.missWithFallback(key, load, o, call, usable);
  }

  /** A miss with an old value at hand: served on a soft timeout or a failure. */
  private async missWithFallback(
    key: string,
    load: Promise<V>,
    o: Resolved,
    call: GetOrLoadOptions,
    usable: ValueEntry<V>,
  ): Promise<V> {
    try {
      if (o.softTimeoutMs === undefined) return await load;
      const soft = await this.withSoftTimeout(load, o.softTimeoutMs);
      if (soft.kind === 'value') return soft.value;
      this.emit('stale', { kind: 'stale', key, reason: 'soft-timeout' });
      return usable.value;
    } catch (error) {
      if (call.signal?.aborted === true) throw error;
      this.emit('stale', { kind: 'stale', key, reason: 'error' });
      return usable.value;
    }
  }

  private withSoftTimeout(
    load: Promise<V>,
    softMs: number,
  ): Promise<{ kind: 'value'; value: V } | { kind: 'late' }> {
    return new Promise((resolve, reject) => {
      const cancel = this.runtime.timers.setTimer(softMs, () => resolve({ kind: 'late' }));
      load.then(
        (value) => {
          cancel();
          resolve({ kind: 'value', value });
        },
        (error: unknown) => {
          cancel();
          reject(error);
        },
      );
    });
  }

  /** One caller's share of a load: coalesced through the singleflight unless turned off. */
  private fetch(
    key: string,
    loader: CacheLoader<V>,
    o: Resolved,
    call: GetOrLoadOptions,
  ): Promise<V> {
    // GetOrLoadOptions carries FlightOptions' `signal` and `timeoutMs` under the same names.
    const flight: FlightOptions = call;
    if (this.coalesce) {
      // Only the caller that starts a load allocates its closure.
      const running = this.flights.loading(key);
      return this.flights.do(
        key,
        running ? NOT_CALLED : (signal) => this.load(key, loader, o, signal),
        flight,
      );
    }
    // Without coalescing every caller runs its own load: the stampede, kept for measurement.
    return new Singleflight<V>({ runtime: this.runtime }).do(
      key,
      (signal) => this.load(key, loader, o, signal),
      flight,
    );
  }

  /** Calls the origin once, under the hard timeout, and stores what it returns. */
  private async load(
    key: string,
    loader: CacheLoader<V>,
    o: Resolved,
    signal: AbortSignal,
  ): Promise<V> {
    const state = this.beginLoad(key);
    const generation = state.generation;
    const started = this.clock.monotonicMs();
    const controller = new AbortController();
    const forward = (): void => controller.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    const hardMs = o.hardTimeoutMs;
    const cancel =
      hardMs === undefined
        ? undefined
        : this.runtime.timers.setTimer(hardMs, () => controller.abort(new TimeoutError(hardMs)));
    const context: LoadContext = { key, ttlMs: o.ttlMs };
    try {
      const value = await raceAbort(
        Promise.resolve(loader(controller.signal, context)),
        controller.signal,
      );
      const deltaMs = this.clock.monotonicMs() - started;
      this.emit('load', { kind: 'load', key, durationMs: deltaMs, ok: true });
      if (!this.closed && generation === state.generation) {
        const ttlMs = positive('ttlMs (set by the loader)', context.ttlMs);
        this.put(key, value, ttlMs === o.ttlMs ? o : { ...o, ttlMs }, deltaMs);
      }
      return value;
    } catch (error) {
      const durationMs = this.clock.monotonicMs() - started;
      this.emit('load', { kind: 'load', key, durationMs, ok: false });
      if (!signal.aborted && generation === state.generation) this.remember(key, error, o);
      throw error;
    } finally {
      this.endLoad(key, state);
      cancel?.();
      signal.removeEventListener('abort', forward);
    }
  }

  private put(key: string, value: V, o: Resolved, deltaMs: number): void {
    const now = this.clock.monotonicMs();
    const expiresAtMs = now + o.ttlMs;
    const bytes = this.sizeOf(value, key);
    if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) {
      throw rangeError('sizeOf(value)', 'a finite number >= 0', bytes);
    }
    const entry: ValueEntry<V> = {
      kind: 'value',
      value,
      expiresAtMs,
      staleUntilMs: expiresAtMs + o.staleMs,
      keepUntilMs: expiresAtMs + Math.max(o.staleMs, o.staleIfErrorMs),
      deltaMs,
      bytes,
    };
    this.store.set(key, entry);
  }

  /** Negative caching: remembers a failure for `negativeTtlMs`. */
  private remember(key: string, error: unknown, o: Resolved): void {
    if (o.negativeTtlMs === 0 || this.closed) return;
    const current = this.store.peek(key);
    const previous = current?.kind === 'value' ? current : current?.previous;
    const expiresAtMs = this.clock.monotonicMs() + o.negativeTtlMs;
    assert(o.negativeTtlMs > 0, 'a failure entry expires in the future');
    this.store.set(key, {
      kind: 'failure',
      error,
      expiresAtMs,
      previous,
      bytes: previous?.bytes ?? 0,
    });
  }

  private emit<K extends keyof typeof channels>(kind: K, event: CacheEvent & { kind: K }): void {
    const ch = channels[kind];
    if (ch?.hasSubscribers === true) ch.publish(event);
    const emitter = this.emitters[kind] as unknown as Emitter<CacheEvent & { kind: K }>;
    if (emitter.size > 0) emitter.emit(event);
  }
}

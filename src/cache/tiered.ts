/**
 * Two tiers: an in-process {@link Cache} (L1) in front of a shared tier (L2, e.g. Redis) that K
 * processes read. Across the K processes a key costs **one origin call per expiry**: the process
 * that finds L2 empty takes a fenced lease on the key (a `Lock` from `faultline/coord`), reloads,
 * and writes L2 *conditionally on its token*, so a regenerator that was paused past its lease
 * cannot overwrite a newer value. The other processes wait for the tier's "set" message (or
 * recheck after `recheckMs`), then read L2. Writes and deletes are published, and every other
 * instance drops the key from its L1, unless its L1 holds that write or a newer one: messages
 * arrive on their own connection, so one may overtake or trail the read it announces, and the
 * tokens order them.
 *
 * @module
 */
import { abortReason, anySignal } from '../core/abort.js';
import { assert } from '../core/assert.js';
import type { Disposable } from '../core/events.js';
import { integerIn, nonNegative, positive, rangeError } from '../core/validate.js';
import type { Lease } from '../coord/types.js';
import type { Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { TimeoutError } from '../resilience/errors.js';
import { Cache } from './cache.js';
import type { CacheLoader, CacheOptions, GetOrLoadOptions, LoadContext } from './cache.js';
import { checkCacheKey } from './errors.js';

/** A value read from the shared tier, with the TTL it has left there (the tier's clock). */
export interface RemoteHit<V> {
  readonly value: V;
  readonly remainingMs: number;
  /**
   * The fencing token of the write that stored it. Absent when the tier does not know: then every
   * change another instance announces drops the value from L1.
   */
  readonly token?: bigint;
}

/** What a shared tier publishes to every instance. `from` is the writer's instance id. */
export interface RemoteMessage {
  readonly kind: 'set' | 'delete';
  readonly key: string;
  readonly from: string;
  /** A `set`'s fencing token; absent when unknown (then it is taken as newer than anything). */
  readonly token?: bigint;
}

/** Reads of one load that a newer change may overtake before it answers without keeping. */
const MAX_OVERTAKEN = 3;

/**
 * A change of a key another instance announced while this one was reading it: the newest token, or
 * `unordered` for a delete or a write without a token (it cannot be placed before any read).
 */
type Announced = bigint | 'unordered' | undefined;

/** One running load of a key: what was announced since its last read of the shared tier. */
interface Watch {
  announced: Announced;
}

/** The token a tier reported, when it is one (a custom tier's stray value counts as none). */
function versionOf(reported: { readonly token?: bigint }): bigint | undefined {
  return typeof reported.token === 'bigint' ? reported.token : undefined;
}

function announcedBy(message: RemoteMessage): Announced {
  return (message.kind === 'set' ? versionOf(message) : undefined) ?? 'unordered';
}

function newest(a: Announced, b: Announced): Announced {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (a === 'unordered' || b === 'unordered') return 'unordered';
  return a > b ? a : b;
}

/** Whether the announced change is newer than the value written with `token`. */
function supersedes(announced: Announced, token: bigint | undefined): boolean {
  if (announced === undefined) return false;
  return announced === 'unordered' || token === undefined || announced > token;
}

/**
 * The contract of a shared second tier (`faultline/redis` implements it for Redis). Every method
 * is one atomic operation on the tier's server.
 */
export interface RemoteTier<V> {
  /** The value of `key` and its remaining TTL, or `undefined` when absent or expired. */
  get(key: string, signal?: AbortSignal): Promise<RemoteHit<V> | undefined>;
  /**
   * Stores `value` for `ttlMs` only when `token` is at least the newest token written for `key`
   * (then remembers `token`), and publishes a `set` message; answers whether it was accepted.
   */
  setFenced(
    key: string,
    value: V,
    token: bigint,
    ttlMs: number,
    from: string,
    signal?: AbortSignal,
  ): Promise<boolean>;
  /** Deletes `key` and publishes a `delete` message. */
  delete(key: string, from: string, signal?: AbortSignal): Promise<void>;
  /** Delivers every message published by any instance (including this one) to `listener`. */
  subscribe(listener: (message: RemoteMessage) => void): Promise<Disposable>;
}

/** Where regenerators take their lease: `faultline/coord`'s `Lock` fits. */
export interface LeaseSource {
  tryAcquire(
    key: string,
    options: { ttlMs: number; autoRenew?: boolean; signal?: AbortSignal },
  ): Promise<Lease | null>;
}

/** Options of a {@link TieredCache}. */
export interface TieredCacheOptions<V> extends CacheOptions<V> {
  /** The shared tier. */
  remote: RemoteTier<V>;
  /** Leases of regenerators. Their keys are `cache:<key>`. */
  lock: LeaseSource;
  /**
   * TTL of a regenerator's lease, in ms (default 10,000). It is renewed while the origin runs;
   * it bounds how long a crashed regenerator delays the others.
   */
  leaseTtlMs?: number;
  /**
   * How long a caller waits for another instance's regeneration before it fails with a
   * `TimeoutError`, in ms (default 10,000).
   */
  waitMs?: number;
  /** Upper bound between rechecks of the shared tier while waiting, in ms (default 100). */
  recheckMs?: number;
  /**
   * Upper bound on the L1 TTL, in ms (default: `ttlMs`). L1 never outlives the shared copy; a
   * lower bound shortens how long a lost invalidation message can leave this instance stale.
   */
  localTtlMs?: number;
  /** This instance's id in messages (default 64 random bits in hex). */
  instanceId?: string;
  /** Upper bound on callers waiting for other instances' regenerations (default 10,000). */
  maxWaiters?: number;
}

/**
 * A two-tier cache whose misses cost one origin call per key per expiry across every instance.
 *
 * @example
 * import { Lock } from 'faultline/coord';
 * import { RedisCacheTier, RedisLockBackend } from 'faultline/redis';
 * const cache = new TieredCache<Product>({
 *   ttlMs: 60_000,
 *   remote: new RedisCacheTier<Product>(redis),
 *   lock: new Lock(new RedisLockBackend(redis)),
 * });
 * const product = await cache.getOrLoad(`product:${id}`, (signal) => db.product(id, { signal }));
 */
export class TieredCache<V> {
  /** The in-process tier. */
  readonly local: Cache<V>;
  /** This instance's id in the shared tier's messages. */
  readonly instanceId: string;
  private readonly remote: RemoteTier<V>;
  private readonly lock: LeaseSource;
  private readonly leaseTtlMs: number;
  private readonly waitMs: number;
  private readonly recheckMs: number;
  private readonly localTtlMs: number;
  private readonly maxWaiters: number;
  private readonly runtime: Runtime;
  private readonly waiters = new Map<string, Set<() => void>>();
  /** The loads of each key running on this instance. */
  private readonly loading = new Map<string, Set<Watch>>();
  /** The fencing token of the write each L1 value came from, where the tier reports it. */
  private readonly versions = new Map<string, bigint>();
  private waiting = 0;
  private subscription: Promise<Disposable> | undefined;
  private counters = { originCalls: 0, rejectedWrites: 0 };

  constructor(options: TieredCacheOptions<V>) {
    const { remote, lock } = options;
    if (typeof remote?.get !== 'function') throw rangeError('remote', 'a RemoteTier', remote);
    if (typeof lock?.tryAcquire !== 'function') throw rangeError('lock', 'a LeaseSource', lock);
    this.remote = remote;
    this.lock = lock;
    this.leaseTtlMs = positive('leaseTtlMs', options.leaseTtlMs ?? 10_000);
    this.waitMs = nonNegative('waitMs', options.waitMs ?? 10_000);
    this.recheckMs = positive('recheckMs', options.recheckMs ?? 100);
    this.localTtlMs = positive('localTtlMs', options.localTtlMs ?? options.ttlMs ?? 60_000);
    this.maxWaiters = integerIn('maxWaiters', options.maxWaiters ?? 10_000, 1, 10_000_000);
    this.runtime = options.runtime ?? systemRuntime();
    this.instanceId = options.instanceId ?? hex(this.runtime.random.bytes(8));
    checkCacheKey(this.instanceId);
    this.local = new Cache<V>(options);
    // A value replaced by a load gets the load's version; any other way out forgets it.
    this.local.onEvict((event) => {
      if (event.reason !== 'replaced') this.versions.delete(event.key);
    });
  }

  /** Origin calls this instance made, and its fenced writes the tier rejected. */
  get stats(): { readonly originCalls: number; readonly rejectedWrites: number } {
    return { ...this.counters };
  }

  /** Subscribes to the shared tier's messages (also done by the first `getOrLoad`). */
  start(): Promise<void> {
    this.subscription ??= this.remote.subscribe((m) => this.onMessage(m));
    return this.subscription.then(() => undefined);
  }

  /** The value of `key` from L1, from L2, or from one origin call across every instance. */
  async getOrLoad(key: string, loader: CacheLoader<V>, options?: GetOrLoadOptions): Promise<V> {
    await this.start();
    return this.local.getOrLoad(
      key,
      (signal, context) => this.loadShared(key, loader, signal, context),
      options,
    );
  }

  /** Deletes `key` in both tiers; every other instance drops it from its L1. */
  async delete(key: string, signal?: AbortSignal): Promise<void> {
    this.local.delete(key);
    this.versions.delete(key);
    await this.remote.delete(key, this.instanceId, signal);
  }

  /** Unsubscribes and closes the local tier. */
  async close(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    await this.local.close();
    for (const wake of [...this.waiters.values()].flatMap((s) => [...s])) wake();
    this.versions.clear();
    if (subscription !== undefined) (await subscription.catch(() => undefined))?.dispose();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private onMessage(message: RemoteMessage): void {
    const { key } = message;
    const watches = this.loading.get(key);
    if (watches !== undefined) {
      // A load of this key is running: it weighs what it reads against this change and stores
      // the newest value. Dropping L1 now would make it forget what it reads.
      if (message.from !== this.instanceId) {
        const announced = announcedBy(message);
        for (const watch of watches) watch.announced = newest(watch.announced, announced);
      }
      const wakers = this.waiters.get(key);
      if (wakers !== undefined) for (const wake of [...wakers]) wake();
      return;
    }
    if (message.from === this.instanceId) return;
    const held = this.versions.get(key);
    // The message of the write L1 already holds (or of an older one) trailed the read: keep it.
    if (held !== undefined && !supersedes(announcedBy(message), held)) return;
    this.versions.delete(key);
    this.local.delete(key);
  }

  /**
   * L1's loader: read L2; when it is empty, regenerate under the lease or wait for who does. A read
   * that a newer change overtook (announced while it was on the wire) is read again; past the
   * wait's deadline its value is answered but not kept.
   */
  private async loadShared(
    key: string,
    loader: CacheLoader<V>,
    signal: AbortSignal,
    context: LoadContext,
  ): Promise<V> {
    const ttlMs = context.ttlMs;
    const deadline = this.runtime.clock.monotonicMs() + this.waitMs;
    const watch: Watch = { announced: undefined };
    let watches = this.loading.get(key);
    if (watches === undefined) {
      watches = new Set();
      this.loading.set(key, watches);
    }
    const mine = watches;
    mine.add(watch);
    /** Our regenerated value, when our write did not stand (refused, or overwritten meanwhile). */
    let ours: { value: V } | undefined;
    let overtaken = 0;
    /** The answer for what a read found, or `undefined` when a newer change overtook it. */
    const answer = (hit: RemoteHit<V>): { readonly value: V } | undefined => {
      if (!supersedes(watch.announced, versionOf(hit)))
        return { value: this.keep(key, hit, context) };
      const late = this.runtime.clock.monotonicMs() >= deadline;
      if (late || ++overtaken > MAX_OVERTAKEN) return { value: this.pass(key, hit.value, context) };
      return undefined;
    };
    try {
      for (;;) {
        const hit = await this.read(key, watch, signal);
        if (hit !== undefined) {
          const answered = answer(hit);
          if (answered !== undefined) return answered.value;
          continue;
        }
        if (ours !== undefined) return this.pass(key, ours.value, context);
        const lease = await this.lock.tryAcquire(`cache:${key}`, {
          ttlMs: this.leaseTtlMs,
          autoRenew: true,
          signal,
        });
        if (lease !== null) {
          try {
            // Another instance may have written between our read and our grant.
            const again = await this.read(key, watch, signal);
            if (again !== undefined) {
              const answered = answer(again);
              if (answered !== undefined) return answered.value;
              continue; // read again, without the lease
            }
            const written = await this.regenerate(key, loader, signal, context, ttlMs, lease);
            if (written.kept && !supersedes(watch.announced, lease.token)) {
              this.remember(key, lease.token);
              context.ttlMs = Math.min(this.localTtlMs, context.ttlMs);
              return written.value;
            }
            // A newer value than ours stands in the shared tier: read it and answer with that.
            ours = { value: written.value };
            continue;
          } finally {
            await lease.release();
          }
        }
        const left = deadline - this.runtime.clock.monotonicMs();
        if (left <= 0) throw new TimeoutError(this.waitMs);
        await this.waitForChange(key, Math.min(left, this.recheckMs), signal);
      }
    } finally {
      mine.delete(watch);
      if (mine.size === 0 && this.loading.get(key) === mine) this.loading.delete(key);
    }
  }

  /** Reads L2, judging the reply against what is announced from now on. */
  private read(key: string, watch: Watch, signal: AbortSignal): Promise<RemoteHit<V> | undefined> {
    watch.announced = undefined;
    return this.remote.get(key, signal);
  }

  /** Keeps `hit` in L1 for at most its remaining TTL in L2, remembering its version. */
  private keep(key: string, hit: RemoteHit<V>, context: LoadContext): V {
    const token = versionOf(hit);
    if (token === undefined) this.versions.delete(key);
    else this.remember(key, token);
    context.ttlMs = Math.max(1, Math.min(this.localTtlMs, hit.remainingMs));
    return hit.value;
  }

  /** Answers with `value` without keeping it: a newer one is on its way. */
  private pass(key: string, value: V, context: LoadContext): V {
    this.versions.delete(key);
    context.ttlMs = 1;
    return value;
  }

  /**
   * Records the version of the value a load is about to store. A load whose result L1 does not
   * store (the key was deleted meanwhile) leaves its version behind: those are pruned when they
   * outnumber L1's entries.
   */
  private remember(key: string, token: bigint): void {
    this.versions.set(key, token);
    if (this.versions.size <= 2 * this.local.size + 64) return;
    for (const k of this.versions.keys()) {
      if (k !== key && this.local.get(k) === undefined) this.versions.delete(k);
    }
  }

  /** Calls the origin under `lease` and writes L2 conditionally on its token. */
  private async regenerate(
    key: string,
    loader: CacheLoader<V>,
    signal: AbortSignal,
    context: LoadContext,
    ttlMs: number,
    lease: Lease,
  ): Promise<{ readonly value: V; readonly kept: boolean }> {
    this.counters.originCalls++;
    const both = anySignal(signal, lease.signal);
    assert(both !== undefined, 'a regeneration always has a signal');
    const value = await loader(both, context);
    const accepted = await this.remote.setFenced(
      key,
      value,
      lease.token,
      ttlMs,
      this.instanceId,
      signal,
    );
    if (!accepted) this.counters.rejectedWrites++;
    return { value, kept: accepted };
  }

  /** Resolves on a message about `key`, after `ms`, or rejects when `signal` aborts. */
  private waitForChange(key: string, ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    if (this.waiting >= this.maxWaiters) {
      throw rangeError('waiters', `at most ${this.maxWaiters}`, this.waiting + 1);
    }
    return new Promise<void>((resolve, reject) => {
      let set = this.waiters.get(key);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(key, set);
      }
      const wakers = set;
      this.waiting++;
      let done = false;
      const finish = (): void => {
        assert(!done, 'a wait finishes once');
        done = true;
        cancel();
        signal.removeEventListener('abort', onAbortEvent);
        wakers.delete(wake);
        if (wakers.size === 0 && this.waiters.get(key) === wakers) this.waiters.delete(key);
        this.waiting--;
      };
      const wake = (): void => {
        if (done) return;
        finish();
        resolve();
      };
      const onAbortEvent = (): void => {
        if (done) return;
        finish();
        reject(abortReason(signal));
      };
      const cancel = this.runtime.timers.setTimer(ms, wake);
      wakers.add(wake);
      signal.addEventListener('abort', onAbortEvent, { once: true });
    });
  }
}

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/**
 * The in-memory backends: the embedded default for one process, and the "server" of the
 * simulation tests. Expiry uses the runtime's monotonic clock as the server clock and a timer per
 * key, so waiters wake on expiry too (event-driven, no polling).
 *
 * @module
 */
import { abortReason } from '../core/abort.js';
import { assert } from '../core/assert.js';
import type { Cancel, Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { integerIn } from '../core/validate.js';
import { checkKey, checkOwner, checkTtl } from './validate.js';
import { BackendClosedError, BackendUnavailableError, TooManyWaitersError } from './errors.js';
import type {
  AcquireResult,
  BackendGuarantees,
  CallOptions,
  ExtendResult,
  Holder,
  LockBackend,
  ProclaimResult,
  SemaphoreBackend,
  SemaphoreCallOptions,
} from './types.js';

/** Options of {@link MemoryLockBackend} and {@link MemorySemaphoreBackend}. */
export interface MemoryBackendOptions {
  /** The runtime whose clock is the "server clock" and whose timers expire leases (default: system). */
  runtime?: Runtime;
  /**
   * Upper bound on keys with live state (held leases or waiters), default 100,000. A grant on a new
   * key beyond it fails with `BackendUnavailableError`, so a key leak cannot exhaust memory.
   */
  maxKeys?: number;
  /**
   * Upper bound on waiters per key (FIFO queue plus change subscriptions), default 1,000. A queued
   * acquire beyond it rejects with `TooManyWaitersError`.
   */
  maxWaitersPerKey?: number;
}

interface Permit {
  readonly token: bigint;
  /** How many of the key's permits this lease takes. */
  readonly count: number;
  expiresAtMs: number;
  /** The value its holder proclaimed last, if any. */
  value: string | undefined;
}

interface Queued {
  readonly owner: string;
  readonly ttlMs: number;
  readonly limit: number;
  readonly count: number;
  readonly resolve: (result: AcquireResult) => void;
}

interface KeyState {
  readonly permits: Map<string, Permit>;
  /** The sum of the held permits' counts. */
  used: number;
  readonly queue: Queued[];
  readonly watchers: Set<() => void>;
  cancelExpiry: Cancel | undefined;
}

/** A memory backend's guarantees: FIFO, not durable, no replication. */
const MEMORY_GUARANTEES: BackendGuarantees = Object.freeze({
  fifo: true,
  durable: false,
  consensus: false,
});

/**
 * The shared engine: a table of keys, each with up to `limit` permits. Tokens come from one
 * counter for the whole table, so they are strictly increasing per key (and across keys) without
 * keeping any per-key state after a key is free: memory stays bounded by live keys.
 */
class PermitTable {
  private readonly runtime: Runtime;
  private readonly maxKeys: number;
  private readonly maxWaiters: number;
  private readonly keys = new Map<string, KeyState>();
  private lastToken = 0n;
  private closed = false;

  constructor(options: MemoryBackendOptions) {
    this.runtime = options.runtime ?? systemRuntime();
    this.maxKeys = integerIn('maxKeys', options.maxKeys ?? 100_000, 1, 100_000_000);
    this.maxWaiters = integerIn(
      'maxWaitersPerKey',
      options.maxWaitersPerKey ?? 1_000,
      1,
      1_000_000,
    );
  }

  get size(): number {
    return this.keys.size;
  }

  tryAcquire(
    key: string,
    owner: string,
    limit: number,
    ttlMs: number,
    count: number,
  ): AcquireResult {
    const st = this.live(key, 'tryAcquire');
    const held = st.used + count > limit || st.permits.has(owner) || st.queue.length > 0;
    if (held) {
      this.forgetIfIdle(key, st);
      return { kind: 'busy', retryAfterMs: this.soonestExpiryMs(st) };
    }
    const granted = this.insert(st, owner, ttlMs, count);
    this.changed(key, st);
    return granted;
  }

  acquireQueued(
    key: string,
    owner: string,
    limit: number,
    ttlMs: number,
    count: number,
    signal: AbortSignal,
  ): Promise<AcquireResult> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    const st = this.live(key, 'acquireQueued');
    if (st.queue.length === 0 && st.used + count <= limit && !st.permits.has(owner)) {
      const granted = this.insert(st, owner, ttlMs, count);
      this.changed(key, st);
      return Promise.resolve(granted);
    }
    if (st.queue.length + st.watchers.size >= this.maxWaiters)
      throw new TooManyWaitersError(key, this.maxWaiters);
    return new Promise<AcquireResult>((resolve) => {
      const onAbort = (): void => {
        const i = st.queue.indexOf(waiter);
        if (i >= 0) st.queue.splice(i, 1);
        // The head leaving may let smaller requests behind it through.
        if (i === 0) this.changed(key, st);
        else this.forgetIfIdle(key, st);
        resolve({ kind: 'busy', retryAfterMs: undefined });
      };
      const waiter: Queued = {
        owner,
        ttlMs,
        limit,
        count,
        resolve: (result) => {
          signal.removeEventListener('abort', onAbort);
          resolve(result);
        },
      };
      st.queue.push(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  extend(key: string, owner: string, token: bigint, ttlMs: number, limit: number): ExtendResult {
    const st = this.purged(key);
    const permit = st?.permits.get(owner);
    if (st === undefined || permit === undefined || permit.token !== token) {
      const full = st !== undefined && st.used >= limit;
      return { kind: 'lost', reason: full ? 'stolen' : 'expired' };
    }
    permit.expiresAtMs = this.runtime.clock.monotonicMs() + ttlMs;
    this.armExpiry(key, st);
    return { kind: 'extended', ttlMs };
  }

  /** Stores `value` with `owner`'s unexpired permit of `token` and wakes the watchers. */
  proclaim(key: string, owner: string, token: bigint, value: string): ProclaimResult {
    const st = this.purged(key);
    const permit = st?.permits.get(owner);
    if (st === undefined || permit === undefined || permit.token !== token)
      return { kind: 'not-holder' };
    permit.value = value;
    this.changed(key, st);
    return { kind: 'proclaimed' };
  }

  release(key: string, owner: string): void {
    const st = this.purged(key);
    const permit = st?.permits.get(owner);
    if (st === undefined || permit === undefined) return;
    st.permits.delete(owner);
    st.used -= permit.count;
    this.changed(key, st);
  }

  holders(key: string): Holder[] {
    const st = this.purged(key);
    if (st === undefined) return [];
    const now = this.runtime.clock.monotonicMs();
    const list = [...st.permits].map(([owner, p]) => {
      const holder: Holder = {
        owner,
        token: p.token,
        remainingMs: p.expiresAtMs - now,
        ...(p.count === 1 ? {} : { permits: p.count }),
      };
      return p.value === undefined ? holder : { ...holder, value: p.value };
    });
    return list.sort((a, b) => (a.token < b.token ? -1 : 1));
  }

  waitForChange(key: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    const st = this.live(key, 'waitForChange');
    if (st.queue.length + st.watchers.size >= this.maxWaiters)
      throw new TooManyWaitersError(key, this.maxWaiters);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        st.watchers.delete(wake);
        this.forgetIfIdle(key, st);
        reject(abortReason(signal));
      };
      const wake = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      st.watchers.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    this.closed = true;
    for (const [key, st] of this.keys) {
      st.cancelExpiry?.();
      for (const w of st.queue.splice(0)) w.resolve({ kind: 'busy', retryAfterMs: undefined });
      for (const wake of [...st.watchers]) wake();
      this.keys.delete(key);
    }
  }

  /** Records a new permit with the next token; the caller then runs {@link PermitTable.changed}. */
  private insert(st: KeyState, owner: string, ttlMs: number, count: number): AcquireResult {
    const token = ++this.lastToken;
    assert(!st.permits.has(owner), 'an owner holds at most one lease per key');
    const expiresAtMs = this.runtime.clock.monotonicMs() + ttlMs;
    st.permits.set(owner, { token, count, expiresAtMs, value: undefined });
    st.used += count;
    return { kind: 'acquired', token, ttlMs };
  }

  /** Wakes every watcher, serves the FIFO queue while permits are free, re-arms the expiry timer. */
  private changed(key: string, st: KeyState): void {
    const watchers = [...st.watchers];
    st.watchers.clear();
    for (const wake of watchers) wake();
    // Strict FIFO: a head that does not fit blocks the smaller requests behind it (no starvation).
    while (st.queue.length > 0 && st.used + st.queue[0]!.count <= st.queue[0]!.limit) {
      const next = st.queue.shift()!;
      if (st.permits.has(next.owner)) {
        next.resolve({ kind: 'busy', retryAfterMs: undefined });
        continue;
      }
      next.resolve(this.insert(st, next.owner, next.ttlMs, next.count));
    }
    this.armExpiry(key, st);
    this.forgetIfIdle(key, st);
  }

  private armExpiry(key: string, st: KeyState): void {
    st.cancelExpiry?.();
    st.cancelExpiry = undefined;
    const soonest = this.soonestExpiryMs(st);
    if (soonest === undefined) return;
    // At least a microsecond: a timer firing a hair early must not re-arm at the same instant.
    st.cancelExpiry = this.runtime.timers.setTimer(Math.max(soonest, 0.001), () => {
      st.cancelExpiry = undefined;
      if (this.keys.get(key) === st) this.purged(key);
      if (st.cancelExpiry === undefined && st.permits.size > 0) this.armExpiry(key, st);
    });
  }

  private soonestExpiryMs(st: KeyState): number | undefined {
    let soonest = Number.POSITIVE_INFINITY;
    for (const p of st.permits.values()) soonest = Math.min(soonest, p.expiresAtMs);
    if (soonest === Number.POSITIVE_INFINITY) return undefined;
    return Math.max(0, soonest - this.runtime.clock.monotonicMs());
  }

  /** The key's state with expired permits removed (and waiters told), or undefined when idle. */
  private purged(key: string): KeyState | undefined {
    if (this.closed) throw new BackendClosedError('memory', 'call');
    const st = this.keys.get(key);
    if (st === undefined) return undefined;
    const now = this.runtime.clock.monotonicMs();
    let expired = false;
    for (const [owner, p] of st.permits) {
      if (p.expiresAtMs <= now) {
        st.permits.delete(owner);
        st.used -= p.count;
        expired = true;
      }
    }
    if (expired) this.changed(key, st);
    return this.keys.get(key);
  }

  /** Like {@link PermitTable.purged} but creates the state (within `maxKeys`). */
  private live(key: string, operation: string): KeyState {
    const existing = this.purged(key);
    if (existing !== undefined) return existing;
    if (this.keys.size >= this.maxKeys) {
      throw new BackendUnavailableError(
        operation,
        `memory backend holds maxKeys (${this.maxKeys}) keys`,
      );
    }
    const st: KeyState = {
      permits: new Map(),
      used: 0,
      queue: [],
      watchers: new Set(),
      cancelExpiry: undefined,
    };
    this.keys.set(key, st);
    return st;
  }

  private forgetIfIdle(key: string, st: KeyState): void {
    if (st.permits.size > 0 || st.queue.length > 0 || st.watchers.size > 0) return;
    st.cancelExpiry?.();
    if (this.keys.get(key) === st) this.keys.delete(key);
  }
}

function checkCall(key: string, owner: string, ttlMs?: number): void {
  checkKey('key', key);
  checkOwner('owner', owner);
  if (ttlMs !== undefined) checkTtl('ttlMs', ttlMs);
}

/** What both memory backends share: the permit table, release, waiting and close. */
abstract class MemoryBackendBase {
  readonly name = 'memory';
  readonly guarantees = MEMORY_GUARANTEES;
  protected readonly table: PermitTable;

  constructor(options: MemoryBackendOptions = {}) {
    this.table = new PermitTable(options);
  }

  /** Keys with live state (for tests of boundedness). */
  get activeKeys(): number {
    return this.table.size;
  }

  async release(key: string, owner: string, _o: CallOptions): Promise<void> {
    checkCall(key, owner);
    this.table.release(key, owner);
  }

  async waitForChange(key: string, o: CallOptions): Promise<void> {
    checkKey('key', key);
    return this.table.waitForChange(key, o.signal);
  }

  /**
   * Cancels the expiry timers, fails queued waiters as busy and wakes watchers; later calls reject
   * with `BackendClosedError`.
   */
  close(): Promise<void> {
    this.table.close();
    return Promise.resolve();
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * An in-process {@link LockBackend}: FIFO queueing, expiry on the runtime's clock, bounded keys and
 * waiters. It coordinates the tasks of one process only and loses everything on exit.
 *
 * @example
 * const lock = new Lock(new MemoryLockBackend());
 * const lease = await lock.acquire('report', { ttlMs: 30_000 });
 */
export class MemoryLockBackend extends MemoryBackendBase implements LockBackend {
  async tryAcquire(
    key: string,
    owner: string,
    ttlMs: number,
    _o: CallOptions,
  ): Promise<AcquireResult> {
    checkCall(key, owner, ttlMs);
    return this.table.tryAcquire(key, owner, 1, ttlMs, 1);
  }

  async acquireQueued(
    key: string,
    owner: string,
    ttlMs: number,
    o: CallOptions,
  ): Promise<AcquireResult> {
    checkCall(key, owner, ttlMs);
    return this.table.acquireQueued(key, owner, 1, ttlMs, 1, o.signal);
  }

  async extend(
    key: string,
    owner: string,
    token: bigint,
    ttlMs: number,
    _o: CallOptions,
  ): Promise<ExtendResult> {
    checkCall(key, owner, ttlMs);
    return this.table.extend(key, owner, token, ttlMs, 1);
  }

  async holder(key: string, _o: CallOptions): Promise<Holder | null> {
    checkKey('key', key);
    return this.table.holders(key)[0] ?? null;
  }

  async proclaim(
    key: string,
    owner: string,
    token: bigint,
    value: string,
    _o: CallOptions,
  ): Promise<ProclaimResult> {
    checkCall(key, owner);
    return this.table.proclaim(key, owner, token, value);
  }
}

/**
 * An in-process {@link SemaphoreBackend}: up to `limit` permits per key, each with its own fencing
 * token, expiring on the runtime's clock.
 *
 * @example
 * const pool = new Semaphore(new MemorySemaphoreBackend(), { permits: 4 });
 * await using permit = await pool.acquire('db-connections', { ttlMs: 5_000 });
 */
export class MemorySemaphoreBackend extends MemoryBackendBase implements SemaphoreBackend {
  /** One lease may take several permits (`permits` in the call options). */
  readonly multiPermit = true;

  async tryAcquire(
    key: string,
    owner: string,
    limit: number,
    ttlMs: number,
    o: SemaphoreCallOptions,
  ): Promise<AcquireResult> {
    checkCall(key, owner, ttlMs);
    return this.table.tryAcquire(key, owner, checkLimit(limit), ttlMs, permitCount(o, limit));
  }

  /** Waits in the key's FIFO queue (see {@link SemaphoreBackend.acquireQueued}). */
  async acquireQueued(
    key: string,
    owner: string,
    limit: number,
    ttlMs: number,
    o: SemaphoreCallOptions,
  ): Promise<AcquireResult> {
    checkCall(key, owner, ttlMs);
    const count = permitCount(o, checkLimit(limit));
    return this.table.acquireQueued(key, owner, limit, ttlMs, count, o.signal);
  }

  async extend(
    key: string,
    owner: string,
    token: bigint,
    ttlMs: number,
    _o: CallOptions,
  ): Promise<ExtendResult> {
    checkCall(key, owner, ttlMs);
    return this.table.extend(key, owner, token, ttlMs, Number.POSITIVE_INFINITY);
  }

  async holders(key: string, _o: CallOptions): Promise<readonly Holder[]> {
    checkKey('key', key);
    return this.table.holders(key);
  }
}

function checkLimit(limit: number): number {
  return integerIn('limit', limit, 1, 1_000_000);
}

/** The validated `permits` of a semaphore call: an integer in [1, limit], default 1. */
function permitCount(o: SemaphoreCallOptions, limit: number): number {
  return integerIn('permits', o.permits ?? 1, 1, limit);
}

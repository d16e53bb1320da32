/**
 * The fenced lock client: validation, waiting and lease lifecycle over any {@link LockBackend}.
 *
 * @module
 */
import { checkSignal, throwIfAborted } from '../core/abort.js';
import { AbortedError } from '../core/errors.js';
import { systemRuntime } from '../core/system.js';
import { rangeError } from '../core/validate.js';
import type { AcquireParams } from './acquire.js';
import { WaiterCount, acquireWithWait, lockTarget, tryAcquireOnce } from './acquire.js';
import type { Interrupt, ResolvedClientOptions } from './call.js';
import {
  InterruptScope,
  callWithDeadline,
  checkBackendKey,
  checkTtl,
  checkWait,
  resolveClientOptions,
} from './call.js';
import type { LeaseHandle } from './lease.js';
import type {
  AcquireOptions,
  ClientOptions,
  HolderInfo,
  Lease,
  LeaseCallback,
  LockBackend,
} from './types.js';
import { checkCallback, holderInfo, runWithLease } from './with.js';
import { checkValidity } from './validity.js';

/** Validates per-call acquire options into loop parameters (RangeError naming the field). */
export function acquireParams(
  options: AcquireOptions,
  client: ResolvedClientOptions,
  scope: ClientScope,
  extra: { renewEveryMs?: number; maxValidityMs?: number; ownerSuffix?: string } = {},
): AcquireParams {
  if (typeof options !== 'object' || options === null)
    throw rangeError('options', 'an object', options);
  const ttlMs = checkValidity('ttlMs', client, checkTtl('ttlMs', options.ttlMs));
  const waitMs = checkWait('waitMs', options.waitMs ?? Number.POSITIVE_INFINITY);
  const autoRenew = options.autoRenew ?? false;
  if (typeof autoRenew !== 'boolean') throw rangeError('autoRenew', 'a boolean', autoRenew);
  const signal = checkSignal('signal', options.signal);
  return {
    ttlMs,
    waitMs,
    stop: scope.link(signal),
    renewEveryMs: extra.renewEveryMs ?? (autoRenew ? ttlMs / 3 : undefined),
    maxValidityMs: extra.maxValidityMs,
    ownerSuffix: extra.ownerSuffix,
  };
}

/** Leases a client tracks before its first sweep of expired ones. */
const MIN_SWEEP = 64;

/**
 * Tracks the leases and waits of one client so `close()` can end them all. Its interruption is an
 * {@link InterruptScope}, not an `AbortSignal`: every call and wait in flight registers in a `Set`
 * rather than adding a listener to one shared signal.
 */
export class ClientScope {
  private readonly interrupt = new InterruptScope();
  private readonly leases = new Set<LeaseHandle>();
  private sweepAt = MIN_SWEEP;

  /** The caller's signal combined with the client's own interruption (fired by `close()`). */
  link(caller: AbortSignal | undefined): Interrupt {
    return this.interrupt.link(caller);
  }

  get closed(): boolean {
    return this.interrupt.interrupted;
  }

  /**
   * Remembers `lease` until it ends. A lease nobody observes has no deadline timer, so one that
   * expires unreleased is dropped by a sweep when the set has doubled since the last one (each
   * lease's `valid` checks its deadline): the set stays within twice the live leases, amortized O(1).
   */
  track<T extends LeaseHandle>(lease: T): T {
    if (this.leases.size >= this.sweepAt) {
      for (const held of [...this.leases]) void held.valid;
      this.sweepAt = Math.max(MIN_SWEEP, this.leases.size * 2);
    }
    this.leases.add(lease);
    lease.whenEnded(() => this.leases.delete(lease));
    return lease;
  }

  /** Aborts every wait and releases every lease of the client. */
  async close(): Promise<void> {
    this.interrupt.interrupt(new AbortedError('the client was closed'));
    await Promise.all([...this.leases].map((lease) => lease.release()));
  }
}

/**
 * A fenced lock over a {@link LockBackend}. Every lease carries a fencing token that increases
 * with every grant of the key; pass it to the storage you protect (see `fence.ts`).
 *
 * @example
 * const lock = new Lock(new MemoryLockBackend());
 * await using lease = await lock.acquire('jobs/42', { ttlMs: 10_000, waitMs: 5_000, autoRenew: true });
 * await store.write('jobs/42', lease.token, result); // rejected if a newer holder already wrote
 */
export class Lock {
  /** The backend this client talks to. */
  readonly backend: LockBackend;
  private readonly options: ResolvedClientOptions;
  private readonly waiters: WaiterCount;
  private readonly scope = new ClientScope();

  constructor(backend: LockBackend, options: ClientOptions = {}) {
    if (typeof backend !== 'object' || backend === null)
      throw rangeError('backend', 'a LockBackend', backend);
    this.backend = backend;
    this.options = resolveClientOptions(options, systemRuntime);
    this.waiters = new WaiterCount(this.options.maxWaiters);
  }

  /** Callers currently waiting in {@link Lock.acquire}. */
  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Acquires `key`, waiting (event-driven) up to `waitMs`. Rejects with `LockTimeoutError` when the
   * wait ends, `TooManyWaitersError` at the waiter bound, or the signal's reason on abort.
   */
  async acquire(key: string, options: AcquireOptions): Promise<Lease> {
    checkBackendKey(this.backend, 'key', key);
    const params = acquireParams(options, this.options, this.scope);
    const lease = await acquireWithWait(
      this.options,
      lockTarget(this.backend, key),
      params,
      this.waiters,
    );
    return this.scope.track(lease);
  }

  /** One attempt: the lease, or `null` when the key is held. `waitMs` is ignored. */
  async tryAcquire(key: string, options: AcquireOptions): Promise<Lease | null> {
    checkBackendKey(this.backend, 'key', key);
    const params = acquireParams(options, this.options, this.scope);
    const lease = await tryAcquireOnce(this.options, lockTarget(this.backend, key), params);
    return lease === null ? null : this.scope.track(lease);
  }

  /**
   * Acquires `key` (as {@link Lock.acquire}), runs `fn` with the lease and releases it when `fn`
   * returns or throws; resolves or rejects as `fn` did. Pass `lease.signal` to the work and
   * `lease.token` to the storage: the lease may be lost while `fn` runs.
   *
   * @example
   * const report = await lock.with('reports/42', { ttlMs: 10_000, autoRenew: true }, (lease) =>
   *   buildReport({ signal: lease.signal, fencingToken: lease.token }),
   * );
   */
  with<T>(key: string, options: AcquireOptions, fn: LeaseCallback<T>): Promise<T> {
    try {
      checkCallback('fn', fn);
    } catch (error) {
      return Promise.reject(error);
    }
    return runWithLease(this.acquire(key, options), fn);
  }

  /**
   * Who holds `key` now according to the backend (its token and the time left), or `null`. The
   * holder's owner id is not reported: it is the holder's secret.
   */
  async holder(key: string, signal?: AbortSignal): Promise<HolderInfo | null> {
    checkBackendKey(this.backend, 'key', key);
    throwIfAborted(checkSignal('signal', signal));
    const holder = await callWithDeadline(
      this.options.runtime,
      'holder',
      this.options.callTimeoutMs,
      signal,
      (o) => this.backend.holder(key, o),
    );
    return holder === null ? null : holderInfo(holder);
  }

  /** Aborts every pending acquire and releases every lease this client holds. */
  close(): Promise<void> {
    return this.scope.close();
  }

  /** Same as {@link Lock.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * The fenced lock client: validation, waiting and lease lifecycle over any {@link LockBackend}.
 *
 * @module
 */
import { checkSignal, throwIfAborted } from '../core/abort.js';
import { systemRuntime } from '../core/system.js';
import { acquireWithWait, tryAcquireOnce } from './acquire.js';
import { ClientLockBackend } from './client-backend.js';
import { LOCK_CHANNELS, observed, tracedAcquire } from './diagnostics.js';
import type { ResolvedClientOptions } from './options.js';
import { acquireParams, resolveClientOptions } from './options.js';
import { ClientScope, WaiterCount } from './scope.js';
import { LeaseEvents } from './events.js';
import type { LeaseHandle } from './lease.js';
import type { AcquireFailureEvent, LeaseEvent, LeaseLostEvent } from './events.js';
import type { Disposable, Listener } from '../core/events.js';
import type {
  AcquireOptions,
  ClientOptions,
  HolderInfo,
  Lease,
  LeaseCallback,
  LockBackend,
} from './types.js';
import { LOCK_BACKEND_METHODS, checkBackend, checkBackendKey } from './validate.js';
import { checkCallback, holderInfo, runWithLease } from './with.js';

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
  /** The backend with this client's deadlines applied to every call. */
  private readonly client: ClientLockBackend;
  private readonly waiters: WaiterCount;
  private readonly scope = new ClientScope();
  private readonly events = new LeaseEvents('lock');

  constructor(backend: LockBackend, options: ClientOptions = {}) {
    checkBackend(backend, 'LockBackend', LOCK_BACKEND_METHODS);
    this.backend = backend;
    this.options = resolveClientOptions(options, systemRuntime);
    this.client = new ClientLockBackend(backend, this.options);
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
  acquire(key: string, options: AcquireOptions): Promise<Lease> {
    const channels = LOCK_CHANNELS;
    if (!observed(channels.acquire, channels.lost)) return this.acquireLease(key, options);
    return tracedAcquire(channels, channels.acquire, this, key, () =>
      this.acquireLease(key, options),
    );
  }

  /** One attempt: the lease, or `null` when the key is held. `waitMs` is ignored. */
  tryAcquire(key: string, options: AcquireOptions): Promise<Lease | null> {
    const channels = LOCK_CHANNELS;
    if (!observed(channels.tryAcquire, channels.lost)) return this.tryAcquireLease(key, options);
    return tracedAcquire(channels, channels.tryAcquire, this, key, () =>
      this.tryAcquireLease(key, options),
    );
  }

  /** Calls `listener` each time this client obtains a lease (`acquire`, `tryAcquire`, `with`). */
  onAcquired(listener: Listener<LeaseEvent>): Disposable {
    return this.events.onAcquired(listener);
  }

  /** Calls `listener` each time a lease of this client is released (`release()`, `with`, `close()`). */
  onReleased(listener: Listener<LeaseEvent>): Disposable {
    return this.events.onReleased(listener);
  }

  /**
   * Calls `listener` each time a lease of this client ends by loss (expired, stolen, unreachable). A
   * lease obtained while a listener is registered has its deadline watched, so its loss is reported
   * when it happens.
   */
  onLost(listener: Listener<LeaseLostEvent>): Disposable {
    return this.events.onLost(listener);
  }

  /** Calls `listener` each time an `acquire` or `tryAcquire` rejects (a busy `tryAcquire` is not a failure). */
  onFailure(listener: Listener<AcquireFailureEvent>): Disposable {
    return this.events.onFailure(listener);
  }

  private track<L extends LeaseHandle>(lease: L): L {
    this.scope.track(lease, this.events.ended);
    this.events.obtained(lease);
    return lease;
  }

  /** (A `then`, not an async frame: every acquire comes through here.) */
  private acquireLease(key: string, options: AcquireOptions): Promise<Lease> {
    let waited: Promise<LeaseHandle>;
    try {
      checkBackendKey(this.backend, 'key', key);
      const params = acquireParams(options, this.options, this.scope);
      waited = acquireWithWait(this.options, this.client.target(key), params, this.waiters);
    } catch (error) {
      this.events.failure(key, error);
      return Promise.reject(error as Error);
    }
    return waited.then(
      (lease) => this.track(lease),
      (error: unknown) => {
        this.events.failure(key, error);
        throw error;
      },
    );
  }

  private async tryAcquireLease(key: string, options: AcquireOptions): Promise<Lease | null> {
    try {
      checkBackendKey(this.backend, 'key', key);
      const params = acquireParams(options, this.options, this.scope);
      const lease = await tryAcquireOnce(this.options, this.client.target(key), params);
      return lease === null ? null : this.track(lease);
    } catch (error) {
      this.events.failure(key, error);
      throw error;
    }
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
    const holder = await this.client.holder(key, signal);
    return holder === null ? null : holderInfo(holder);
  }

  /** Aborts every pending acquire and releases every lease this client holds. */
  async close(): Promise<void> {
    await this.scope.close();
    this.client.close();
  }

  /** Same as {@link Lock.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

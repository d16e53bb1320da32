/**
 * The fenced counting semaphore client over any {@link SemaphoreBackend}.
 *
 * @module
 */
import { checkSignal, throwIfAborted } from '../core/abort.js';
import { systemRuntime } from '../core/system.js';
import { integerIn, rangeError } from '../core/validate.js';
import { acquireWithWait, tryAcquireOnce } from './acquire.js';
import { ClientSemaphoreBackend } from './client-backend.js';
import { SEMAPHORE_CHANNELS, observed, tracedAcquire } from './diagnostics.js';
import type { ResolvedClientOptions } from './options.js';
import { acquireParams, resolveClientOptions } from './options.js';
import { ClientScope, WaiterCount } from './scope.js';
import { LeaseEvents } from './events.js';
import type { LeaseHandle } from './lease.js';
import type { AcquireFailureEvent, LeaseEvent, LeaseLostEvent } from './events.js';
import type { Disposable, Listener } from '../core/events.js';
import { SEMAPHORE_BACKEND_METHODS, checkBackend, checkBackendKey } from './validate.js';
import type {
  HolderInfo,
  Lease,
  LeaseCallback,
  SemaphoreAcquireOptions,
  SemaphoreBackend,
  SemaphoreOptions,
} from './types.js';
import { checkCallback, holderInfo, runWithLease } from './with.js';

/**
 * A semaphore of `permits` permits per key. Each lease takes one permit (or `permits: k` of them,
 * all or none) and has its own fencing token (strictly increasing per key across all leases),
 * expiring on the server's clock. On a backend with a server-side queue (memory, Redis,
 * PostgreSQL) waiters are served in arrival order.
 *
 * @example
 * const pool = new Semaphore(new MemorySemaphoreBackend(), { permits: 3 });
 * await using permit = await pool.acquire('exports', { ttlMs: 60_000, autoRenew: true });
 * await runExport({ signal: permit.signal });
 */
export class Semaphore {
  /** The backend this client talks to. */
  readonly backend: SemaphoreBackend;
  /** Permits per key. */
  readonly permits: number;
  private readonly options: ResolvedClientOptions;
  /** The backend with this client's deadlines applied to every call. */
  private readonly client: ClientSemaphoreBackend;
  private readonly waiters: WaiterCount;
  private readonly scope = new ClientScope();
  private readonly events = new LeaseEvents('semaphore');

  constructor(backend: SemaphoreBackend, options: SemaphoreOptions) {
    checkBackend(backend, 'SemaphoreBackend', SEMAPHORE_BACKEND_METHODS);
    if (typeof options !== 'object' || options === null)
      throw rangeError('options', 'an object', options);
    this.backend = backend;
    this.permits = integerIn('permits', options.permits, 1, 1_000_000);
    this.options = resolveClientOptions(options, systemRuntime);
    this.client = new ClientSemaphoreBackend(backend, this.permits, this.options);
    this.waiters = new WaiterCount(this.options.maxWaiters);
  }

  /** Callers currently waiting in {@link Semaphore.acquire}. */
  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Acquires `options.permits` (default 1) permits of `key` as one lease, all at once, waiting
   * (event-driven; in arrival order on a FIFO backend) up to `waitMs`.
   *
   * @example
   * // A big export takes 3 of the 8 slots; small jobs take 1. On a FIFO backend the big one keeps
   * // its place in the queue: the small ones behind it wait, so it is not starved.
   * await using slots = await pool.acquire('exports', { ttlMs: 60_000, permits: 3 });
   */
  acquire(key: string, options: SemaphoreAcquireOptions): Promise<Lease> {
    const channels = SEMAPHORE_CHANNELS;
    if (!observed(channels.acquire, channels.lost)) return this.acquirePermit(key, options);
    return tracedAcquire(channels, channels.acquire, this, key, () =>
      this.acquirePermit(key, options),
    );
  }

  /** One attempt: a lease of `options.permits` (default 1) permits, or `null` when they do not fit. */
  tryAcquire(key: string, options: SemaphoreAcquireOptions): Promise<Lease | null> {
    const channels = SEMAPHORE_CHANNELS;
    if (!observed(channels.tryAcquire, channels.lost)) return this.tryAcquirePermit(key, options);
    return tracedAcquire(channels, channels.tryAcquire, this, key, () =>
      this.tryAcquirePermit(key, options),
    );
  }

  /** Calls `listener` each time this client obtains a permit (`acquire`, `tryAcquire`, `with`). */
  onAcquired(listener: Listener<LeaseEvent>): Disposable {
    return this.events.onAcquired(listener);
  }

  /** Calls `listener` each time a permit of this client is released (`release()`, `with`, `close()`). */
  onReleased(listener: Listener<LeaseEvent>): Disposable {
    return this.events.onReleased(listener);
  }

  /**
   * Calls `listener` each time a permit of this client ends by loss (expired, stolen, unreachable). A
   * permit obtained while a listener is registered has its deadline watched, so its loss is reported
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

  private async acquirePermit(key: string, options: SemaphoreAcquireOptions): Promise<Lease> {
    try {
      checkBackendKey(this.backend, 'key', key);
      const count = this.count(options);
      const params = acquireParams(options, this.options, this.scope);
      return this.track(
        await acquireWithWait(this.options, this.client.target(key, count), params, this.waiters),
      );
    } catch (error) {
      this.events.failure(key, error);
      throw error;
    }
  }

  private async tryAcquirePermit(
    key: string,
    options: SemaphoreAcquireOptions,
  ): Promise<Lease | null> {
    try {
      checkBackendKey(this.backend, 'key', key);
      const count = this.count(options);
      const params = acquireParams(options, this.options, this.scope);
      const lease = await tryAcquireOnce(this.options, this.client.target(key, count), params);
      return lease === null ? null : this.track(lease);
    } catch (error) {
      this.events.failure(key, error);
      throw error;
    }
  }

  /** The validated permit count of one acquire: an integer in [1, `permits`], above 1 only on a multi-permit backend. */
  private count(options: SemaphoreAcquireOptions): number {
    if (typeof options !== 'object' || options === null)
      throw rangeError('options', 'an object', options);
    const count = options.permits ?? 1;
    integerIn('permits', count, 1, this.permits);
    if (count > 1 && this.backend.multiPermit !== true) {
      throw rangeError(
        'permits',
        `1 (the ${this.backend.name} backend takes one permit per lease)`,
        count,
      );
    }
    return count;
  }

  /**
   * Acquires a permit of `key` (as {@link Semaphore.acquire}), runs `fn` with it and releases it
   * when `fn` returns or throws; resolves or rejects as `fn` did.
   *
   * @example
   * await pool.with('exports', { ttlMs: 60_000, autoRenew: true }, (permit) =>
   *   runExport({ signal: permit.signal }),
   * );
   */
  with<T>(key: string, options: SemaphoreAcquireOptions, fn: LeaseCallback<T>): Promise<T> {
    try {
      checkCallback('fn', fn);
    } catch (error) {
      return Promise.reject(error);
    }
    return runWithLease(this.acquire(key, options), fn);
  }

  /** The unexpired permits of `key`, by token (without their owner ids: those are the holders' secrets). */
  async holders(key: string, signal?: AbortSignal): Promise<readonly HolderInfo[]> {
    checkBackendKey(this.backend, 'key', key);
    throwIfAborted(checkSignal('signal', signal));
    const holders = await this.client.holders(key, signal);
    return holders.map(holderInfo);
  }

  /** Aborts every pending acquire and releases every permit this client holds. */
  async close(): Promise<void> {
    await this.scope.close();
    this.client.close();
  }

  /** Same as {@link Semaphore.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

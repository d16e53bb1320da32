/**
 * The fenced counting semaphore client over any {@link SemaphoreBackend}.
 *
 * @module
 */
import { checkSignal, throwIfAborted } from '../core/abort.js';
import { systemRuntime } from '../core/system.js';
import { integerIn, rangeError } from '../core/validate.js';
import type { AcquireTarget } from './acquire.js';
import { WaiterCount, acquireWithWait, tryAcquireOnce } from './acquire.js';
import type { ResolvedClientOptions } from './call.js';
import { callWithDeadline, checkBackendKey, resolveClientOptions } from './call.js';
import { ClientScope, acquireParams } from './lock.js';
import type {
  AcquireOptions,
  HolderInfo,
  Lease,
  LeaseCallback,
  SemaphoreBackend,
  SemaphoreOptions,
} from './types.js';
import { checkCallback, holderInfo, runWithLease } from './with.js';

/**
 * A semaphore of `permits` leases per key. Each permit is a {@link Lease} with its own fencing
 * token (strictly increasing per key across all permits), expiring on the server's clock.
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
  private readonly waiters: WaiterCount;
  private readonly scope = new ClientScope();

  constructor(backend: SemaphoreBackend, options: SemaphoreOptions) {
    if (typeof backend !== 'object' || backend === null) {
      throw rangeError('backend', 'a SemaphoreBackend', backend);
    }
    if (typeof options !== 'object' || options === null)
      throw rangeError('options', 'an object', options);
    this.backend = backend;
    this.permits = integerIn('permits', options.permits, 1, 1_000_000);
    this.options = resolveClientOptions(options, systemRuntime);
    this.waiters = new WaiterCount(this.options.maxWaiters);
  }

  /** Callers currently waiting in {@link Semaphore.acquire}. */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Acquires one permit of `key`, waiting (event-driven) up to `waitMs`. */
  async acquire(key: string, options: AcquireOptions): Promise<Lease> {
    checkBackendKey(this.backend, 'key', key);
    const params = acquireParams(options, this.options, this.scope);
    return this.scope.track(
      await acquireWithWait(this.options, this.target(key), params, this.waiters),
    );
  }

  /** One attempt: a permit, or `null` when all are held. */
  async tryAcquire(key: string, options: AcquireOptions): Promise<Lease | null> {
    checkBackendKey(this.backend, 'key', key);
    const params = acquireParams(options, this.options, this.scope);
    const lease = await tryAcquireOnce(this.options, this.target(key), params);
    return lease === null ? null : this.scope.track(lease);
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
  with<T>(key: string, options: AcquireOptions, fn: LeaseCallback<T>): Promise<T> {
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
    const holders = await callWithDeadline(
      this.options.runtime,
      'holders',
      this.options.callTimeoutMs,
      signal,
      (o) => this.backend.holders(key, o),
    );
    return holders.map(holderInfo);
  }

  /** Aborts every pending acquire and releases every permit this client holds. */
  close(): Promise<void> {
    return this.scope.close();
  }

  /** Same as {@link Semaphore.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private target(key: string): AcquireTarget {
    const b = this.backend;
    return {
      key,
      attempt: (owner, ttlMs, o) => b.tryAcquire(key, owner, this.permits, ttlMs, o),
      queues: false,
      queue: (owner, ttlMs, o) => b.tryAcquire(key, owner, this.permits, ttlMs, o),
      tryBeforeQueue: false,
      keepsQueuePlace: false,
      waitForChange: (o) => b.waitForChange(key, o),
      ops: (owner) => ({
        extend: (token, ttlMs, o) => b.extend(key, owner, token, ttlMs, o),
        release: (o) => b.release(key, owner, o),
      }),
    };
  }
}

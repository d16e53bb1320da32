/**
 * An in-process lock manager with exclusive locks, FIFO wait queues, a wait-for graph checked on
 * every wait, lock-wait timeouts, and a helper that acquires in a global order (which can never
 * deadlock).
 *
 * Victim choice: the transaction whose request closes the cycle is the victim (as in PostgreSQL,
 * where the backend that runs the check after `deadlock_timeout` aborts itself), unless
 * `victim: 'youngest'` picks the most recently begun transaction on the cycle — the one that has
 * done the least work, so the cheapest to redo.
 *
 * @module
 */
import { assert } from '../core/assert.js';
import type { Cancel, Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { integerIn, nonEmptyString, positive, rangeError } from '../core/validate.js';
import { DeadlockError, LockWaitTimeoutError } from './errors.js';
import { WaitForGraph } from './graph.js';

/** Options of a {@link LockManager}. */
export interface LockManagerOptions {
  /** `requester` (default) or `youngest`; see the module comment. */
  readonly victim?: 'requester' | 'youngest';
  /** Waiters per resource at most (default 1,000); more throws a RangeError. */
  readonly maxWaiters?: number;
  readonly runtime?: Runtime;
}

interface Waiter {
  readonly txn: string;
  resolve(): void;
  reject(error: unknown): void;
  cancelTimer: Cancel | undefined;
}

interface Lock {
  holder: string;
  readonly queue: Waiter[];
}

/**
 * Exclusive locks with deadlock detection.
 *
 * @example
 * const locks = new LockManager();
 * try {
 *   await locks.acquire('t1', 'accounts/1', { timeoutMs: 5000 });
 *   await locks.acquire('t1', 'accounts/2', { timeoutMs: 5000 });
 * } catch (e) {
 *   if (isDeadlockError(e)) retryLater();
 * } finally {
 *   locks.releaseAll('t1');
 * }
 */
export class LockManager {
  private readonly locks = new Map<string, Lock>();
  private readonly held = new Map<string, Set<string>>();
  private readonly began = new Map<string, number>();
  private readonly graph = new WaitForGraph();
  private readonly victim: 'requester' | 'youngest';
  private readonly maxWaiters: number;
  private readonly runtime: Runtime;
  private order = 0;
  /** Deadlocks found so far. */
  deadlocks = 0;

  constructor(options: LockManagerOptions = {}) {
    const victim = options.victim ?? 'requester';
    if (victim !== 'requester' && victim !== 'youngest')
      throw rangeError('victim', 'requester or youngest', victim);
    this.victim = victim;
    this.maxWaiters = integerIn('maxWaiters', options.maxWaiters ?? 1000, 1, 1_000_000);
    this.runtime = options.runtime ?? systemRuntime();
  }

  /** The transaction holding `resource`, if any. */
  holderOf(resource: string): string | undefined {
    return this.locks.get(resource)?.holder;
  }

  /** The current wait-for edges, `[waiter, holder]`. */
  waitsFor(): [string, string][] {
    return this.graph.edges();
  }

  /**
   * Acquires `resource` for `txn` (re-entrant). Rejects with {@link DeadlockError} when `txn` is
   * chosen as a deadlock victim, {@link LockWaitTimeoutError} after `timeoutMs`.
   */
  acquire(txn: string, resource: string, options: { timeoutMs?: number } = {}): Promise<void> {
    nonEmptyString('txn', txn);
    nonEmptyString('resource', resource);
    if (options.timeoutMs !== undefined) positive('timeoutMs', options.timeoutMs);
    if (!this.began.has(txn)) this.began.set(txn, this.order++);
    const lock = this.locks.get(resource);
    if (lock === undefined || lock.holder === txn) {
      if (lock === undefined) this.grant(txn, resource);
      return Promise.resolve();
    }
    if (lock.queue.length >= this.maxWaiters)
      throw rangeError(
        `waiters of ${resource}`,
        `at most ${this.maxWaiters}`,
        lock.queue.length + 1,
      );
    assert(!lock.queue.some((w) => w.txn === txn), `${txn} already waits for ${resource}`);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { txn, resolve, reject, cancelTimer: undefined };
      lock.queue.push(waiter);
      this.graph.addEdge(txn, lock.holder);
      if (options.timeoutMs !== undefined) {
        const ms = options.timeoutMs;
        waiter.cancelTimer = this.runtime.timers.setTimer(ms, () =>
          this.abandon(resource, waiter, new LockWaitTimeoutError(txn, resource, ms)),
        );
      }
      this.detect(txn);
    });
  }

  /** Acquires every resource in one global (sorted) order: no two callers can wait in a cycle. */
  async acquireOrdered(
    txn: string,
    resources: readonly string[],
    options: { timeoutMs?: number } = {},
  ): Promise<void> {
    for (const r of [...new Set(resources)].sort()) await this.acquire(txn, r, options);
  }

  /** Releases `resource` held by `txn`; the first waiter gets it. */
  release(txn: string, resource: string): void {
    const lock = this.locks.get(resource);
    if (lock === undefined || lock.holder !== txn) return;
    this.held.get(txn)?.delete(resource);
    for (const w of lock.queue) this.graph.removeEdge(w.txn, txn);
    const next = lock.queue.shift();
    if (next === undefined) {
      this.locks.delete(resource);
      return;
    }
    next.cancelTimer?.();
    this.graph.clearWaits(next.txn);
    lock.holder = next.txn;
    this.addHeld(next.txn, resource);
    for (const w of lock.queue) this.graph.addEdge(w.txn, next.txn);
    next.resolve();
  }

  /** Releases everything `txn` holds and forgets it (commit or abort). */
  releaseAll(txn: string): void {
    for (const r of [...(this.held.get(txn) ?? [])]) this.release(txn, r);
    this.held.delete(txn);
    this.began.delete(txn);
  }

  private detect(txn: string): void {
    const cycle = this.graph.cycleThrough(txn);
    if (cycle === undefined) return;
    this.deadlocks++;
    let victim = txn;
    if (this.victim === 'youngest')
      for (const t of cycle)
        if ((this.began.get(t) ?? 0) > (this.began.get(victim) ?? 0)) victim = t;
    const at = cycle.indexOf(victim);
    const rotated = [...cycle.slice(at), ...cycle.slice(0, at)];
    for (const [resource, lock] of this.locks) {
      const w = lock.queue.find((x) => x.txn === victim);
      if (w !== undefined) return this.abandon(resource, w, new DeadlockError(victim, rotated));
    }
  }

  private abandon(resource: string, waiter: Waiter, error: Error): void {
    const lock = this.locks.get(resource);
    const i = lock?.queue.indexOf(waiter) ?? -1;
    if (lock === undefined || i < 0) return;
    lock.queue.splice(i, 1);
    waiter.cancelTimer?.();
    this.graph.clearWaits(waiter.txn);
    waiter.reject(error);
  }

  private grant(txn: string, resource: string): void {
    this.locks.set(resource, { holder: txn, queue: [] });
    this.addHeld(txn, resource);
  }

  private addHeld(txn: string, resource: string): void {
    let set = this.held.get(txn);
    if (set === undefined) this.held.set(txn, (set = new Set()));
    set.add(resource);
  }
}

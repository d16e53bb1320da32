/**
 * What one client tracks so that `close()` ends everything it started: its abort scope (every wait
 * and call in flight listens to it), its held leases, and the bound on its waiters.
 *
 * @module
 */
import type { AbortScopeLike } from '../core/abort.js';
import { AbortScope, SlotBag } from '../core/abort.js';
import { assert } from '../core/assert.js';
import { AbortedError } from '../core/errors.js';
import { TooManyWaitersError } from './errors.js';
import type { LeaseEnding, LeaseHandle } from './lease.js';

/** Leases a client tracks before its first sweep of expired ones. */
const MIN_SWEEP = 64;

/**
 * Tracks the leases and waits of one client so `close()` can end them all. Its abort is an
 * {@link AbortScope}, not an `AbortSignal`: every call and wait in flight registers in a `Set`
 * rather than adding a listener to one shared signal.
 */
export class ClientScope {
  private readonly scope = new AbortScope();
  private readonly leases = new SlotBag<LeaseHandle>();
  private sweepAt = MIN_SWEEP;

  /** The caller's signal combined with the client's own abort (fired by `close()`). */
  link(caller: AbortSignal | undefined): AbortScopeLike {
    return this.scope.link(caller);
  }

  get closed(): boolean {
    return this.scope.aborted;
  }

  /**
   * Remembers `lease` until it ends. A lease nobody observes has no deadline timer, so one that
   * expires unreleased is dropped by a sweep when the set has doubled since the last one (each
   * lease's `valid` checks its deadline): the set stays within twice the live leases, amortized O(1).
   */
  track<T extends LeaseHandle>(
    lease: T,
    ended?: (lease: LeaseHandle, ending: LeaseEnding) => void,
  ): T {
    if (this.leases.size >= this.sweepAt) {
      for (const held of this.leases.values()) void held.valid;
      this.sweepAt = Math.max(MIN_SWEEP, this.leases.size * 2);
    }
    const untrack = this.leases.add(lease);
    lease.whenEnded((ending) => {
      untrack();
      ended?.(lease, ending);
    });
    return lease;
  }

  /** Aborts every wait and releases every lease of the client. */
  async close(): Promise<void> {
    this.scope.abort(new AbortedError('the client was closed'));
    await Promise.all(this.leases.values().map((lease) => lease.release()));
  }
}

/** Counts the waiters of one client so their number stays bounded. */
export class WaiterCount {
  private count = 0;
  constructor(private readonly max: number) {}

  /**
   * Registers a waiter or throws {@link TooManyWaitersError}; every successful `enter` is paired
   * with exactly one {@link WaiterCount.leave} (a `finally`).
   */
  enter(key: string): void {
    if (this.count >= this.max) throw new TooManyWaitersError(key, this.max);
    this.count++;
  }

  /** A waiter registered by {@link WaiterCount.enter} left. */
  leave(): void {
    assert(this.count > 0, 'leave() without enter()');
    this.count--;
  }

  get size(): number {
    return this.count;
  }
}

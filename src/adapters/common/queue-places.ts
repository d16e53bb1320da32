/**
 * Queue places kept across the chunks of one wait, for backends that say `keepsQueuePlace` (Redis,
 * etcd).
 *
 * @module
 */
import type { Cancel, Timers } from '../../core/runtime.js';
import { QUEUE_PLACE_GRACE_MS } from '../../coord/types.js';

/**
 * The bookkeeping of queued waits per owner. The shared client cuts a long wait into chunks with
 * the same owner; each chunk is one `acquireQueued` call whose signal aborts at the chunk's end,
 * and the next chunk may begin before the previous call has returned. So:
 * - a wait that aborted leaves the queue only after {@link QUEUE_PLACE_GRACE_MS}, and not at all when
 *   the same owner begins waiting again first;
 * - only an owner's latest call may leave or give anything back: an older chunk ending late must
 *   not remove the entry (or the grant) its successor is using.
 */
export class QueuePlaces {
  /** The ticket of each owner's latest call, while it runs. */
  private readonly latest = new Map<string, number>();
  /** Pending leaves by owner: cancel, and the leave itself (for `flush`). */
  private readonly leaving = new Map<string, { cancel: Cancel; leave: () => void }>();

  constructor(private readonly timers: Timers) {}

  /** A call of `owner` begins: its pending leave is cancelled. Returns the call's ticket. */
  begin(owner: string): number {
    const pending = this.leaving.get(owner);
    if (pending !== undefined) {
      this.leaving.delete(owner);
      pending.cancel();
    }
    const ticket = (this.latest.get(owner) ?? 0) + 1;
    this.latest.set(owner, ticket);
    return ticket;
  }

  /** True while `ticket` is the latest call of `owner`. */
  isLatest(owner: string, ticket: number): boolean {
    return this.latest.get(owner) === ticket;
  }

  /** The call with `ticket` ended (in a `finally`). */
  end(owner: string, ticket: number): void {
    if (this.latest.get(owner) === ticket) this.latest.delete(owner);
  }

  /**
   * Runs `leave` after the grace unless `owner` begins again first; does nothing when `ticket` is
   * not the owner's latest call (its successor has the place).
   */
  leaveLater(owner: string, ticket: number, leave: () => void): void {
    if (!this.isLatest(owner, ticket)) return;
    this.leaving.get(owner)?.cancel();
    const cancel = this.timers.setTimer(QUEUE_PLACE_GRACE_MS, () => {
      this.leaving.delete(owner);
      leave();
    });
    this.leaving.set(owner, { cancel, leave });
  }

  /** Cancels every pending leave, running each at once when `run` is true (on close). */
  flush(run: boolean): void {
    const pending = [...this.leaving.values()];
    this.leaving.clear();
    for (const p of pending) {
      p.cancel();
      if (run) p.leave();
    }
  }
}

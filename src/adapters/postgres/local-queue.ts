/**
 * An in-process FIFO of the queued waiters of each key, for the PostgreSQL lease-table backend:
 * only the head of a key's queue talks to the server (tries, waits for the key's NOTIFY, tries
 * again); the others wait here without a statement or a wake-up. A release then costs one retry
 * per process instead of one per waiter (the thundering herd of `bench lost-update`, case
 * `faultline/fenced-lock`: 200 waiters in one process each retried on every release).
 *
 * @module
 */
import { abortReason } from '../../core/abort.js';
import { TooManyWaitersError } from '../../coord/errors.js';

interface Turn {
  /** Set while the turn waits behind others: makes it the head. */
  start: (() => void) | undefined;
  left: boolean;
}

/** The per-key FIFO queues of one backend, bounded in total by `maxWaiters`. */
export class LocalQueues {
  private readonly queues = new Map<string, Turn[]>();
  private count = 0;

  constructor(private readonly maxWaiters: number) {}

  /** Waiters queued now, over all keys. */
  get size(): number {
    return this.count;
  }

  /**
   * Resolves with `leave` once the caller heads `key`'s queue (at once when the queue is empty);
   * rejects with the signal's reason on abort (having left the queue), and with
   * {@link TooManyWaitersError} beyond `maxWaiters`. Call `leave` exactly when done (idempotent):
   * the next waiter becomes the head.
   */
  enter(key: string, signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    if (this.count >= this.maxWaiters)
      return Promise.reject(new TooManyWaitersError(key, this.maxWaiters));
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = [];
      this.queues.set(key, queue);
    }
    const q = queue;
    const turn: Turn = { start: undefined, left: false };
    this.count++;
    q.push(turn);
    const leave = (): void => {
      if (turn.left) return;
      turn.left = true;
      this.count--;
      const i = q.indexOf(turn);
      if (i >= 0) q.splice(i, 1);
      if (q.length === 0) {
        if (this.queues.get(key) === q) this.queues.delete(key);
      } else if (i === 0) {
        q[0]!.start?.();
      }
    };
    if (q.length === 1) return Promise.resolve(leave);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        leave();
        reject(abortReason(signal));
      };
      turn.start = () => {
        turn.start = undefined;
        signal.removeEventListener('abort', onAbort);
        resolve(leave);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

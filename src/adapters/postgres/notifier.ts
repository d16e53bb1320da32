/**
 * Event-driven waiting on PostgreSQL: one connection per backend LISTENs on the backend's channel
 * (payload: the key that changed) and wakes the waiters of that key.
 *
 * @module
 */
import type { Notification, Pool, PoolClient } from 'pg';
import { abortReason, raceAbort } from '../../core/abort.js';
import { BackendClosedError, TooManyWaitersError } from '../../coord/errors.js';
import { BoundedMap } from '../common/bounded-map.js';

/**
 * The listening side. `mark(key)` is called when a statement about `key` is sent; a later `wait(key)`
 * returns at once if a notification for `key` arrived since, so a release that lands between the
 * caller's attempt and its wait is not missed (once the listener is connected).
 */
export class Notifier {
  private connection: Promise<PoolClient> | undefined;
  private readonly waiters = new Map<string, Set<() => void>>();
  private count = 0;
  private seq = 0;
  private readonly notified = new BoundedMap<string, number>(10_000);
  private readonly marked = new BoundedMap<string, { seq: number; epoch: number }>(10_000);
  /** Incremented each time a LISTEN connection becomes ready; notifications before it may be lost. */
  private epoch = 0;
  private closed = false;
  private dropCurrent: () => void = () => undefined;

  constructor(
    private readonly pool: Pool,
    private readonly channel: string,
    private readonly maxWaiters: number,
  ) {}

  /** Records that a statement about `key` is being sent now. */
  mark(key: string): void {
    this.marked.set(key, { seq: this.seq, epoch: this.epoch });
    // Start listening early, so the wait that usually follows finds the connection ready.
    if (!this.closed) this.listen().catch(() => undefined);
  }

  /**
   * Resolves on the next notification for `key` (or at once when one arrived since the last
   * `mark`), and on any trouble with the listening connection (spurious, the caller rechecks).
   * Rejects with the signal's reason on abort.
   */
  async wait(key: string, signal: AbortSignal): Promise<void> {
    if (this.count >= this.maxWaiters) throw new TooManyWaitersError(key, this.maxWaiters);
    this.count++;
    try {
      await raceAbort(this.listen(), signal);
      const mark = this.marked.get(key);
      // The listener (re)connected after the caller's statement: a notification may have been
      // missed in between, so wake at once (spuriously at worst) and let the caller recheck.
      if (mark !== undefined && mark.epoch !== this.epoch) return;
      if (mark !== undefined && (this.notified.get(key) ?? -1) > mark.seq) return;
      await this.park(key, signal);
    } finally {
      this.count--;
    }
  }

  /** Releases the listening connection and wakes every waiter. */
  async close(): Promise<void> {
    this.closed = true;
    const pending = this.connection;
    this.connection = undefined;
    this.wakeAll();
    await pending?.catch(() => undefined);
    // Destroying the connection ends its LISTEN; it never goes back to the pool.
    this.dropCurrent();
  }

  private park(key: string, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let set = this.waiters.get(key);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(key, set);
      }
      const waiters = set;
      const wake = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        waiters.delete(wake);
        if (waiters.size === 0 && this.waiters.get(key) === waiters) this.waiters.delete(key);
        reject(abortReason(signal));
      };
      if (signal.aborted) {
        reject(abortReason(signal));
        return;
      }
      waiters.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private listen(): Promise<PoolClient> {
    if (this.closed) return Promise.reject(new BackendClosedError('postgres', 'waitForChange'));
    this.connection ??= this.connect();
    return this.connection;
  }

  private async connect(): Promise<PoolClient> {
    const client = await this.pool.connect().catch((error: unknown) => {
      this.connection = undefined;
      throw error;
    });
    let dropped = false;
    const drop = (): void => {
      if (dropped) return;
      dropped = true;
      client.removeListener('notification', onNotification);
      client.removeListener('error', drop);
      client.removeListener('end', drop);
      // A late error of the destroyed connection must still have a listener.
      client.on('error', () => undefined);
      if (this.connection !== undefined) this.connection = undefined;
      client.release(true);
      this.wakeAll();
    };
    const onNotification = (message: Notification): void => {
      if (message.channel !== this.channel || message.payload === undefined) return;
      this.seq++;
      this.notified.set(message.payload, this.seq);
      this.wake(message.payload);
    };
    client.on('notification', onNotification);
    // Keep an error listener for the connection's whole life: an unhandled 'error' would crash.
    client.on('error', drop);
    client.on('end', drop);
    this.dropCurrent = drop;
    try {
      await client.query(`LISTEN ${this.channel}`);
    } catch (error) {
      drop();
      throw error;
    }
    this.epoch++;
    return client;
  }

  private wake(key: string): void {
    const set = this.waiters.get(key);
    if (set === undefined) return;
    this.waiters.delete(key);
    for (const wake of set) wake();
  }

  private wakeAll(): void {
    const all = [...this.waiters.values()];
    this.waiters.clear();
    for (const set of all) for (const wake of set) wake();
  }
}

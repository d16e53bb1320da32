/**
 * Write coalescing on the Redis socket. The first command of an event-loop turn is written at once;
 * the following ones (many concurrent locks answered by one read) are held in the socket's buffer
 * (`cork`) and written together, at most {@link MAX_BATCH} at a time and at the end of the turn
 * (`process.nextTick`). A socket write costs a system call that, on loopback, also does the
 * receiver's network work, so under concurrency this halves the client's CPU per operation. Only a
 * single-connection ioredis client that is connected is corked; a `Cluster` is left alone.
 *
 * Benchmark cases served: `bench locks`, `uncontended-par50` and `hot-key/*` (many operations in
 * flight on one connection).
 *
 * @module
 */

/** The part of a socket the runner corks: Node's `Writable.cork()` / `uncork()`. */
interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * Most commands one corked batch holds before it is written. Replies to a batch come back
 * together; a smaller batch lets Redis start on the first commands while this process still
 * issues the next ones, a larger one saves more system calls.
 */
export const MAX_BATCH = 16;

/** The corking state of one client's socket. */
export class CorkedWrites {
  /** The socket corked in this turn, if any. */
  private corked: Corkable | undefined;
  /** A command was already written in this turn (an end-of-turn callback is scheduled). */
  private turn = false;
  /** Commands held in the current batch. */
  private batched = 0;

  constructor(private readonly client: object) {}

  private readonly endTurn = (): void => {
    this.turn = false;
    const corked = this.corked;
    if (corked === undefined) return;
    this.corked = undefined;
    corked.uncork();
  };

  /** Decides, before a command is written, whether it goes out now or with the turn's batch. */
  beforeWrite(): void {
    const corked = this.corked;
    if (corked !== undefined) {
      if (this.batched < MAX_BATCH) {
        this.batched++;
        return;
      }
      // The batch is full: write it, and start the next one with this command.
      this.batched = 1;
      corked.uncork();
      corked.cork();
      return;
    }
    if (!this.turn) {
      // The first command of the turn: written at once, so a lone call waits for nothing.
      this.turn = true;
      // Not a timer: the end of this turn's synchronous work, for real sockets only (a simulated
      // run never talks to Redis). The one sanctioned use of nextTick under src/.
      // eslint-disable-next-line no-restricted-properties
      process.nextTick(this.endTurn);
      return;
    }
    const c = this.client as { status?: unknown; stream?: Partial<Corkable> };
    const stream = c.status === 'ready' ? c.stream : undefined;
    if (typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return;
    this.corked = stream as Corkable;
    this.batched = 1;
    stream.cork();
  }
}

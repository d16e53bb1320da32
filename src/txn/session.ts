/**
 * Session consistency over a primary and asynchronous replicas: read-your-writes and monotonic
 * reads with a session token (the highest log position the session wrote or read), and sticky
 * sessions by key hash as the simple alternative. The policy is backend-neutral:
 * `PostgresReadRouter` (`faultline/postgres`) positions are WAL LSNs; the lab's are log indexes.
 *
 * @module
 */
import type { Runtime } from '../core/runtime.js';
import { hashString32 } from '../core/random.js';
import { systemRuntime } from '../core/system.js';
import { nonNegative, positive, rangeError } from '../core/validate.js';

/**
 * What a session has seen: the highest log position of its writes and reads. A read may be served
 * by a server only once that server has applied the log up to it.
 */
export class SessionToken {
  private value: bigint;

  constructor(position: bigint = 0n) {
    if (typeof position !== 'bigint' || position < 0n)
      throw rangeError('position', 'a bigint >= 0', position);
    this.value = position;
  }

  /** The highest position seen. */
  get position(): bigint {
    return this.value;
  }

  /** Remembers `position` (after a write's commit, or the position a read was served at). */
  observe(position: bigint): void {
    if (position > this.value) this.value = position;
  }

  /** The token as text, to carry across requests (a cookie, a header): `pos:<hex>`. */
  toString(): string {
    return `pos:${this.value.toString(16)}`;
  }

  /** Parses {@link SessionToken.toString}'s text; a malformed one throws a RangeError naming it. */
  static parse(text: string): SessionToken {
    const match = typeof text === 'string' ? /^pos:([0-9a-f]{1,16})$/.exec(text) : null;
    if (match === null) throw rangeError('token', 'pos:<1 to 16 hex digits>', text);
    return new SessionToken(BigInt(`0x${match[1] ?? '0'}`));
  }
}

/** What a server answers to a session's read. */
export type ServedRead<R> =
  /** The server has applied the log up to the token: `value` is the read, at `position`. */
  | { readonly kind: 'read'; readonly value: R; readonly position: bigint }
  /** The server is behind the token (it applied only up to `position`); nothing was read. */
  | { readonly kind: 'behind'; readonly position: bigint };

/**
 * Reads on `target` for a session that has seen `token`: checks the server's applied position
 * (in the same snapshot as the read, where the backend allows) and reads only when it is at least
 * the token.
 */
export type ReadOn<T, R> = (
  target: T,
  token: bigint,
  signal: AbortSignal,
) => Promise<ServedRead<R>>;

/** Options of a {@link SessionRouter}. */
export interface SessionRouterOptions<T> {
  /** The primary: always up to date for its own writes. */
  primary: T;
  /** The replicas, tried in turn from a rotating start. */
  replicas: readonly T[];
  /**
   * How long a read may wait for some replica to catch up before it goes to the primary, in ms
   * (default 0: at once). Waiting spares the primary at the cost of read latency.
   */
  maxWaitMs?: number;
  /** Pause between rounds over the replicas while waiting, in ms (default 10). */
  pollMs?: number;
  runtime?: Runtime;
}

/** Where a read was served. */
export interface RoutedRead<R> {
  readonly value: R;
  /** `primary`, or the replica's index in `replicas`. */
  readonly servedBy: 'primary' | number;
  /** Replicas that were behind the token on the way. */
  readonly behind: number;
}

/**
 * Routes a session's reads: to a replica that has applied the session's token, else (after
 * waiting up to `maxWaitMs`) to the primary. Each read raises the token to the position it was
 * served at, which gives monotonic reads; each write raises it to the write's commit position,
 * which gives read-your-writes.
 *
 * @example
 * const router = new SessionRouter({ primary, replicas, maxWaitMs: 20 });
 * const session = new SessionToken();
 * session.observe(await write(primary));          // the commit's log position
 * const { value } = await router.read(session, readOn);
 */
export class SessionRouter<T> {
  private readonly primary: T;
  private readonly replicas: readonly T[];
  private readonly maxWaitMs: number;
  private readonly pollMs: number;
  private readonly runtime: Runtime;
  private next = 0;
  /** Reads served by a replica, and by the primary. */
  readonly served = { replica: 0, primary: 0 };

  constructor(options: SessionRouterOptions<T>) {
    this.primary = options.primary;
    if (!Array.isArray(options.replicas))
      throw rangeError('replicas', 'an array', options.replicas);
    this.replicas = [...options.replicas];
    this.maxWaitMs = nonNegative('maxWaitMs', options.maxWaitMs ?? 0);
    this.pollMs = positive('pollMs', options.pollMs ?? 10);
    this.runtime = options.runtime ?? systemRuntime();
  }

  /** Reads for `session` with `readOn`, and raises the session's token to the read's position. */
  async read<R>(
    session: SessionToken,
    readOn: ReadOn<T, R>,
    signal: AbortSignal = new AbortController().signal,
  ): Promise<RoutedRead<R>> {
    const token = session.position;
    const startMs = this.runtime.clock.monotonicMs();
    let behind = 0;
    for (;;) {
      for (let i = 0; i < this.replicas.length; i++) {
        const index = (this.next + i) % this.replicas.length;
        const served = await readOn(this.replicas[index] as T, token, signal);
        if (served.kind === 'read') {
          this.next = (index + 1) % this.replicas.length;
          session.observe(served.position);
          this.served.replica++;
          return { value: served.value, servedBy: index, behind };
        }
        behind++;
      }
      const waitedMs = this.runtime.clock.monotonicMs() - startMs;
      if (this.replicas.length === 0 || waitedMs + this.pollMs > this.maxWaitMs) break;
      await this.runtime.timers.sleep(this.pollMs, signal);
    }
    const served = await readOn(this.primary, token, signal);
    if (served.kind !== 'read')
      throw new RangeError(
        `the primary is behind the session token (${served.position} < ${token})`,
      );
    session.observe(served.position);
    this.served.primary++;
    return { value: served.value, servedBy: 'primary', behind };
  }

  /**
   * The simple alternative: the replica a key always reads from (by hash). It gives monotonic
   * reads for as long as that replica lives, but not read-your-writes.
   */
  stickyReplica(key: string): T {
    if (this.replicas.length === 0) return this.primary;
    return this.replicas[hashString32(key) % this.replicas.length] as T;
  }
}

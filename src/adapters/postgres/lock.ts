/**
 * The PostgreSQL lease-table lock backend: one row per key, expiry on the server's clock
 * (`clock_timestamp()`), tokens from a sequence, LISTEN/NOTIFY to wake waiters, and an in-process
 * FIFO so that only one waiter per key and process retries on each release.
 *
 * @module
 */
import { waitFor } from '../../core/abort.js';
import type {
  AcquireResult,
  BackendGuarantees,
  CallOptions,
  ExtendResult,
  Holder,
  LockBackend,
} from '../../coord/types.js';
import { FaultlineError } from '../../core/errors.js';
import { BackendClosedError } from '../../coord/errors.js';
import { PostgresBackendBase, settle, unavailable } from './base.js';
import type { PostgresLockBackendOptions } from './base.js';
import type { SchemaNames } from './schema.js';
import { LocalQueues } from './local-queue.js';

export type { PostgresLockBackendOptions } from './base.js';

const GUARANTEES: BackendGuarantees = Object.freeze({
  fifo: false,
  durable: true,
  consensus: false,
});

/**
 * Longest pause of a queued waiter between two attempts, in ms: it bounds what a lost NOTIFY costs
 * (an expiry sends none; a busy answer's remaining TTL usually comes first).
 */
const QUEUED_RECHECK_MS = 1_000;

/** `$3` milliseconds after the server's current clock reading. */
const EXPIRY = `clock_timestamp() + make_interval(secs => $3::float8 / 1000)`;
/** Milliseconds left on the server's clock, rounded up. */
const REMAINING = `greatest(0, ceil(extract(epoch FROM (expires_at - clock_timestamp())) * 1000))::float8`;

/**
 * A {@link LockBackend} on a PostgreSQL table.
 *
 * - Expiry: the server's clock decides (`clock_timestamp()` at the statement), never the client's.
 * - Tokens: `nextval` of one sequence, taken while the row is locked, so strictly increasing per key
 *   (and across keys) through expiries, releases and restarts. Released rows stay (expired, at the epoch) so a key's
 *   next grant always goes through the row lock.
 * - Waiting: `waitForChange` listens on one LISTEN connection per backend; release and acquire send
 *   a NOTIFY with the key (delivered on commit). An expiry sends nothing: a fallback timer
 *   (`retryAfterMs`, the holder's remaining TTL, at most 1 s) covers it.
 * - Queued waits (`acquireQueued`): the waiters of one key in this process form a FIFO; only its
 *   head tries, waits for the key's NOTIFY (or the fallback timer) and tries again, so a release
 *   wakes one waiter per process, not every waiter (no thundering herd). The head leaves the queue
 *   when it is granted or gives up, and the next waiter takes over.
 * - No FIFO across processes: the fastest process wins. Use {@link PostgresAdvisoryLockBackend}
 *   for a server-side queue.
 *
 * @example
 * import pg from 'pg';
 * import { PostgresLockBackend } from 'faultline/postgres';
 * const backend = new PostgresLockBackend({ pool: new pg.Pool({ connectionString }) });
 * await backend.ensureSchema();
 * // hand `backend` to faultline/coord's Lock or Election; close it on shutdown:
 * await backend.close();
 */
export class PostgresLockBackend extends PostgresBackendBase implements LockBackend {
  readonly name = 'postgres';
  readonly guarantees = GUARANTEES;
  private readonly sql: ReturnType<typeof statements>;
  private readonly queues: LocalQueues;
  private closed = false;

  constructor(options: PostgresLockBackendOptions) {
    super(options);
    this.sql = statements(this.names);
    this.queues = new LocalQueues(this.maxWaiters);
  }

  /** Queued waits in this process now, heads included (for tests of the queue). */
  get queuedWaiters(): number {
    return this.queues.size;
  }

  /**
   * Waits in this process's FIFO for `key`, then tries until granted: after each `busy` it waits
   * for the key's NOTIFY, at most the holder's remaining TTL or `QUEUED_RECHECK_MS`. Answers
   * `busy` when the signal aborts (a grant that raced with it is given back).
   */
  async acquireQueued(
    key: string,
    owner: string,
    ttlMs: number,
    options: CallOptions,
  ): Promise<AcquireResult> {
    const { signal } = options;
    let leave: (() => void) | undefined;
    try {
      leave = await this.queues.enter(key, signal);
      for (;;) {
        if (this.closed) throw new BackendClosedError('postgres', 'acquireQueued');
        const result = await this.tryAcquire(key, owner, ttlMs, options);
        if (result.kind === 'acquired') {
          if (!signal.aborted) return result;
          this.giveBack(key, owner);
          return { kind: 'busy', retryAfterMs: undefined };
        }
        await this.pause(key, result.retryAfterMs, signal);
      }
    } catch (error) {
      if (signal.aborted) return { kind: 'busy', retryAfterMs: undefined };
      throw error;
    } finally {
      leave?.();
    }
  }

  async tryAcquire(
    key: string,
    owner: string,
    ttlMs: number,
    options: CallOptions,
  ): Promise<AcquireResult> {
    this.notifier.mark(key);
    const rows = await this.query<{ token: string | null; remaining_ms: number | null }>(
      'tryAcquire',
      this.sql.acquire,
      [key, owner, ttlMs, this.names.channel],
      options.signal,
      (late) => {
        // A grant nobody will use: give it back now instead of leaving it to its TTL.
        if (late[0]?.token != null) this.giveBack(key, owner);
      },
    );
    const row = rows[0];
    if (row?.token !== null && row?.token !== undefined)
      return { kind: 'acquired', token: BigInt(row.token), ttlMs };
    return { kind: 'busy', retryAfterMs: row?.remaining_ms ?? undefined };
  }

  async extend(
    key: string,
    owner: string,
    token: bigint,
    ttlMs: number,
    options: CallOptions,
  ): Promise<ExtendResult> {
    const rows = await this.query<{ extended: boolean; stolen: boolean | null }>(
      'extend',
      this.sql.extend,
      [key, owner, ttlMs, String(token)],
      options.signal,
    );
    const row = rows[0];
    if (row?.extended === true) return { kind: 'extended', ttlMs };
    return { kind: 'lost', reason: row?.stolen === true ? 'stolen' : 'expired' };
  }

  async release(key: string, owner: string, options: CallOptions): Promise<void> {
    await this.query('release', this.sql.release, [key, owner, this.names.channel], options.signal);
  }

  async holder(key: string, options: CallOptions): Promise<Holder | null> {
    this.notifier.mark(key);
    const rows = await this.query<{ owner: string; token: string; remaining_ms: number }>(
      'holder',
      this.sql.holder,
      [key],
      options.signal,
    );
    const row = rows[0];
    return row === undefined
      ? null
      : { owner: row.owner, token: BigInt(row.token), remainingMs: row.remaining_ms };
  }

  /** Ends queued waits (they reject with `BackendClosedError`) and the LISTEN connection. */
  override close(): Promise<void> {
    this.closed = true;
    return super.close();
  }

  /** Releases `owner`'s grant of `key` in the background (nobody will use it). */
  private giveBack(key: string, owner: string): void {
    this.pool.query(this.sql.release, [key, owner, this.names.channel]).catch(() => undefined);
  }

  /**
   * The queue head's wait between two attempts: the key's NOTIFY, or `retryAfterMs` (capped at
   * `QUEUED_RECHECK_MS`) since an expiry sends none. Rejects with the reason on abort.
   */
  private async pause(
    key: string,
    retryAfterMs: number | undefined,
    stop: AbortSignal,
  ): Promise<void> {
    const ms = Math.max(1, Math.min(retryAfterMs ?? QUEUED_RECHECK_MS, QUEUED_RECHECK_MS));
    const inner = new AbortController();
    let failure: { error: unknown } | undefined;
    // A wait that fails (closed backend, no LISTEN connection, too many waiters) ends the pause and
    // the queued wait with it: retrying at once would spin.
    const wake = this.notifier.wait(key, inner.signal).catch((error: unknown) => {
      if (!inner.signal.aborted) failure = { error };
    });
    const { timers } = this.runtime;
    try {
      await waitFor((delay, fn) => timers.setTimer(delay, fn), ms, { stop, wake });
    } finally {
      inner.abort();
    }
    if (failure !== undefined) {
      const { error } = failure;
      if (error instanceof FaultlineError) throw error;
      throw unavailable('acquireQueued', error);
    }
  }

  private async query<R>(
    operation: string,
    text: string,
    values: unknown[],
    signal: AbortSignal,
    onLate?: (rows: R[]) => void,
  ): Promise<R[]> {
    // A statement may still complete after the caller gave up; `onLate` lets the caller undo it.
    const late =
      onLate === undefined ? undefined : (r: { rows: unknown[] }) => onLate(r.rows as R[]);
    const result = await settle(operation, this.pool.query(text, values), signal, late);
    return result.rows as R[];
  }
}

/** Every statement, each a single atomic round trip. */
function statements(n: SchemaNames) {
  return {
    // The row lock of ON CONFLICT serialises contenders; nextval in SET runs after it is taken, so a
    // new token is larger than every token committed before. The busy branch reports the holder's
    // remaining TTL (the statement's snapshot sees the row as it was).
    acquire: `
      WITH granted AS (
        INSERT INTO ${n.leases} AS l (key, owner, token, expires_at)
        VALUES ($1, $2, nextval('${n.sequence}'), ${EXPIRY})
        ON CONFLICT (key) DO UPDATE
          SET owner = EXCLUDED.owner, token = nextval('${n.sequence}'), expires_at = ${EXPIRY}
          WHERE l.expires_at <= clock_timestamp()
        RETURNING token
      ), notified AS (
        SELECT pg_notify($4, $1) FROM granted
      )
      SELECT (SELECT token::text FROM granted) AS token,
             (SELECT count(*) FROM notified) AS notified,
             (SELECT ${REMAINING} FROM ${n.leases} WHERE key = $1) AS remaining_ms`,
    extend: `
      WITH extended AS (
        UPDATE ${n.leases} SET expires_at = ${EXPIRY}
        WHERE key = $1 AND owner = $2 AND token = $4::bigint AND expires_at > clock_timestamp()
        RETURNING 1
      )
      SELECT EXISTS (SELECT 1 FROM extended) AS extended,
             (SELECT expires_at > clock_timestamp() FROM ${n.leases} WHERE key = $1) AS stolen`,
    release: `
      WITH released AS (
        UPDATE ${n.leases} SET expires_at = 'epoch'
        WHERE key = $1 AND owner = $2 AND expires_at > clock_timestamp()
        RETURNING key
      )
      SELECT count(pg_notify($3, key)) FROM released`,
    holder: `
      SELECT owner, token::text AS token, ${REMAINING} AS remaining_ms
      FROM ${n.leases} WHERE key = $1 AND expires_at > clock_timestamp()`,
  };
}

/**
 * The session-bound PostgreSQL lock backend: `pg_advisory_lock` on a dedicated connection per held
 * lock, with the session's own idle timeout as the server-side TTL.
 *
 * @module
 */
import type { PoolClient } from 'pg';
import { raceAbort } from '../../core/abort.js';
import { integerIn } from '../../core/validate.js';
import { TooManyWaitersError } from '../../coord/errors.js';
import type {
  AcquireResult,
  BackendGuarantees,
  CallOptions,
  ExtendResult,
  Holder,
  LockBackend,
} from '../../coord/types.js';
import { PostgresBackendBase, settle, unavailable } from './base.js';
import type { PostgresLockBackendOptions } from './base.js';

/** Options of {@link PostgresAdvisoryLockBackend}. */
export interface PostgresAdvisoryLockBackendOptions extends PostgresLockBackendOptions {
  /**
   * Upper bound on locks held (or queued for) at once through this backend (default 100). Each
   * holds one pool connection for its whole life, so keep it below the pool's size. An attempt
   * beyond it rejects with `TooManyWaitersError`.
   */
  maxHeld?: number;
}

const GUARANTEES: BackendGuarantees = Object.freeze({
  fifo: true,
  durable: false,
  consensus: false,
});

/** The 64-bit advisory lock id of a key (PostgreSQL's `hashtextextended`, seed 0). */
const LOCK_ID = 'hashtextextended($1, 0)';

interface Held {
  readonly connection: PoolClient;
  readonly token: bigint;
  /** Set once the connection failed or ended: the session, and so the lock, is gone. */
  dead: boolean;
  /** Our 'error' listener on the connection (a checked-out pg client without one would crash). */
  readonly onError: () => void;
}

/**
 * A {@link LockBackend} on PostgreSQL advisory locks: the lock belongs to a database session, so it
 * ends when the session ends (the holder's process dies, its connection breaks, or the server
 * restarts).
 *
 * - TTL on the server's clock: the holder's session runs with `idle_session_timeout = ttlMs`
 *   (PostgreSQL 14+), so a holder that stops talking (paused, partitioned) is disconnected by the
 *   server after `ttlMs`, which releases its lock. `extend` is a statement on that session (which
 *   resets the idle clock) and sets the timeout again.
 * - Tokens: `nextval` of the schema's sequence, taken after the lock was granted.
 * - Queueing: `acquireQueued` waits in PostgreSQL's lock queue (`pg_advisory_lock`), first come
 *   first served; an abort cancels the waiting statement with `pg_cancel_backend`.
 * - Only the process that acquired a lock can extend or release it (it owns the session).
 * - Not durable: a server restart ends every session and so every lock (tokens stay monotonic: the
 *   sequence is durable).
 *
 * @example
 * const backend = new PostgresAdvisoryLockBackend({ pool });
 * await backend.ensureSchema();
 */
export class PostgresAdvisoryLockBackend extends PostgresBackendBase implements LockBackend {
  readonly name = 'postgres-advisory';
  readonly guarantees = GUARANTEES;
  private readonly maxHeld: number;
  private readonly held = new Map<string, Held>();
  private busyConnections = 0;

  constructor(options: PostgresAdvisoryLockBackendOptions) {
    super(options);
    this.maxHeld = integerIn('maxHeld', options.maxHeld ?? 100, 1, 100_000);
  }

  tryAcquire(
    key: string,
    owner: string,
    ttlMs: number,
    options: CallOptions,
  ): Promise<AcquireResult> {
    this.notifier.mark(key);
    return this.withConnection(
      'tryAcquire',
      key,
      owner,
      options.signal,
      async (connection) => {
        const res = await connection.query<{ ok: boolean }>(
          `SELECT pg_try_advisory_lock(${LOCK_ID}) AS ok`,
          [key],
        );
        return res.rows[0]?.ok === true;
      },
      ttlMs,
    );
  }

  acquireQueued(
    key: string,
    owner: string,
    ttlMs: number,
    options: CallOptions,
  ): Promise<AcquireResult> {
    return this.withConnection(
      'acquireQueued',
      key,
      owner,
      options.signal,
      async (connection, pid) => {
        const cancel = (): void => {
          this.pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
        };
        options.signal.addEventListener('abort', cancel, { once: true });
        try {
          await connection.query(`SELECT pg_advisory_lock(${LOCK_ID})`, [key]);
          return true;
        } finally {
          options.signal.removeEventListener('abort', cancel);
        }
      },
      ttlMs,
    );
  }

  async extend(
    key: string,
    owner: string,
    token: bigint,
    ttlMs: number,
    options: CallOptions,
  ): Promise<ExtendResult> {
    const held = this.held.get(heldKey(key, owner));
    if (held === undefined || held.token !== token || held.dead) {
      if (held !== undefined) this.forget(key, owner, true);
      const now = await this.holder(key, options);
      return { kind: 'lost', reason: now !== null && now.token !== token ? 'stolen' : 'expired' };
    }
    try {
      const res = await raceAbort(
        held.connection.query<{ held: boolean }>(
          `WITH cfg AS (SELECT set_config('idle_session_timeout', $2, false))
           UPDATE ${this.names.holders} SET renewed_at = clock_timestamp(), ttl_ms = $3
           FROM cfg WHERE key = $1 AND pid = pg_backend_pid()
           RETURNING EXISTS (SELECT 1 FROM pg_locks WHERE ${lockMatch('pg_backend_pid()')}) AS held`,
          [key, String(Math.ceil(ttlMs)), ttlMs],
        ),
        options.signal,
      );
      if (res.rows[0]?.held === true) return { kind: 'extended', ttlMs };
      this.forget(key, owner, true);
      return { kind: 'lost', reason: 'expired' };
    } catch (error) {
      if (held.dead || sessionEnded(error)) {
        this.forget(key, owner, true);
        return { kind: 'lost', reason: 'expired' };
      }
      if (options.signal.aborted) throw options.signal.reason;
      throw unavailable('extend', error);
    }
  }

  async release(key: string, owner: string, options: CallOptions): Promise<void> {
    const held = this.held.get(heldKey(key, owner));
    if (held === undefined) return;
    this.held.delete(heldKey(key, owner));
    if (held.dead) return this.drop(held, true);
    try {
      await raceAbort(
        held.connection.query(
          `SELECT pg_advisory_unlock(${LOCK_ID}), set_config('idle_session_timeout', '0', false), pg_notify($2, $1)`,
          [key, this.names.channel],
        ),
        options.signal,
      );
      this.drop(held, false);
    } catch (error) {
      // Destroying the session releases the lock on the server in any case.
      this.drop(held, true);
      if (options.signal.aborted) throw options.signal.reason;
      throw unavailable('release', error);
    }
  }

  async holder(key: string, options: CallOptions): Promise<Holder | null> {
    this.notifier.mark(key);
    const res = await settle(
      'holder',
      this.pool.query<{ owner: string; token: string; remaining_ms: number }>(
        `SELECT h.owner, h.token::text AS token,
                greatest(0, h.ttl_ms - extract(epoch FROM (clock_timestamp() - h.renewed_at)) * 1000)::float8 AS remaining_ms
         FROM ${this.names.holders} h
         WHERE h.key = $1 AND EXISTS (SELECT 1 FROM pg_locks WHERE ${lockMatch('h.pid')})`,
        [key],
      ),
      options.signal,
    );
    const row = res.rows[0];
    return row === undefined
      ? null
      : { owner: row.owner, token: BigInt(row.token), remainingMs: row.remaining_ms };
  }

  /** Ends every held lock's session (releasing the locks) and the LISTEN connection. */
  override async close(): Promise<void> {
    for (const held of this.held.values()) this.drop(held, true);
    this.held.clear();
    await super.close();
  }

  /**
   * Takes a dedicated connection, runs `lock` on it, and on success records the holder with a fresh
   * token and arms the session's idle timeout. The connection is kept while the lock is held.
   */
  private async withConnection(
    operation: string,
    key: string,
    owner: string,
    signal: AbortSignal,
    lock: (connection: PoolClient, pid: number) => Promise<boolean>,
    ttlMs: number,
  ): Promise<AcquireResult> {
    // Every held or pending lock pins a pool connection: past the bound, refuse at once (the
    // client does not retry this error) rather than starve the pool.
    if (this.held.size + this.busyConnections >= this.maxHeld)
      throw new TooManyWaitersError(key, this.maxHeld);
    this.busyConnections++;
    let entry: Held | undefined;
    try {
      const connecting = this.pool.connect();
      const connection = await raceAbort(connecting, signal).catch((error: unknown) => {
        // A connection that arrives after the abort goes straight back to the pool.
        connecting.then(
          (late) => late.release(),
          () => undefined,
        );
        throw error;
      });
      const e: Held = { connection, token: 0n, dead: false, onError: () => void (e.dead = true) };
      entry = e;
      connection.on('error', e.onError);
      const pid =
        (await connection.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ??
        0;
      if (!(await lock(connection, pid))) {
        this.drop(e, false);
        return { kind: 'busy', retryAfterMs: undefined };
      }
      const held: Held = { ...e, token: await this.register(connection, key, owner, ttlMs) };
      entry = held;
      // A grant that raced with the abort is given back by ending its session.
      if (signal.aborted) throw signal.reason;
      this.held.set(heldKey(key, owner), held);
      return { kind: 'acquired', token: held.token, ttlMs };
    } catch (error) {
      if (entry !== undefined) this.drop(entry, true);
      if (signal.aborted) throw signal.reason;
      throw unavailable(operation, error);
    } finally {
      this.busyConnections--;
    }
  }

  private async register(
    connection: PoolClient,
    key: string,
    owner: string,
    ttlMs: number,
  ): Promise<bigint> {
    const res = await connection.query<{ token: string }>(
      `WITH cfg AS (SELECT set_config('idle_session_timeout', $3, false))
       INSERT INTO ${this.names.holders} (key, owner, token, pid, ttl_ms, renewed_at)
       SELECT $1, $2, nextval('${this.names.sequence}'), pg_backend_pid(), $4, clock_timestamp() FROM cfg
       ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, token = EXCLUDED.token, pid = EXCLUDED.pid,
         ttl_ms = EXCLUDED.ttl_ms, renewed_at = EXCLUDED.renewed_at
       RETURNING token::text AS token`,
      [key, owner, String(Math.ceil(ttlMs)), ttlMs],
    );
    const token = res.rows[0]?.token;
    if (token === undefined) throw new Error('holder registration returned no token');
    return BigInt(token);
  }

  private forget(key: string, owner: string, destroy: boolean): void {
    const held = this.held.get(heldKey(key, owner));
    if (held === undefined) return;
    this.held.delete(heldKey(key, owner));
    this.drop(held, destroy);
  }

  /** Returns the connection to the pool, or destroys it (ending its session and its locks). */
  private drop(held: Held, destroy: boolean): void {
    held.connection.removeListener('error', held.onError);
    // A destroyed connection may still report its end as an error: keep a listener on it.
    if (destroy || held.dead) held.connection.on('error', () => undefined);
    try {
      held.connection.release(destroy || held.dead ? true : undefined);
    } catch {
      // Already released.
    }
  }
}

/**
 * True when `error` says the session is over: the server ended it (idle-session timeout 57P05,
 * administrator command 57P01) or the connection closed.
 */
function sessionEnded(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (code === '57P05' || code === '57P01') return true;
  return error instanceof Error && /Connection terminated|not queryable|ended/i.test(error.message);
}

function heldKey(key: string, owner: string): string {
  return `${key}\u0000${owner}`;
}

/** A `pg_locks` predicate matching the advisory lock of key `$1` held by the session `pid`. */
function lockMatch(pid: string): string {
  return `locktype = 'advisory' AND granted AND pid = ${pid} AND objsubid = 1
    AND classid::bigint = ((${LOCK_ID} >> 32) & 4294967295) AND objid::bigint = (${LOCK_ID} & 4294967295)`;
}

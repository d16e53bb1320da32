/**
 * The PostgreSQL semaphore backend: leases in a table with expiry on the server's clock, tokens
 * from a sequence, a FIFO queue table, and LISTEN/NOTIFY to wake waiters. Each operation is one
 * call of a PL/pgSQL function that first locks the key's row, so the count check and the grant are
 * one atomic step.
 *
 * @module
 */
import type { Pool } from 'pg';
import { integerIn, rangeError } from '../../core/validate.js';
import { BackendClosedError } from '../../coord/errors.js';
import type {
  AcquireResult,
  BackendGuarantees,
  CallOptions,
  ExtendResult,
  Holder,
  SemaphoreBackend,
  SemaphoreCallOptions,
} from '../../coord/types.js';
import { QueuePlaces } from '../common/queue-places.js';
import { listenAbort } from '../../core/abort.js';
import type { Runtime } from '../../core/runtime.js';
import { systemRuntime } from '../../core/system.js';
import { settle } from './base.js';
import { Notifier } from './notifier.js';

const GUARANTEES: BackendGuarantees = Object.freeze({
  fifo: true,
  durable: true,
  consensus: false,
});

/**
 * How long a queued waiter's entry lives without a refresh, in ms (server clock): a waiter that
 * died is skipped once its entry is this old.
 */
export const PG_QUEUE_ENTRY_MS = 6_000;
/** How often a queued waiter refreshes its entry and rechecks with the server, in ms. */
export const PG_QUEUE_REFRESH_MS = 2_000;
/** Upper bound on the background call that takes an abandoned waiter out of the queue, in ms. */
const LEAVE_TIMEOUT_MS = 5_000;

/** Options of {@link PostgresSemaphoreBackend}. */
export interface PostgresSemaphoreBackendOptions {
  /** A `pg` pool; the backend never ends it and keeps one of its connections for LISTEN. */
  pool: Pool;
  /**
   * Base name of the schema objects (default `faultline_semaphore`): tables `<schema>_keys`,
   * `<schema>_permits`, `<schema>_queue`, sequences `<schema>_token_seq` and `<schema>_queue_seq`,
   * functions `<schema>_acquire`, `<schema>_serve`, `<schema>_release`, `<schema>_leave`, channel
   * `<schema>_changed`. A lowercase SQL identifier of at most 40 characters. Create them once with
   * {@link PostgresSemaphoreBackend.ensureSchema}.
   */
  schema?: string;
  /** Upper bound on concurrent waits (default 1,000); more reject with `TooManyWaitersError`. */
  maxWaiters?: number;
  /** Timers of queued waits (refresh, grace before leaving); default the system runtime. */
  runtime?: Runtime;
}

/** Names of the semaphore schema's objects. */
export interface SemaphoreSchemaNames {
  readonly keys: string;
  readonly permits: string;
  readonly queue: string;
  readonly tokenSequence: string;
  readonly queueSequence: string;
  readonly acquire: string;
  readonly serve: string;
  readonly release: string;
  readonly leave: string;
  readonly channel: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,39}$/;

/** Derives the semaphore schema's names from `base` (validated: it is interpolated into SQL). */
export function semaphoreSchemaNames(base: string): SemaphoreSchemaNames {
  if (typeof base !== 'string' || !IDENTIFIER.test(base)) {
    throw rangeError(
      'schema',
      'a lowercase SQL identifier ([a-z_][a-z0-9_]*, at most 40 characters)',
      base,
    );
  }
  return {
    keys: `${base}_keys`,
    permits: `${base}_permits`,
    queue: `${base}_queue`,
    tokenSequence: `${base}_token_seq`,
    queueSequence: `${base}_queue_seq`,
    acquire: `${base}_acquire`,
    serve: `${base}_serve`,
    release: `${base}_release`,
    leave: `${base}_leave`,
    channel: `${base}_changed`,
  };
}

/** `ms` milliseconds after the server's current clock reading. */
const after = (ms: string): string => `clock_timestamp() + make_interval(secs => ${ms} / 1000)`;
/** Milliseconds left on the server's clock, rounded up. */
const REMAINING = `greatest(0, ceil(extract(epoch FROM (expires_at - clock_timestamp())) * 1000))::float8`;

/** The DDL of the schema: tables, sequences and the functions every operation calls. */
function schemaStatements(n: SemaphoreSchemaNames): string[] {
  return [
    `CREATE SEQUENCE IF NOT EXISTS ${n.tokenSequence} AS bigint MINVALUE 1`,
    `CREATE SEQUENCE IF NOT EXISTS ${n.queueSequence} AS bigint MINVALUE 1`,
    `CREATE TABLE IF NOT EXISTS ${n.keys} (key text PRIMARY KEY)`,
    `CREATE TABLE IF NOT EXISTS ${n.permits} (
       key text NOT NULL,
       owner text NOT NULL,
       token bigint NOT NULL CHECK (token > 0),
       permits integer NOT NULL CHECK (permits > 0),
       expires_at timestamptz NOT NULL,
       PRIMARY KEY (key, owner)
     )`,
    `CREATE TABLE IF NOT EXISTS ${n.queue} (
       key text NOT NULL,
       owner text NOT NULL,
       seq bigint NOT NULL,
       permits integer NOT NULL CHECK (permits > 0),
       lim integer NOT NULL CHECK (lim > 0),
       ttl_ms float8 NOT NULL CHECK (ttl_ms > 0),
       expires_at timestamptz NOT NULL,
       PRIMARY KEY (key, owner)
     )`,
    // Hands the key's free permits to the queue's head(s), oldest first; a live head that does not
    // fit stops it (smaller requests behind it wait: no starvation). The caller holds the key's row.
    `CREATE OR REPLACE FUNCTION ${n.serve}(p_key text) RETURNS integer LANGUAGE plpgsql AS $f$
     DECLARE q record; v_used bigint; v_served integer := 0;
     BEGIN
       DELETE FROM ${n.queue} WHERE key = p_key AND expires_at <= clock_timestamp();
       SELECT coalesce(sum(permits), 0) INTO v_used FROM ${n.permits}
         WHERE key = p_key AND expires_at > clock_timestamp();
       FOR q IN SELECT * FROM ${n.queue} WHERE key = p_key ORDER BY seq LOOP
         EXIT WHEN v_used + q.permits > q.lim;
         DELETE FROM ${n.queue} WHERE key = p_key AND owner = q.owner;
         INSERT INTO ${n.permits} (key, owner, token, permits, expires_at)
           VALUES (p_key, q.owner, nextval('${n.tokenSequence}'), q.permits, ${after('q.ttl_ms')})
           ON CONFLICT (key, owner) DO NOTHING;
         v_used := v_used + q.permits;
         v_served := v_served + 1;
       END LOOP;
       IF v_served > 0 THEN PERFORM pg_notify('${n.channel}', p_key); END IF;
       RETURN v_served;
     END $f$`,
    // A plain attempt (p_entry_ms NULL) or a queued one (adds or refreshes the caller's entry).
    `CREATE OR REPLACE FUNCTION ${n.acquire}(p_key text, p_owner text, p_limit integer,
       p_ttl_ms float8, p_permits integer, p_entry_ms float8)
     RETURNS TABLE (token bigint, retry_ms float8) LANGUAGE plpgsql AS $f$
     DECLARE v_token bigint; v_used bigint;
     BEGIN
       INSERT INTO ${n.keys} (key) VALUES (p_key) ON CONFLICT (key) DO NOTHING;
       PERFORM 1 FROM ${n.keys} k WHERE k.key = p_key FOR UPDATE;
       DELETE FROM ${n.permits} p WHERE p.key = p_key AND p.expires_at <= clock_timestamp();
       SELECT p.token INTO v_token FROM ${n.permits} p WHERE p.key = p_key AND p.owner = p_owner;
       IF FOUND AND p_entry_ms IS NOT NULL THEN
         RETURN QUERY SELECT v_token, NULL::float8; RETURN;
       END IF;
       IF NOT FOUND THEN
         PERFORM ${n.serve}(p_key);
         SELECT p.token INTO v_token FROM ${n.permits} p WHERE p.key = p_key AND p.owner = p_owner;
         IF FOUND THEN RETURN QUERY SELECT v_token, NULL::float8; RETURN; END IF;
         SELECT coalesce(sum(p.permits), 0) INTO v_used FROM ${n.permits} p WHERE p.key = p_key;
         IF NOT EXISTS (SELECT 1 FROM ${n.queue} q WHERE q.key = p_key)
            AND v_used + p_permits <= p_limit THEN
           INSERT INTO ${n.permits} AS p (key, owner, token, permits, expires_at)
             VALUES (p_key, p_owner, nextval('${n.tokenSequence}'), p_permits, ${after('p_ttl_ms')})
             RETURNING p.token INTO v_token;
           RETURN QUERY SELECT v_token, NULL::float8; RETURN;
         END IF;
         IF p_entry_ms IS NOT NULL THEN
           INSERT INTO ${n.queue} AS q (key, owner, seq, permits, lim, ttl_ms, expires_at)
             VALUES (p_key, p_owner, nextval('${n.queueSequence}'), p_permits, p_limit, p_ttl_ms,
                     ${after('p_entry_ms')})
             ON CONFLICT (key, owner) DO UPDATE SET expires_at = EXCLUDED.expires_at;
         END IF;
       END IF;
       RETURN QUERY SELECT NULL::bigint,
         (SELECT min(${REMAINING}) FROM ${n.permits} p WHERE p.key = p_key);
     END $f$`,
    // Releases the owner's lease (all its permits) and serves the queue. Returns true when it held one.
    `CREATE OR REPLACE FUNCTION ${n.release}(p_key text, p_owner text)
     RETURNS boolean LANGUAGE plpgsql AS $f$
     BEGIN
       PERFORM 1 FROM ${n.keys} k WHERE k.key = p_key FOR UPDATE;
       IF NOT FOUND THEN RETURN false; END IF;
       DELETE FROM ${n.permits} p WHERE p.key = p_key AND p.owner = p_owner;
       IF NOT FOUND THEN RETURN false; END IF;
       PERFORM ${n.serve}(p_key);
       PERFORM pg_notify('${n.channel}', p_key);
       RETURN true;
     END $f$`,
    // A queued waiter gives up: leaves the queue (serving it: the head may have blocked others),
    // or releases the lease it was granted meanwhile.
    `CREATE OR REPLACE FUNCTION ${n.leave}(p_key text, p_owner text)
     RETURNS boolean LANGUAGE plpgsql AS $f$
     BEGIN
       PERFORM 1 FROM ${n.keys} k WHERE k.key = p_key FOR UPDATE;
       IF NOT FOUND THEN RETURN false; END IF;
       DELETE FROM ${n.queue} q WHERE q.key = p_key AND q.owner = p_owner;
       IF FOUND THEN
         PERFORM ${n.serve}(p_key);
         RETURN false;
       END IF;
       RETURN ${n.release}(p_key, p_owner);
     END $f$`,
  ];
}

/**
 * Creates the semaphore schema if missing (idempotent, safe from many processes at once: it
 * serialises itself with a transaction-scoped advisory lock). Needs CREATE privilege.
 */
export async function ensureSemaphoreSchema(
  pool: Pool,
  names: SemaphoreSchemaNames,
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `faultline schema ${names.permits}`,
    ]);
    for (const statement of schemaStatements(names)) await client.query(statement);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** The options of one grant call, validated: the permit count in [1, limit]. */
function permitCount(options: SemaphoreCallOptions, limit: number): number {
  integerIn('limit', limit, 1, 1_000_000);
  return integerIn('permits', options.permits ?? 1, 1, limit);
}

/**
 * A {@link SemaphoreBackend} on PostgreSQL tables.
 *
 * - Expiry: the server's clock decides (`clock_timestamp()`), never the client's.
 * - Atomicity: every grant, release and hand-over runs inside one function call that first locks
 *   the key's row in `<schema>_keys`, so concurrent calls on a key are serialised.
 * - Tokens: `nextval` of one sequence, taken under that row lock: strictly increasing per key
 *   through expiries, releases and restarts (the table and sequence are durable).
 * - Several permits per lease (`permits` in the call options), all or none.
 * - FIFO: waiters queue in `<schema>_queue`; a release hands the freed permits to the head(s) in
 *   the same call and sends a NOTIFY, and the waiter's next call finds its lease. A head that does
 *   not fit blocks the smaller requests behind it, and a plain attempt never overtakes the queue.
 *   A waiter refreshes its entry every {@link PG_QUEUE_REFRESH_MS}; a crashed one's entry is skipped
 *   after {@link PG_QUEUE_ENTRY_MS}. An expiry sends nothing: waiters recheck when the earliest
 *   lease runs out.
 *
 * @example
 * import pg from 'pg';
 * import { Semaphore } from 'faultline/coord';
 * import { PostgresSemaphoreBackend } from 'faultline/postgres';
 * const backend = new PostgresSemaphoreBackend({ pool: new pg.Pool({ connectionString }) });
 * await backend.ensureSchema();
 * const pool = new Semaphore(backend, { permits: 4 });
 * await using slot = await pool.acquire('exports', { ttlMs: 30_000, autoRenew: true });
 */
export class PostgresSemaphoreBackend implements SemaphoreBackend {
  readonly name = 'postgres';
  readonly guarantees = GUARANTEES;
  /** A plain attempt first: it writes no queue entry when permits are free. */
  readonly tryBeforeQueue = true;
  /** The chunks of one wait keep their place (see `QUEUE_PLACE_GRACE_MS` in `faultline/coord`). */
  readonly keepsQueuePlace = true;
  /** One lease may take several permits. */
  readonly multiPermit = true;
  /** The schema object names. */
  readonly names: SemaphoreSchemaNames;
  private readonly pool: Pool;
  private readonly notifier: Notifier;
  private readonly runtime: Runtime;
  private readonly places: QueuePlaces;
  private closed = false;

  constructor(options: PostgresSemaphoreBackendOptions) {
    if (typeof options !== 'object' || options === null)
      throw rangeError('options', 'an object', options);
    if (typeof options.pool?.query !== 'function')
      throw rangeError('pool', 'a pg Pool', options.pool);
    this.pool = options.pool;
    this.names = semaphoreSchemaNames(options.schema ?? 'faultline_semaphore');
    const maxWaiters = integerIn('maxWaiters', options.maxWaiters ?? 1000, 1, 1_000_000);
    this.notifier = new Notifier(this.pool, this.names.channel, maxWaiters);
    this.runtime = options.runtime ?? systemRuntime();
    this.places = new QueuePlaces(this.runtime.timers);
  }

  /** Refuses a key PostgreSQL `text` cannot hold (a NUL character). */
  checkKey(field: string, key: string): void {
    if (key.includes('\u0000'))
      throw rangeError(field, 'a string without NUL characters (PostgreSQL text)', key);
  }

  /** Creates the tables, sequences and functions if missing (idempotent). */
  ensureSchema(): Promise<void> {
    return ensureSemaphoreSchema(this.pool, this.names);
  }

  async tryAcquire(
    key: string,
    owner: string,
    limit: number,
    ttlMs: number,
    options: SemaphoreCallOptions,
  ): Promise<AcquireResult> {
    const count = permitCount(options, limit);
    this.notifier.mark(key);
    const row = await this.call(
      'tryAcquire',
      key,
      owner,
      limit,
      ttlMs,
      count,
      null,
      options.signal,
    );
    return toResult(row, ttlMs);
  }

  /**
   * Queues `owner` and resolves with its grant (found by a later call after a NOTIFY or a refresh).
   * On abort it answers `busy` and leaves the queue after the grace, releasing a grant that came
   * meanwhile.
   */
  async acquireQueued(
    key: string,
    owner: string,
    limit: number,
    ttlMs: number,
    options: SemaphoreCallOptions,
  ): Promise<AcquireResult> {
    const { signal } = options;
    const count = permitCount(options, limit);
    const ticket = this.places.begin(owner);
    try {
      for (;;) {
        if (this.closed) throw new BackendClosedError('postgres', 'acquireQueued');
        this.notifier.mark(key);
        const row = await this.call(
          'acquireQueued',
          key,
          owner,
          limit,
          ttlMs,
          count,
          PG_QUEUE_ENTRY_MS,
          signal,
        );
        const result = toResult(row, ttlMs);
        if (result.kind === 'acquired') return result;
        const ms = Math.min(result.retryAfterMs ?? PG_QUEUE_REFRESH_MS, PG_QUEUE_REFRESH_MS);
        await this.waitChange(key, ms, signal);
      }
    } catch (error) {
      const leave = (): void => this.leaveInBackground(key, owner);
      if (!signal.aborted) {
        if (this.places.isLatest(owner, ticket)) leave();
        throw error;
      }
      this.places.leaveLater(owner, ticket, leave);
      return { kind: 'busy', retryAfterMs: undefined };
    } finally {
      this.places.end(owner, ticket);
    }
  }

  async extend(
    key: string,
    owner: string,
    token: bigint,
    ttlMs: number,
    options: CallOptions,
  ): Promise<ExtendResult> {
    const n = this.names;
    const text = `
      WITH extended AS (
        UPDATE ${n.permits} SET expires_at = ${after('$3::float8')}
        WHERE key = $1 AND owner = $2 AND token = $4::bigint AND expires_at > clock_timestamp()
        RETURNING 1
      )
      SELECT EXISTS (SELECT 1 FROM extended) AS extended,
             EXISTS (SELECT 1 FROM ${n.permits} WHERE key = $1 AND owner = $2
                     AND token <> $4::bigint AND expires_at > clock_timestamp()) AS stolen`;
    const result = await settle(
      'extend',
      this.pool.query<{ extended: boolean; stolen: boolean }>(text, [
        key,
        owner,
        ttlMs,
        String(token),
      ]),
      options.signal,
    );
    const row = result.rows[0];
    if (row?.extended === true) return { kind: 'extended', ttlMs };
    return { kind: 'lost', reason: row?.stolen === true ? 'stolen' : 'expired' };
  }

  async release(key: string, owner: string, options: CallOptions): Promise<void> {
    await settle(
      'release',
      this.pool.query(`SELECT ${this.names.release}($1, $2)`, [key, owner]),
      options.signal,
    );
  }

  async holders(key: string, options: CallOptions): Promise<readonly Holder[]> {
    const text = `
      SELECT owner, token::text AS token, permits, ${REMAINING} AS remaining_ms
      FROM ${this.names.permits} WHERE key = $1 AND expires_at > clock_timestamp() ORDER BY token`;
    const result = await settle(
      'holders',
      this.pool.query<{ owner: string; token: string; permits: number; remaining_ms: number }>(
        text,
        [key],
      ),
      options.signal,
    );
    return result.rows.map((r) => {
      const holder = { owner: r.owner, token: BigInt(r.token), remainingMs: r.remaining_ms };
      return r.permits === 1 ? holder : { ...holder, permits: r.permits };
    });
  }

  /** Resolves on a NOTIFY for `key` (or a lost LISTEN connection); rejects when the signal aborts. */
  waitForChange(key: string, options: CallOptions): Promise<void> {
    return this.notifier.wait(key, options.signal);
  }

  /** How many waiters the queue of `key` holds, live or not yet skipped (for tests and metrics). */
  async queued(key: string): Promise<number> {
    const result = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${this.names.queue} WHERE key = $1`,
      [key],
    );
    return result.rows[0]?.n ?? 0;
  }

  /** Sends pending leaves at once and releases the LISTEN connection; the pool stays open. */
  close(): Promise<void> {
    this.closed = true;
    this.places.flush(true);
    return this.notifier.close();
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** One call of the acquire function; a grant that comes after the caller gave up is given back. */
  private async call(
    operation: string,
    key: string,
    owner: string,
    limit: number,
    ttlMs: number,
    count: number,
    entryMs: number | null,
    signal: AbortSignal,
  ): Promise<{ token: string | null; retry_ms: number | null } | undefined> {
    const pending = this.pool.query<{ token: string | null; retry_ms: number | null }>(
      `SELECT token::text AS token, retry_ms FROM ${this.names.acquire}($1, $2, $3, $4, $5, $6)`,
      [key, owner, limit, ttlMs, count, entryMs],
    );
    const result = await settle(operation, pending, signal, (late) => {
      // A plain grant nobody will use: give it back now instead of leaving it to its TTL.
      if (entryMs === null && late.rows[0]?.token != null) this.leaveInBackground(key, owner);
    });
    return result.rows[0];
  }

  /** Waits for a NOTIFY on `key` or `ms`, whichever comes first; rejects when `signal` aborts. */
  private async waitChange(key: string, ms: number, signal: AbortSignal): Promise<void> {
    const controller = new AbortController();
    const cancel = this.runtime.timers.setTimer(Math.max(ms, 1), () => controller.abort());
    const off = listenAbort(signal, (reason) => controller.abort(reason));
    try {
      await this.notifier.wait(key, controller.signal);
    } catch (error) {
      if (signal.aborted) throw error;
      // The timer fired: time to refresh the entry and recheck.
    } finally {
      cancel();
      off();
    }
  }

  /** Runs the leave function in the background, bounded by its own timeout. */
  private leaveInBackground(key: string, owner: string): void {
    const controller = new AbortController();
    const cancel = this.runtime.timers.setTimer(LEAVE_TIMEOUT_MS, () => controller.abort());
    settle(
      'leave',
      this.pool.query(`SELECT ${this.names.leave}($1, $2)`, [key, owner]),
      controller.signal,
    ).then(cancel, cancel);
  }
}

function toResult(
  row: { token: string | null; retry_ms: number | null } | undefined,
  ttlMs: number,
): AcquireResult {
  if (row?.token != null) return { kind: 'acquired', token: BigInt(row.token), ttlMs };
  return { kind: 'busy', retryAfterMs: row?.retry_ms ?? undefined };
}

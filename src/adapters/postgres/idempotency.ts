/**
 * The PostgreSQL idempotency store: one row per key, every operation one statement decided by the
 * server's clock (`now()`), fenced by owner and epoch in its `WHERE` clause. Also the home of the
 * recovery points of multi-phase operations (see `phases.ts`): the row carries the last one.
 *
 * @module
 */
import type { Pool } from 'pg';
import { abortReason } from '../../core/abort.js';
import { rangeError } from '../../core/validate.js';
import { BackendUnavailableError } from '../../coord/errors.js';
import type {
  BeginRequest,
  BeginResult,
  FencedWrite,
  IdempotencyRecord,
  IdempotencyStore,
  StoreCallOptions,
  StoredOutcome,
} from '../../coord/idempotency/types.js';
import { settle } from './base.js';

/** Options of {@link PostgresIdempotencyStore}. */
export interface PostgresIdempotencyStoreOptions {
  /** A `pg` pool; the store never ends it. */
  pool: Pool;
  /**
   * The table (default `faultline_idempotency`): a lowercase SQL identifier of at most 40
   * characters. Create it with {@link PostgresIdempotencyStore.ensureSchema}.
   */
  table?: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,39}$/;
const MS = `* interval '1 millisecond'`;
/** The fence of every write: the live in-progress record of this owner at this epoch. */
const HOLDS = `key = $1 AND state = 'run' AND owner = $2 AND epoch = $3 AND expires_at > now()`;

interface StateRow {
  fingerprint: string;
  state: 'run' | 'done';
  owner: string;
  epoch: string;
  outcome_kind: 'value' | 'error' | null;
  outcome_data: string | null;
  lease_left_ms: number;
  expires_in_ms: number;
}

function outcomeOf(row: StateRow): StoredOutcome | undefined {
  if (row.outcome_kind === null) return undefined;
  return { kind: row.outcome_kind, data: row.outcome_data ?? '' };
}

/**
 * Idempotency records in a PostgreSQL table, shared by every process using the database. Expired
 * rows count as absent at once; run an {@link "faultline/coord"!IdempotencyReaper} to delete them.
 *
 * @example
 * const store = new PostgresIdempotencyStore({ pool });
 * await store.ensureSchema();
 * await idempotent(key, body, () => charge(body), { store });
 */
export class PostgresIdempotencyStore implements IdempotencyStore {
  readonly name = 'postgres';
  /** The (validated) table name. */
  readonly table: string;
  /** The pool the store queries (the multi-phase runner opens its transactions on it). */
  readonly pool: Pool;

  constructor(options: PostgresIdempotencyStoreOptions) {
    if (typeof options?.pool?.query !== 'function')
      throw rangeError('pool', 'a pg Pool', options?.pool);
    const table = options.table ?? 'faultline_idempotency';
    if (typeof table !== 'string' || !IDENTIFIER.test(table))
      throw rangeError(
        'table',
        'a lowercase SQL identifier ([a-z_][a-z0-9_]*, at most 40 characters)',
        table,
      );
    this.pool = options.pool;
    this.table = table;
  }

  /** Creates the table and its expiry index if missing (idempotent). */
  async ensureSchema(): Promise<void> {
    const t = this.table;
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS ${t} (
         key text PRIMARY KEY,
         fingerprint text NOT NULL,
         state text NOT NULL CHECK (state IN ('run', 'done')),
         owner text NOT NULL,
         epoch bigint NOT NULL CHECK (epoch > 0),
         takeover boolean NOT NULL DEFAULT false,
         lease_until timestamptz NOT NULL,
         expires_at timestamptz NOT NULL,
         outcome_kind text CHECK (outcome_kind IN ('value', 'error')),
         outcome_data text,
         recovery_point text NOT NULL DEFAULT 'started',
         recovery_data jsonb
       )`,
    );
    await this.pool.query(`CREATE INDEX IF NOT EXISTS ${t}_expires_at ON ${t} (expires_at)`);
  }

  async begin(request: BeginRequest, options: StoreCallOptions): Promise<BeginResult> {
    const { key, fingerprint, owner, leaseMs, ttlMs } = request;
    // Usually one round trip; a record deleted or expired between the two statements is retried.
    for (let attempt = 0; attempt < 5; attempt++) {
      const claimed = await this.query('begin', options, this.claimSql(), [
        key,
        fingerprint,
        owner,
        leaseMs,
        Math.max(leaseMs, ttlMs),
      ]);
      const row = claimed.rows[0] as { epoch: string; takeover: boolean } | undefined;
      if (row !== undefined)
        return { kind: 'started', epoch: Number(row.epoch), takeover: row.takeover };
      const found = await this.read('begin', key, options);
      if (found === undefined) continue;
      if (found.fingerprint !== fingerprint)
        return { kind: 'mismatch', storedFingerprint: found.fingerprint };
      if (found.state === 'done') return { kind: 'completed', outcome: outcomeOf(found)! };
      if (found.lease_left_ms > 0)
        return { kind: 'in-progress', retryAfterMs: found.lease_left_ms };
    }
    throw new BackendUnavailableError(
      'begin',
      `the record of ${JSON.stringify(key)} kept changing`,
    );
  }

  /**
   * Inserts a new record, or takes over an expired record or an in-progress record whose lease
   * expired (same fingerprint); returns nothing when the key is live. A takeover keeps the
   * recovery point (the retry resumes there); a new record after expiry starts over.
   */
  private claimSql(): string {
    const t = this.table;
    return `INSERT INTO ${t} AS r (key, fingerprint, state, owner, epoch, takeover, lease_until, expires_at)
      VALUES ($1, $2, 'run', $3, 1, false, now() + $4 ${MS}, now() + $5 ${MS})
      ON CONFLICT (key) DO UPDATE SET
        fingerprint = EXCLUDED.fingerprint,
        state = 'run',
        owner = EXCLUDED.owner,
        epoch = r.epoch + 1,
        takeover = r.expires_at > now(),
        lease_until = EXCLUDED.lease_until,
        expires_at = CASE WHEN r.expires_at <= now() THEN EXCLUDED.expires_at
                          ELSE greatest(r.expires_at, EXCLUDED.lease_until) END,
        outcome_kind = NULL,
        outcome_data = NULL,
        recovery_point = CASE WHEN r.expires_at <= now() THEN 'started' ELSE r.recovery_point END,
        recovery_data = CASE WHEN r.expires_at <= now() THEN NULL ELSE r.recovery_data END
      WHERE r.expires_at <= now()
         OR (r.state = 'run' AND r.lease_until <= now() AND r.fingerprint = EXCLUDED.fingerprint)
      RETURNING epoch::text AS epoch, takeover`;
  }

  private async read(
    operation: string,
    key: string,
    options: StoreCallOptions,
  ): Promise<StateRow | undefined> {
    const res = await this.query(
      operation,
      options,
      `SELECT fingerprint, state, owner, epoch::text AS epoch, outcome_kind, outcome_data,
              greatest(0, extract(epoch FROM lease_until - now()) * 1000)::float8 AS lease_left_ms,
              (extract(epoch FROM expires_at - now()) * 1000)::float8 AS expires_in_ms
         FROM ${this.table} WHERE key = $1 AND expires_at > now()`,
      [key],
    );
    return res.rows[0] as StateRow | undefined;
  }

  async complete(
    key: string,
    owner: string,
    epoch: number,
    outcome: StoredOutcome,
    ttlMs: number,
    options: StoreCallOptions,
  ): Promise<FencedWrite> {
    const res = await this.query(
      'complete',
      options,
      `UPDATE ${this.table} SET state = 'done', outcome_kind = $4, outcome_data = $5,
              recovery_point = 'finished', expires_at = now() + $6 ${MS}
        WHERE ${HOLDS}`,
      [key, owner, epoch, outcome.kind, outcome.data, ttlMs],
    );
    return res.rowCount === 1 ? 'ok' : 'fenced';
  }

  async extend(
    key: string,
    owner: string,
    epoch: number,
    leaseMs: number,
    options: StoreCallOptions,
  ): Promise<FencedWrite> {
    const res = await this.query(
      'extend',
      options,
      `UPDATE ${this.table} SET lease_until = now() + $4 ${MS},
              expires_at = greatest(expires_at, now() + $4 ${MS})
        WHERE ${HOLDS}`,
      [key, owner, epoch, leaseMs],
    );
    return res.rowCount === 1 ? 'ok' : 'fenced';
  }

  async release(
    key: string,
    owner: string,
    epoch: number,
    options: StoreCallOptions,
  ): Promise<FencedWrite> {
    const res = await this.query('release', options, `DELETE FROM ${this.table} WHERE ${HOLDS}`, [
      key,
      owner,
      epoch,
    ]);
    return res.rowCount === 1 ? 'ok' : 'fenced';
  }

  /**
   * Ends the lease of `owner` at `epoch` at once but keeps the record and its recovery point, so a
   * retry takes it over without waiting and resumes where this invocation stopped.
   */
  async unlock(
    key: string,
    owner: string,
    epoch: number,
    options: StoreCallOptions,
  ): Promise<FencedWrite> {
    const res = await this.query(
      'unlock',
      options,
      `UPDATE ${this.table} SET lease_until = now() WHERE ${HOLDS}`,
      [key, owner, epoch],
    );
    return res.rowCount === 1 ? 'ok' : 'fenced';
  }

  async get(key: string, options: StoreCallOptions): Promise<IdempotencyRecord | null> {
    const row = await this.read('get', key, options);
    if (row === undefined) return null;
    return {
      state: row.state === 'done' ? 'completed' : 'in-progress',
      fingerprint: row.fingerprint,
      owner: row.owner,
      epoch: Number(row.epoch),
      outcome: outcomeOf(row),
      expiresInMs: row.expires_in_ms,
    };
  }

  async reap(limit: number, options: StoreCallOptions): Promise<number> {
    if (!Number.isInteger(limit) || limit < 1) throw rangeError('limit', 'an integer >= 1', limit);
    const t = this.table;
    const res = await this.query(
      'reap',
      options,
      `DELETE FROM ${t} WHERE key IN (
         SELECT key FROM ${t} WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)`,
      [limit],
    );
    return res.rowCount ?? 0;
  }

  /** Nothing of its own to release: the pool belongs to the caller. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private query(
    operation: string,
    options: StoreCallOptions,
    text: string,
    values: unknown[],
  ): Promise<{ rowCount: number | null; rows: unknown[] }> {
    if (options.signal.aborted) return Promise.reject(abortReason(options.signal));
    return settle(operation, this.pool.query(text, values), options.signal);
  }
}

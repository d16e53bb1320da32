/**
 * The TCC fence table on PostgreSQL: one row per (gid, branch id) whose state changes in the same
 * transaction as the branch's business statements, so a row says exactly what the database did.
 * Concurrent Try and Cancel of one branch are serialised by the primary key: the second insert
 * waits for the first transaction and then sees its row.
 *
 * @module
 */
import type { Pool, PoolClient } from 'pg';
import { rangeError } from '../../core/validate.js';
import { checkBranchKey } from '../../txn/tcc.js';
import type {
  TccBranchKey,
  TccBranchState,
  TccCancelOutcome,
  TccConfirmOutcome,
  TccFenceStore,
  TccTryOutcome,
} from '../../txn/tcc.js';
import {
  TccAlreadyConfirmedError,
  TccHangingTryError,
  TccNothingReservedError,
} from '../../txn/tcc-errors.js';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Options of a {@link PostgresTccFenceStore}. */
export interface PostgresTccFenceStoreOptions {
  /** The database's pool: each call holds one connection for its transaction. */
  pool: Pool;
  /** The fence table (default `faultline_tcc_fence`): a lowercase SQL identifier. */
  table?: string;
}

interface RowState {
  readonly state: TccBranchState;
  readonly payload: string | null;
}

/**
 * The fence table of TCC branches in PostgreSQL. Business actions receive the transaction's
 * client: run the branch's statements on it (and nothing that commits), so the reservation and
 * the row commit or roll back together. Every change commits with `synchronous_commit` on.
 * Rows are kept after the branch settles (they are what refuses a late Try); delete old ones with
 * {@link PostgresTccFenceStore.purgeSettled} once no Try of them can still be in flight.
 *
 * @example
 * const store = new PostgresTccFenceStore({ pool });
 * await store.ensureSchema();
 * const accounts = new TccResource({ name: 'accounts', store, actions });
 */
export class PostgresTccFenceStore implements TccFenceStore<PoolClient> {
  readonly table: string;
  private readonly pool: Pool;

  constructor(options: PostgresTccFenceStoreOptions) {
    if (typeof options?.pool?.connect !== 'function')
      throw rangeError('pool', 'a pg Pool', options?.pool);
    this.pool = options.pool;
    const table = options.table ?? 'faultline_tcc_fence';
    if (typeof table !== 'string' || !IDENTIFIER.test(table))
      throw rangeError('table', 'a lowercase SQL identifier ([a-z_][a-z0-9_]*)', table);
    this.table = table;
  }

  /** Creates the table if missing (idempotent). */
  async ensureSchema(): Promise<void> {
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS ${this.table} (
         gid text NOT NULL,
         branch_id text NOT NULL,
         state text NOT NULL CHECK (state IN ('tried', 'confirmed', 'cancelled')),
         payload text,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (gid, branch_id))`,
    );
  }

  try(
    key: TccBranchKey,
    payload: string,
    reserve: (client: PoolClient) => Promise<void>,
  ): Promise<TccTryOutcome> {
    return this.transaction(key, async (client) => {
      // The insert takes the key: a concurrent Cancel's insert waits for this transaction.
      if (await this.insert(client, key, 'tried', payload)) {
        await reserve(client);
        return 'tried';
      }
      const row = await this.lockRow(client, key);
      if (row?.state === 'cancelled') throw new TccHangingTryError(key.gid, key.branchId);
      return 'duplicate';
    });
  }

  confirm(
    key: TccBranchKey,
    apply: (client: PoolClient, payload: string) => Promise<void>,
  ): Promise<TccConfirmOutcome> {
    return this.transaction(key, async (client) => {
      const payload = await this.settleTried(client, key, 'confirmed');
      if (payload !== undefined) {
        await apply(client, payload ?? 'null');
        return 'confirmed';
      }
      const state = (await this.lockRow(client, key))?.state;
      if (state === undefined) throw new TccNothingReservedError(key.gid, key.branchId, 'no-try');
      if (state === 'cancelled')
        throw new TccNothingReservedError(key.gid, key.branchId, 'cancelled');
      return 'duplicate';
    });
  }

  cancel(
    key: TccBranchKey,
    release: (client: PoolClient, payload: string) => Promise<void>,
  ): Promise<TccCancelOutcome> {
    return this.transaction(key, async (client) => {
      // The common case first: a tried branch. Then no row at all: the cancelled row is what
      // refuses the Try if it comes; its insert waits for a Try in flight, so try once more after.
      let payload = await this.settleTried(client, key, 'cancelled');
      if (payload === undefined) {
        if (await this.insert(client, key, 'cancelled', null)) return 'empty';
        payload = await this.settleTried(client, key, 'cancelled');
      }
      if (payload !== undefined) {
        await release(client, payload ?? 'null');
        return 'cancelled';
      }
      const state = (await this.lockRow(client, key))?.state;
      if (state === 'confirmed') throw new TccAlreadyConfirmedError(key.gid, key.branchId);
      return 'duplicate';
    });
  }

  async state(key: TccBranchKey): Promise<TccBranchState | undefined> {
    checkBranchKey(key);
    const result = await this.pool.query<{ state: TccBranchState }>(
      `SELECT state FROM ${this.table} WHERE gid = $1 AND branch_id = $2`,
      [key.gid, key.branchId],
    );
    return result.rows[0]?.state;
  }

  async pending(prefix: string, branchId: string): Promise<string[]> {
    const result = await this.pool.query<{ gid: string }>(
      `SELECT gid FROM ${this.table}
       WHERE branch_id = $1 AND state = 'tried' AND starts_with(gid, $2) ORDER BY created_at`,
      [branchId, prefix],
    );
    return result.rows.map((r) => r.gid);
  }

  /**
   * Deletes settled rows (confirmed or cancelled) last changed more than `olderThanMs` ago, and
   * returns how many. Keep `olderThanMs` well above the longest a Try can stay in flight: a
   * cancelled row deleted too early lets its hanging Try through.
   */
  async purgeSettled(olderThanMs: number): Promise<number> {
    if (!Number.isSafeInteger(olderThanMs) || olderThanMs < 0)
      throw rangeError('olderThanMs', 'a non-negative integer', olderThanMs);
    const result = await this.pool.query(
      `DELETE FROM ${this.table} WHERE state <> 'tried'
       AND updated_at < now() - make_interval(secs => $1::double precision / 1000)`,
      [olderThanMs],
    );
    return result.rowCount ?? 0;
  }

  private async insert(
    client: PoolClient,
    key: TccBranchKey,
    state: TccBranchState,
    payload: string | null,
  ): Promise<boolean> {
    const result = await client.query(
      `INSERT INTO ${this.table} (gid, branch_id, state, payload) VALUES ($1, $2, $3, $4)
       ON CONFLICT (gid, branch_id) DO NOTHING`,
      [key.gid, key.branchId, state, payload],
    );
    return result.rowCount === 1;
  }

  private async lockRow(client: PoolClient, key: TccBranchKey): Promise<RowState | undefined> {
    const result = await client.query<RowState>(
      `SELECT state, payload FROM ${this.table} WHERE gid = $1 AND branch_id = $2 FOR UPDATE`,
      [key.gid, key.branchId],
    );
    return result.rows[0];
  }

  /**
   * Moves the branch from `tried` to `to` in one statement and returns its payload (null when the
   * row has none), or undefined when the row is missing or not `tried`. The update locks the row,
   * so a concurrent change of the same branch waits for this transaction.
   */
  private async settleTried(
    client: PoolClient,
    key: TccBranchKey,
    to: 'confirmed' | 'cancelled',
  ): Promise<string | null | undefined> {
    const result = await client.query<{ payload: string | null }>(
      `UPDATE ${this.table} SET state = $3, updated_at = now()
       WHERE gid = $1 AND branch_id = $2 AND state = 'tried' RETURNING payload`,
      [key.gid, key.branchId, to],
    );
    return result.rows[0]?.payload;
  }

  /**
   * Runs `fn` in a transaction with `synchronous_commit` on: committed when `fn` returns, rolled
   * back when it throws (a fence refusal too, so nothing of a refused call stays). A connection
   * whose state is unknown (a failed BEGIN, COMMIT or ROLLBACK) is destroyed, not reused.
   */
  private async transaction<T>(
    key: TccBranchKey,
    fn: (client: PoolClient) => Promise<T>,
  ): Promise<T> {
    checkBranchKey(key);
    const client = await this.pool.connect();
    // A checked-out pg client without an 'error' listener crashes the process when its
    // connection dies; the failure reaches the caller through the pending query instead.
    const onError = (): void => undefined;
    client.on('error', onError);
    let broken = true;
    try {
      // One round trip: both statements in one simple-protocol query.
      await client.query('BEGIN; SET LOCAL synchronous_commit TO on');
      let value: T;
      try {
        value = await fn(client);
      } catch (error) {
        await client.query('ROLLBACK');
        broken = false;
        throw error;
      }
      await client.query('COMMIT');
      broken = false;
      return value;
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }
}

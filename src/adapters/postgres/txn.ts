/**
 * Two-phase commit on PostgreSQL: a participant over `PREPARE TRANSACTION` / `COMMIT PREPARED` /
 * `ROLLBACK PREPARED` and `pg_prepared_xacts`, and the coordinator's decision log as a table.
 * The server needs `max_prepared_transactions` > 0 (it is 0 by default).
 *
 * @module
 */
import type { Pool, PoolClient } from 'pg';
import { assert } from '../../core/assert.js';
import { nonEmptyString, rangeError } from '../../core/validate.js';
import { isGid } from '../../txn/gid.js';
import type { SagaLog, SagaRecord } from '../../txn/saga.js';
import type { Branch, DecisionLog, Participant } from '../../txn/types.js';

/** SQLSTATE 42704 (undefined_object): "prepared transaction with identifier ... does not exist". */
const UNDEFINED_OBJECT = '42704';
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function validPool(pool: Pool): Pool {
  if (typeof pool?.connect !== 'function') throw rangeError('pool', 'a pg Pool', pool);
  return pool;
}

/** Quotes a gid; gids are validated to `[A-Za-z0-9_.-]`, so no quote can hide in one. */
function literal(gid: string): string {
  assert(isGid(gid), `a well-formed gid (got ${JSON.stringify(gid)})`);
  return `'${gid}'`;
}

function codeOf(error: unknown): string | undefined {
  return (error as { code?: unknown })?.code as string | undefined;
}

/** Options of a {@link PostgresParticipant}. */
export interface PostgresParticipantOptions {
  /** Name within the coordinator, stable across restarts (e.g. the database's role: `accounts`). */
  name: string;
  /**
   * The database's pool. A branch holds one connection from `begin` until its prepare; commit,
   * rollback and recovery use short ones.
   */
  pool: Pool;
}

/** A PostgreSQL branch: run the transaction's statements on {@link PostgresBranch.client}. */
export class PostgresBranch implements Branch {
  private done = false;

  constructor(
    /** The branch's connection, inside `BEGIN`. Do not commit or roll back on it. */
    readonly client: PoolClient,
    readonly gid: string,
  ) {}

  /** `PREPARE TRANSACTION 'gid'`, then hands the connection back to the pool. */
  async prepare(): Promise<void> {
    assert(!this.done, 'a branch is prepared or aborted once');
    this.done = true;
    try {
      await this.client.query(`PREPARE TRANSACTION ${literal(this.gid)}`);
    } catch (error) {
      // The session's state is unknown: do not give it back to the pool.
      this.client.release(true);
      throw error;
    }
    this.client.release();
  }

  /** `ROLLBACK` and release; a broken connection is destroyed instead. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      await this.client.query('ROLLBACK');
      this.client.release();
    } catch {
      this.client.release(true);
    }
  }
}

/**
 * A PostgreSQL database as a two-phase-commit participant.
 *
 * @example
 * const accounts = new PostgresParticipant({ name: 'accounts', pool });
 * await coordinator.transaction(async (tx) => {
 *   const branch = await tx.enlist(accounts);
 *   await branch.client.query('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [10, 1]);
 * });
 */
export class PostgresParticipant implements Participant<PostgresBranch> {
  readonly name: string;
  private readonly pool: Pool;

  constructor(options: PostgresParticipantOptions) {
    this.name = nonEmptyString('name', options.name);
    this.pool = validPool(options.pool);
  }

  async begin(gid: string): Promise<PostgresBranch> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
    } catch (error) {
      client.release(true);
      throw error;
    }
    return new PostgresBranch(client, gid);
  }

  async commitPrepared(gid: string): Promise<void> {
    await this.finish('COMMIT', gid);
  }

  async rollbackPrepared(gid: string): Promise<void> {
    await this.finish('ROLLBACK', gid);
  }

  async listPrepared(prefix: string): Promise<string[]> {
    const result = await this.pool.query<{ gid: string }>(
      'SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND starts_with(gid, $1) ORDER BY prepared',
      [prefix],
    );
    return result.rows.map((r) => r.gid).filter(isGid);
  }

  private async finish(verb: 'COMMIT' | 'ROLLBACK', gid: string): Promise<void> {
    try {
      await this.pool.query(`${verb} PREPARED ${literal(gid)}`);
    } catch (error) {
      // Already settled (by an earlier attempt whose answer was lost, or by recovery): done.
      if (codeOf(error) !== UNDEFINED_OBJECT) throw error;
    }
  }
}

/** Options of a {@link PostgresDecisionLog}. */
export interface PostgresDecisionLogOptions {
  pool: Pool;
  /** The table (default `faultline_txn_decisions`): a lowercase SQL identifier. */
  table?: string;
}

/** `table` as a lowercase SQL identifier, safe to interpolate; a `RangeError` otherwise. */
function tableName(table: unknown): string {
  if (typeof table !== 'string' || !IDENTIFIER.test(table))
    throw rangeError('table', 'a lowercase SQL identifier ([a-z_][a-z0-9_]*)', table);
  return table;
}

/**
 * The coordinator's decision log as a PostgreSQL table. Each decision is inserted in a
 * transaction of its own with `synchronous_commit` on, so it is durable when the insert returns,
 * whatever the server's default.
 *
 * @example
 * const log = new PostgresDecisionLog({ pool });
 * await log.ensureSchema();
 */
export class PostgresDecisionLog implements DecisionLog {
  readonly table: string;
  private readonly pool: Pool;

  constructor(options: PostgresDecisionLogOptions) {
    this.pool = validPool(options.pool);
    this.table = tableName(options.table ?? 'faultline_txn_decisions');
  }

  /** Creates the table if missing (idempotent). */
  async ensureSchema(): Promise<void> {
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS ${this.table} (
         gid text PRIMARY KEY,
         participants text[] NOT NULL,
         decided_at timestamptz NOT NULL DEFAULT now())`,
    );
  }

  async recordCommit(gid: string, participants: readonly string[]): Promise<void> {
    await durably(
      this.pool,
      `INSERT INTO ${this.table} (gid, participants) VALUES ($1, $2) ON CONFLICT (gid) DO NOTHING`,
      [gid, [...participants]],
    );
  }

  async committed(prefix: string): Promise<string[]> {
    const result = await this.pool.query<{ gid: string }>(
      `SELECT gid FROM ${this.table} WHERE starts_with(gid, $1) ORDER BY decided_at`,
      [prefix],
    );
    return result.rows.map((r) => r.gid);
  }

  async forget(gid: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.table} WHERE gid = $1`, [gid]);
  }
}

/** Options of a {@link PostgresSagaLog}. */
export interface PostgresSagaLogOptions {
  pool: Pool;
  /** The table (default `faultline_saga_log`): a lowercase SQL identifier. */
  table?: string;
}

/**
 * A saga orchestrator's log as a PostgreSQL table: one row per unfinished saga, upserted with
 * `synchronous_commit` on before each step runs and deleted when the saga ends.
 *
 * @example
 * const log = new PostgresSagaLog({ pool });
 * await log.ensureSchema();
 * const sagas = new SagaOrchestrator({ orchestratorId: 'trips-1', log, definitions: [trip] });
 */
export class PostgresSagaLog implements SagaLog {
  readonly table: string;
  private readonly pool: Pool;

  constructor(options: PostgresSagaLogOptions) {
    this.pool = validPool(options.pool);
    this.table = tableName(options.table ?? 'faultline_saga_log');
  }

  /** Creates the table if missing (idempotent). */
  async ensureSchema(): Promise<void> {
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS ${this.table} (
         saga_id text PRIMARY KEY,
         name text NOT NULL,
         input text NOT NULL,
         phase text NOT NULL CHECK (phase IN ('forward', 'compensating')),
         started int NOT NULL CHECK (started >= 0),
         updated_at timestamptz NOT NULL DEFAULT now())`,
    );
  }

  async save(record: SagaRecord): Promise<void> {
    await durably(
      this.pool,
      `INSERT INTO ${this.table} (saga_id, name, input, phase, started) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (saga_id) DO UPDATE SET phase = EXCLUDED.phase, started = EXCLUDED.started, updated_at = now()`,
      [record.sagaId, record.name, record.input, record.phase, record.started],
    );
  }

  async remove(sagaId: string): Promise<void> {
    await durably(this.pool, `DELETE FROM ${this.table} WHERE saga_id = $1`, [sagaId]);
  }

  async list(prefix: string): Promise<SagaRecord[]> {
    const result = await this.pool.query<{
      saga_id: string;
      name: string;
      input: string;
      phase: 'forward' | 'compensating';
      started: number;
    }>(
      `SELECT saga_id, name, input, phase, started FROM ${this.table}
       WHERE starts_with(saga_id, $1) ORDER BY updated_at`,
      [prefix],
    );
    return result.rows.map((r) => ({
      sagaId: r.saga_id,
      name: r.name,
      input: r.input,
      phase: r.phase,
      started: r.started,
    }));
  }
}

/** Runs one statement in a transaction of its own with `synchronous_commit` on. */
async function durably(pool: Pool, sql: string, params: unknown[]): Promise<void> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL synchronous_commit TO on');
    await client.query(sql, params);
    await client.query('COMMIT');
  } catch (error) {
    broken = true;
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * The four fixes for lost updates on PostgreSQL, as small helpers over a `pg` pool: pessimistic
 * (`SELECT … FOR UPDATE` in a transaction), optimistic (a version column, bounded retries with
 * jittered backoff), a fenced distributed lock (a `Lock` lease whose token the row's fence column
 * checks), and an atomic conditional update (`UPDATE … SET qty = qty - 1 WHERE id = $1 AND qty > 0`).
 *
 * Which to use (Kleppmann, DDIA ch. 7): the conditional update when the change fits in one
 * statement (fastest, no lock held across round trips); `FOR UPDATE` when the decision needs the
 * row and other reads; optimistic when conflicts are rare; the fenced lock when the work between
 * the read and the write leaves the database (a foreign call) and must not hold a connection.
 *
 * @module
 */
import type { Pool, PoolClient } from 'pg';
import { errorGuard, FaultlineError } from '../../core/errors.js';
import type { Runtime } from '../../core/runtime.js';
import { systemRuntime } from '../../core/system.js';
import { integerIn, rangeError } from '../../core/validate.js';
// Only the coordination module's public API (its internals are free to move).
import type { Lock } from '../../coord/index.js';
import { StaleTokenError } from '../../coord/index.js';
import { pgFencedWrite, quoteIdent } from './fence.js';
import { Retry } from '../../resilience/retry.js';

/** The row a helper updates: `table` (optionally `schema.table`) and its key. */
export interface RowTarget {
  readonly table: string;
  /** The key column (default `id`). */
  readonly idColumn?: string;
  /** The key's value. */
  readonly id: unknown;
}

/**
 * Decides the write from the row as read: the columns to set, or `null` to write nothing (for
 * example "sold out"). Runs again on every optimistic retry, so keep it free of side effects.
 */
export type Change<Row> = (row: Row) => Readonly<Record<string, unknown>> | null;

/** What an update helper did. */
export type UpdateOutcome<Row> =
  | {
      readonly kind: 'updated';
      readonly before: Row;
      readonly set: Readonly<Record<string, unknown>>;
    }
  | { readonly kind: 'unchanged'; readonly before: Row }
  | { readonly kind: 'missing' };

/** The optimistic update met a newer version on every one of its `attempts`. */
export class OptimisticConflictError extends FaultlineError {
  override name = 'OptimisticConflictError';
  /** The row's table. */
  readonly table: string;
  /** Attempts made, the first included. */
  readonly attempts: number;

  constructor(table: string, attempts: number) {
    super(
      'FAULTLINE_OPTIMISTIC_CONFLICT',
      `optimistic update of a row of ${JSON.stringify(table)} conflicted on all ${attempts} attempts`,
    );
    this.table = table;
    this.attempts = attempts;
  }
}

/** True when `e` is an {@link OptimisticConflictError}. */
export const isOptimisticConflictError = errorGuard(OptimisticConflictError);

function names(target: RowTarget): { table: string; id: string } {
  if (typeof target !== 'object' || target === null)
    throw rangeError('target', 'an object', target);
  return {
    table: quoteIdent('table', target.table),
    id: quoteIdent('idColumn', target.idColumn ?? 'id'),
  };
}

/** `"a" = $n, "b" = $n+1 ...` for the columns of `set`, numbered from `first`. */
function assignments(
  set: Readonly<Record<string, unknown>>,
  first: number,
): { sql: string; values: unknown[] } {
  const cols = Object.keys(set);
  if (cols.length === 0)
    throw rangeError('change', 'null or an object with at least one column', '{}');
  return {
    sql: cols.map((c, i) => `${quoteIdent(`set.${c}`, c)} = $${first + i}`).join(', '),
    values: cols.map((c) => set[c]),
  };
}

async function inTransaction<T>(pool: Pool, fn: (tx: PoolClient) => Promise<T>): Promise<T> {
  const tx = await pool.connect();
  let open = false;
  try {
    await tx.query('BEGIN');
    open = true;
    const result = await fn(tx);
    await tx.query('COMMIT');
    open = false;
    return result;
  } finally {
    if (open) await tx.query('ROLLBACK').catch(() => undefined);
    tx.release();
  }
}

/**
 * Pessimistic: reads the row with `SELECT … FOR UPDATE` (other writers of the row wait), applies
 * `change`, writes, commits.
 *
 * @example
 * await updateForUpdate(pool, { table: 'items', id: 42 }, (row) => (row.qty > 0 ? { qty: row.qty - 1 } : null));
 */
export async function updateForUpdate<Row extends object>(
  pool: Pool,
  target: RowTarget,
  change: Change<Row>,
): Promise<UpdateOutcome<Row>> {
  const n = names(target);
  return inTransaction(pool, async (tx) => {
    const read = await tx.query(`SELECT * FROM ${n.table} WHERE ${n.id} = $1 FOR UPDATE`, [
      target.id,
    ]);
    const before = read.rows[0] as Row | undefined;
    if (before === undefined) return { kind: 'missing' };
    const set = change(before);
    if (set === null) return { kind: 'unchanged', before };
    const a = assignments(set, 2);
    await tx.query(`UPDATE ${n.table} SET ${a.sql} WHERE ${n.id} = $1`, [target.id, ...a.values]);
    return { kind: 'updated', before, set };
  });
}

/** Options of {@link updateOptimistic}. */
export interface OptimisticOptions {
  /** The version column, an integer the helper increments on every write (default `version`). */
  versionColumn?: string;
  /** Attempts in total (default 10, in [1, 1000]); then {@link OptimisticConflictError}. */
  maxAttempts?: number;
  /** First backoff cap in ms (default 2); doubles per attempt up to `capMs`, full jitter. */
  baseMs?: number;
  /** Largest backoff in ms (default 100). */
  capMs?: number;
  /** Time, timers and jitter (default: the system runtime). */
  runtime?: Runtime;
}

class VersionConflict extends Error {}

/**
 * Optimistic: reads the row without locking, applies `change`, and writes only if the version is
 * still the one read (`WHERE version = $v`), incrementing it; on a conflict, waits a jittered
 * backoff and starts over, at most `maxAttempts` times.
 *
 * @example
 * await updateOptimistic(pool, { table: 'items', id: 42 }, (row) => (row.qty > 0 ? { qty: row.qty - 1 } : null));
 */
export async function updateOptimistic<Row extends object>(
  pool: Pool,
  target: RowTarget,
  change: Change<Row>,
  options: OptimisticOptions = {},
): Promise<UpdateOutcome<Row>> {
  const n = names(target);
  const versionName = options.versionColumn ?? 'version';
  const version = quoteIdent('versionColumn', versionName);
  const maxAttempts = integerIn('maxAttempts', options.maxAttempts ?? 10, 1, 1000);
  const retry = new Retry({
    maxAttempts,
    backoff: { baseMs: options.baseMs ?? 2, capMs: options.capMs ?? 100, jitter: 'full' },
    shouldRetry: (o) => o.kind === 'error' && o.error instanceof VersionConflict,
    runtime: options.runtime ?? systemRuntime(),
  });
  try {
    return await retry.execute(async (): Promise<UpdateOutcome<Row>> => {
      const read = await pool.query(`SELECT * FROM ${n.table} WHERE ${n.id} = $1`, [target.id]);
      const before = read.rows[0] as Row | undefined;
      if (before === undefined) return { kind: 'missing' };
      const set = change(before);
      if (set === null) return { kind: 'unchanged', before };
      const a = assignments(set, 3);
      const seen = (before as Record<string, unknown>)[versionName];
      const written = await pool.query(
        `UPDATE ${n.table} SET ${a.sql}, ${version} = ${version} + 1 WHERE ${n.id} = $1 AND ${version} = $2`,
        [target.id, seen, ...a.values],
      );
      if (written.rowCount !== 1) throw new VersionConflict();
      return { kind: 'updated', before, set };
    });
  } catch (error) {
    if (error instanceof VersionConflict)
      throw new OptimisticConflictError(target.table, maxAttempts);
    throw error;
  }
}

/** Options of {@link updateUnderLock}. */
export interface FencedLockOptions {
  /** The `bigint` column holding the newest accepted fencing token (default `fence`). */
  fenceColumn?: string;
  /** The lease's TTL in ms (default 10,000). */
  ttlMs?: number;
  /** How long to wait for the lease in ms (default 10,000). */
  waitMs?: number;
  /** The lock key (default `<table>/<id>`). */
  lockKey?: string;
}

/**
 * A fenced distributed lock: acquires a lease on the row from `lock` (any backend), reads the row,
 * applies `change`, and writes it with the lease's fencing token (`pgFencedWrite`): a holder whose
 * lease expired while it worked is refused with {@link StaleTokenError} once a newer holder wrote.
 *
 * @example
 * const lock = new Lock(new PostgresLockBackend({ pool }));
 * await updateUnderLock(pool, lock, { table: 'items', id: 42 }, (row) => (row.qty > 0 ? { qty: row.qty - 1 } : null));
 */
export async function updateUnderLock<Row extends object>(
  pool: Pool,
  lock: Lock,
  target: RowTarget,
  change: Change<Row>,
  options: FencedLockOptions = {},
): Promise<UpdateOutcome<Row>> {
  const n = names(target);
  const lease = await lock.acquire(options.lockKey ?? `${target.table}/${String(target.id)}`, {
    ttlMs: options.ttlMs ?? 10_000,
    waitMs: options.waitMs ?? 10_000,
  });
  try {
    const read = await pool.query(`SELECT * FROM ${n.table} WHERE ${n.id} = $1`, [target.id]);
    const before = read.rows[0] as Row | undefined;
    if (before === undefined) return { kind: 'missing' };
    const set = change(before);
    if (set === null) return { kind: 'unchanged', before };
    const written = await pgFencedWrite(pool, lease.token, {
      table: target.table,
      keyColumn: target.idColumn ?? 'id',
      key: target.id,
      fenceColumn: options.fenceColumn ?? 'fence',
      set,
    });
    if (written.kind === 'stale')
      throw new StaleTokenError(
        `${target.table}/${String(target.id)}`,
        lease.token,
        written.current,
      );
    return { kind: 'updated', before, set };
  } finally {
    await lease.release().catch(() => undefined);
  }
}

/** The statement of {@link conditionalUpdate}. */
export interface ConditionalUpdate extends RowTarget {
  /** The SQL assignments, e.g. `qty = qty - 1` (trusted code, never user input). */
  readonly set: string;
  /** The SQL condition the row must meet, e.g. `qty > 0` (trusted code, never user input). */
  readonly where: string;
  /** Parameters the fragments use as `$2`, `$3`, ... (`$1` is the id). */
  readonly values?: readonly unknown[];
}

/**
 * Atomic conditional update: one `UPDATE … SET <set> WHERE <id> = $1 AND (<where>) RETURNING *`.
 * The database checks the condition and writes under the row's lock in one step, so there is no
 * read-modify-write window at all. `updated` with the new row, or `unchanged` when the condition
 * failed (or the row does not exist).
 *
 * @example
 * const r = await conditionalUpdate(pool, { table: 'items', id: 42, set: 'qty = qty - 1', where: 'qty > 0' });
 * if (r.kind === 'unchanged') throw new SoldOut();
 */
export async function conditionalUpdate<Row extends object>(
  pool: Pick<Pool, 'query'>,
  update: ConditionalUpdate,
): Promise<{ readonly kind: 'updated'; readonly row: Row } | { readonly kind: 'unchanged' }> {
  const n = names(update);
  if (typeof update.set !== 'string' || update.set.trim() === '')
    throw rangeError('set', 'SQL assignments', update.set);
  if (typeof update.where !== 'string' || update.where.trim() === '')
    throw rangeError('where', 'an SQL condition', update.where);
  const res = await pool.query(
    `UPDATE ${n.table} SET ${update.set} WHERE ${n.id} = $1 AND (${update.where}) RETURNING *`,
    [update.id, ...(update.values ?? [])],
  );
  const row = res.rows[0] as Row | undefined;
  return row === undefined ? { kind: 'unchanged' } : { kind: 'updated', row };
}

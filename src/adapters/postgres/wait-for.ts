/**
 * PostgreSQL's waits as wait-for edges between global transactions, for a deadlock detector that
 * spans several databases ({@link findDeadlocks} in `faultline/deadlock`). PostgreSQL finds the
 * cycles inside one server itself; a cycle through another database it cannot see.
 *
 * @module
 */
import type { Pool, PoolClient } from 'pg';
import { integerIn } from '../../core/validate.js';
import type { WaitForEdge } from '../../deadlock/global.js';

/** Anything that runs a query: a `pg.Pool`, a `pg.PoolClient` or a `pg.Client`. */
export type PostgresQueryable = Pick<Pool | PoolClient, 'query'>;

/** Options of {@link postgresWaitForEdges}. */
export interface PostgresWaitForOptions {
  /**
   * The global transaction id of a backend pid, or undefined for a session that takes part in no
   * global transaction (default: `pg:<pid>`, every session by its pid).
   */
  readonly globalIdOf?: (pid: number) => string | undefined;
  /** The `source` of the edges (default `postgres`). */
  readonly source?: string;
}

/**
 * The waits of this server right now: one edge per (waiting backend, backend blocking it), read
 * from `pg_locks` through `pg_blocking_pids()` (PostgreSQL's own reading of the lock table, which
 * also counts a waiter queued ahead as blocking) and restricted to backends whose
 * `pg_stat_activity.wait_event_type` is `Lock`. Edges whose waiter or holder has no global id are
 * dropped. Needs `pg_read_all_stats` (or superuser) to see other roles' sessions.
 *
 * @example
 * const edges = await postgresWaitForEdges(pool, { globalIdOf: (pid) => txnByPid.get(pid) });
 */
export async function postgresWaitForEdges(
  db: PostgresQueryable,
  options: PostgresWaitForOptions = {},
): Promise<WaitForEdge[]> {
  const source = options.source ?? 'postgres';
  const globalIdOf = options.globalIdOf ?? ((pid: number) => `pg:${pid}`);
  const result = await db.query<{ waiter: number; holder: number }>(
    `SELECT a.pid AS waiter, b.pid AS holder
       FROM pg_stat_activity a, unnest(pg_blocking_pids(a.pid)) AS b(pid)
      WHERE a.wait_event_type = 'Lock'`,
  );
  const out: WaitForEdge[] = [];
  for (const row of result.rows) {
    const waiterSession = integerIn('pid', Number(row.waiter), 1, 2 ** 31 - 1);
    const holderSession = integerIn('pid', Number(row.holder), 1, 2 ** 31 - 1);
    const waiter = globalIdOf(waiterSession);
    const holder = globalIdOf(holderSession);
    if (waiter === undefined || holder === undefined) continue;
    out.push({ waiter, holder, source, waiterSession, holderSession });
  }
  return out;
}

/**
 * Cancels the statement backend `pid` runs (`pg_cancel_backend`): a lock wait fails with SQLSTATE
 * 57014 and the transaction is left aborted, for its owner to roll back. Resolves to false when
 * no such backend exists.
 */
export async function cancelPostgresWait(db: PostgresQueryable, pid: number): Promise<boolean> {
  integerIn('pid', pid, 1, 2 ** 31 - 1);
  const result = await db.query<{ ok: boolean }>('SELECT pg_cancel_backend($1) AS ok', [pid]);
  return result.rows[0]?.ok === true;
}

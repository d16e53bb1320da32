/**
 * MariaDB's (InnoDB's) waits as wait-for edges between global transactions, for a deadlock
 * detector that spans several databases ({@link findDeadlocks} in `faultline/deadlock`). InnoDB
 * finds the cycles inside one server itself; a cycle through another database it cannot see.
 *
 * @module
 */
import type { Connection, Pool, PoolConnection } from 'mariadb';
import { integerIn } from '../../core/validate.js';
import type { WaitForEdge } from '../../deadlock/global.js';

/** Anything that runs a query: a `mariadb` pool or connection. */
export type MariadbQueryable = Pick<Pool | PoolConnection | Connection, 'query'>;

/** Options of {@link mariadbWaitForEdges}. */
export interface MariadbWaitForOptions {
  /**
   * The global transaction id of a connection (thread) id — `SELECT CONNECTION_ID()` on the
   * session — or undefined for one that takes part in no global transaction (default
   * `mariadb:<thread id>`).
   */
  readonly globalIdOf?: (threadId: number) => string | undefined;
  /** The `source` of the edges (default `mariadb`). */
  readonly source?: string;
}

/**
 * The waits of this server right now, one edge per (waiting transaction, transaction blocking it),
 * from `information_schema.INNODB_LOCK_WAITS` joined with `INNODB_TRX` for the sessions' thread
 * ids (MariaDB has no `performance_schema.data_lock_waits`). Needs the `PROCESS` privilege.
 *
 * @example
 * const edges = await mariadbWaitForEdges(pool, { globalIdOf: (id) => txnByThread.get(id) });
 */
export async function mariadbWaitForEdges(
  db: MariadbQueryable,
  options: MariadbWaitForOptions = {},
): Promise<WaitForEdge[]> {
  const source = options.source ?? 'mariadb';
  const globalIdOf = options.globalIdOf ?? ((id: number) => `mariadb:${id}`);
  const rows = (await db.query(
    `SELECT r.trx_mysql_thread_id AS waiter, b.trx_mysql_thread_id AS holder
       FROM information_schema.INNODB_LOCK_WAITS w
       JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id
       JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id`,
  )) as { waiter: number | bigint; holder: number | bigint }[];
  const out: WaitForEdge[] = [];
  for (const row of rows) {
    const waiterSession = threadId(row.waiter);
    const holderSession = threadId(row.holder);
    const waiter = globalIdOf(waiterSession);
    const holder = globalIdOf(holderSession);
    if (waiter === undefined || holder === undefined) continue;
    out.push({ waiter, holder, source, waiterSession, holderSession });
  }
  return out;
}

function threadId(value: number | bigint): number {
  return integerIn('thread id', Number(value), 1, Number.MAX_SAFE_INTEGER);
}

/**
 * Interrupts the statement thread `threadId` runs (`KILL QUERY`): a lock wait fails with error
 * 1317 (`ER_QUERY_INTERRUPTED`) and the transaction stays open, for its owner to roll back.
 */
export async function cancelMariadbWait(db: MariadbQueryable, threadId: number): Promise<void> {
  integerIn('threadId', threadId, 1, Number.MAX_SAFE_INTEGER);
  await db.query(`KILL QUERY ${threadId}`);
}

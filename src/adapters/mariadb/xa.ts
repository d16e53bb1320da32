/**
 * Two-phase commit on MariaDB with XA: `XA START` / `XA END` / `XA PREPARE` for a branch,
 * `XA COMMIT` / `XA ROLLBACK` for phase 2 from any connection, and `XA RECOVER` for recovery.
 * Needs MariaDB 10.5 or later, where a prepared XA transaction survives the disconnect of the
 * session that prepared it (MDEV-742).
 *
 * @module
 */
import type { Pool, PoolConnection } from 'mariadb';
import { assert } from '../../core/assert.js';
import { FaultlineError } from '../../core/errors.js';
import { nonEmptyString, rangeError } from '../../core/validate.js';
import { isGid } from '../../txn/gid.js';
import type { Branch, Participant } from '../../txn/types.js';

/** MariaDB error 1397, XAER_NOTA: "Unknown XID". */
const XAER_NOTA = 1397;

/**
 * A prepared XA transaction is still attached to the session that prepared it (its disconnect
 * has not reached the server yet), so another session cannot finish it yet. Retry shortly.
 */
export class XaStillAttachedError extends FaultlineError {
  override name = 'XaStillAttachedError';
  constructor(gid: string) {
    super(
      'FAULTLINE_XA_STILL_ATTACHED',
      `XA transaction ${gid} is still attached to the session that prepared it; retry`,
    );
  }
}

function literal(gid: string): string {
  assert(isGid(gid), `a well-formed gid (got ${JSON.stringify(gid)})`);
  return `'${gid}'`;
}

function errnoOf(error: unknown): number | undefined {
  return (error as { errno?: unknown })?.errno as number | undefined;
}

/** A MariaDB branch: run the transaction's statements on {@link MariadbBranch.connection}. */
export class MariadbBranch implements Branch {
  private done = false;

  constructor(
    /** The branch's connection, inside `XA START`. Do not commit or roll back on it. */
    readonly connection: PoolConnection,
    readonly gid: string,
  ) {}

  /**
   * `XA END` + `XA PREPARE`, then closes the connection: a prepared XA transaction stays attached
   * to its session, and only a disconnect hands it to the server so that phase 2 (or recovery)
   * can finish it from another connection.
   */
  async prepare(): Promise<void> {
    assert(!this.done, 'a branch is prepared or aborted once');
    this.done = true;
    try {
      await this.connection.query(`XA END ${literal(this.gid)}`);
      await this.connection.query(`XA PREPARE ${literal(this.gid)}`);
    } finally {
      await this.connection.destroy();
    }
  }

  /** `XA END` + `XA ROLLBACK`, and closes the connection. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      await this.connection.query(`XA END ${literal(this.gid)}`);
      await this.connection.query(`XA ROLLBACK ${literal(this.gid)}`);
    } catch {
      // The disconnect below rolls back an XA transaction that was not prepared.
    } finally {
      await this.connection.destroy();
    }
  }
}

/** Options of a {@link MariadbParticipant}. */
export interface MariadbParticipantOptions {
  /** Name within the coordinator, stable across restarts. */
  name: string;
  /**
   * A `mariadb` pool (`mariadb.createPool(...)`). A branch takes one connection from `begin` to its
   * prepare and then closes it (see {@link MariadbBranch.prepare}).
   */
  pool: Pool;
}

/**
 * A MariaDB server as a two-phase-commit participant over XA.
 *
 * @example
 * const stock = new MariadbParticipant({ name: 'stock', pool: mariadb.createPool(config) });
 * await coordinator.transaction(async (tx) => {
 *   const branch = await tx.enlist(stock);
 *   await branch.connection.query('UPDATE shop.stock SET count = count - 1 WHERE id = ?', [7]);
 * });
 */
export class MariadbParticipant implements Participant<MariadbBranch> {
  readonly name: string;
  private readonly pool: Pool;

  constructor(options: MariadbParticipantOptions) {
    this.name = nonEmptyString('name', options.name);
    if (typeof options.pool?.getConnection !== 'function')
      throw rangeError('pool', 'a mariadb Pool', options.pool);
    this.pool = options.pool;
  }

  async begin(gid: string): Promise<MariadbBranch> {
    const connection = await this.pool.getConnection();
    try {
      await connection.query(`XA START ${literal(gid)}`);
    } catch (error) {
      await connection.destroy();
      throw error;
    }
    return new MariadbBranch(connection, gid);
  }

  async commitPrepared(gid: string): Promise<void> {
    await this.finish('COMMIT', gid);
  }

  async rollbackPrepared(gid: string): Promise<void> {
    await this.finish('ROLLBACK', gid);
  }

  async listPrepared(prefix: string): Promise<string[]> {
    const rows = (await this.pool.query('XA RECOVER')) as {
      gtrid_length: number | bigint;
      data: Buffer | string;
    }[];
    const out: string[] = [];
    for (const row of rows) {
      const data = typeof row.data === 'string' ? Buffer.from(row.data, 'latin1') : row.data;
      const gid = data.subarray(0, Number(row.gtrid_length)).toString('latin1');
      if (gid.startsWith(prefix) && isGid(gid)) out.push(gid);
    }
    return out;
  }

  /**
   * XA COMMIT/ROLLBACK. "Unknown XID" means settled, unless `XA RECOVER` still lists the gid: then
   * the preparing session has not been detached yet, and the call must be retried.
   */
  private async finish(verb: 'COMMIT' | 'ROLLBACK', gid: string): Promise<void> {
    try {
      await this.pool.query(`XA ${verb} ${literal(gid)}`);
    } catch (error) {
      if (errnoOf(error) !== XAER_NOTA) throw error;
      if ((await this.listPrepared(gid)).includes(gid)) throw new XaStillAttachedError(gid);
    }
  }
}

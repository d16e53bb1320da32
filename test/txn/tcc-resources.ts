/**
 * The two TCC resources of the coordinator crash tests, on one PostgreSQL database: `payer`
 * reserves money, `stock` reserves items, each from the row of `tcc_crash` its input names (every
 * test case has its own rows, so cases run concurrently). Each Try moves `amount`
 * from `free` to `frozen`, Confirm from `frozen` to `spent`, Cancel back to `free`. Hooks let the
 * child process run code inside an action's transaction (to SIGKILL itself there).
 */
import type pg from 'pg';
import { PostgresDecisionLog, PostgresTccFenceStore } from '../../src/adapters/postgres/index.js';
import { TccResource } from '../../src/txn/index.js';
import type { TccParticipant } from '../../src/txn/index.js';

export const BRANCHES = ['payer', 'stock'] as const;
export type BranchName = (typeof BRANCHES)[number];
export type Action = 'try' | 'confirm' | 'cancel';
/** The row of `branch` in test case `index`. */
export function rowOf(index: number, branch: BranchName): number {
  return 2 * index + (branch === 'payer' ? 1 : 2);
}
export const INITIAL = 100;
export const DECISION_TABLE = 'tcc_crash_decisions';

export interface Amount {
  readonly amount: number;
  /** The row of `tcc_crash` to reserve from. */
  readonly row: number;
}

/** Runs before (`before`) and after (`after`) an action's statement, inside its transaction. */
export type ActionHook = (
  branch: BranchName,
  action: Action,
  when: 'before' | 'after',
  gid: string,
) => Promise<void>;

/** The two resources and the decision log over `pool`. */
export function tccSetup(pool: pg.Pool, hook: ActionHook = () => Promise.resolve()) {
  const store = new PostgresTccFenceStore({ pool });
  const log = new PostgresDecisionLog({ pool, table: DECISION_TABLE });
  const resource = (branch: BranchName) => {
    const run = async (
      db: pg.PoolClient,
      gid: string,
      action: Action,
      sql: string,
      { amount, row }: Amount,
    ) => {
      await hook(branch, action, 'before', gid);
      const r = await db.query(sql, [row, amount]);
      if (r.rowCount !== 1) throw new Error(`${branch}: not enough for ${action} of ${amount}`);
      await hook(branch, action, 'after', gid);
    };
    return new TccResource<pg.PoolClient, Amount>({
      name: branch,
      store,
      actions: {
        try: (db, input, { gid }) =>
          run(
            db,
            gid,
            'try',
            'UPDATE tcc_crash SET free = free - $2, frozen = frozen + $2 WHERE id = $1 AND free >= $2',
            input,
          ),
        confirm: (db, input, { gid }) =>
          run(
            db,
            gid,
            'confirm',
            'UPDATE tcc_crash SET frozen = frozen - $2, spent = spent + $2 WHERE id = $1',
            input,
          ),
        cancel: (db, input, { gid }) =>
          run(
            db,
            gid,
            'cancel',
            'UPDATE tcc_crash SET frozen = frozen - $2, free = free + $2 WHERE id = $1',
            input,
          ),
      },
    });
  };
  const resources = { payer: resource('payer'), stock: resource('stock') };
  const participants = BRANCHES.map((b) => resources[b]) as TccParticipant<never>[];
  return { store, log, resources, participants };
}

/** Creates the table of the resources and the fence and decision tables. */
export async function createTccTables(pool: pg.Pool): Promise<void> {
  const { store, log } = tccSetup(pool);
  await store.ensureSchema();
  await log.ensureSchema();
  await pool.query(
    `CREATE TABLE IF NOT EXISTS tcc_crash (id int PRIMARY KEY, free int NOT NULL CHECK (free >= 0),
       frozen int NOT NULL CHECK (frozen >= 0), spent int NOT NULL)`,
  );
}

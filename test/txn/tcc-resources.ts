/**
 * The two TCC resources of the coordinator crash tests, on one PostgreSQL database: `payer`
 * reserves money from account 1, `stock` reserves items of product 2. Each Try moves `amount`
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
export const ROW_OF: Record<BranchName, number> = { payer: 1, stock: 2 };
export const INITIAL = 100;
export const DECISION_TABLE = 'tcc_crash_decisions';

export interface Amount {
  readonly amount: number;
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
    const id = ROW_OF[branch];
    const run = async (
      db: pg.PoolClient,
      gid: string,
      action: Action,
      sql: string,
      amount: number,
    ) => {
      await hook(branch, action, 'before', gid);
      const r = await db.query(sql, [id, amount]);
      if (r.rowCount !== 1) throw new Error(`${branch}: not enough for ${action} of ${amount}`);
      await hook(branch, action, 'after', gid);
    };
    return new TccResource<pg.PoolClient, Amount>({
      name: branch,
      store,
      actions: {
        try: (db, { amount }, { gid }) =>
          run(
            db,
            gid,
            'try',
            'UPDATE tcc_crash SET free = free - $2, frozen = frozen + $2 WHERE id = $1 AND free >= $2',
            amount,
          ),
        confirm: (db, { amount }, { gid }) =>
          run(
            db,
            gid,
            'confirm',
            'UPDATE tcc_crash SET frozen = frozen - $2, spent = spent + $2 WHERE id = $1',
            amount,
          ),
        cancel: (db, { amount }, { gid }) =>
          run(
            db,
            gid,
            'cancel',
            'UPDATE tcc_crash SET frozen = frozen - $2, free = free + $2 WHERE id = $1',
            amount,
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

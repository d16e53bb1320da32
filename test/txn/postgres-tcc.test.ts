/**
 * TCC with the fence table on a real PostgreSQL server (the harness's private instance): Confirm
 * and Cancel once, a Cancel before its Try refusing the late Try, Try and Cancel racing from
 * separate connections, a session killed in the middle of a Try and the server SIGKILLed in the
 * middle of a Confirm.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PostgresDecisionLog, PostgresTccFenceStore } from '../../src/adapters/postgres/index.js';
import {
  TccCoordinator,
  TccResource,
  isTccHangingTryError,
  isTccNothingReservedError,
  isTxnAbortedError,
  tccBranch,
} from '../../src/txn/index.js';
import type { TccParticipant } from '../../src/txn/index.js';
import { postgres } from '../services/index.js';
import type { PostgresServer } from '../services/index.js';

let server: PostgresServer;
let pool: pg.Pool;
let store: PostgresTccFenceStore;
const signal = new AbortController().signal;

beforeAll(async () => {
  server = await postgres();
  pool = new pg.Pool({ ...server.connection, max: 20 });
  pool.on('error', () => undefined);
  store = new PostgresTccFenceStore({ pool });
  await store.ensureSchema();
  await pool.query(
    `CREATE TABLE tcc_accounts (id int PRIMARY KEY, free int NOT NULL CHECK (free >= 0),
       frozen int NOT NULL CHECK (frozen >= 0), spent int NOT NULL)`,
  );
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await server?.cleanup();
});

beforeEach(async () => {
  await pool.query('TRUNCATE tcc_accounts, faultline_tcc_fence');
  await pool.query('INSERT INTO tcc_accounts VALUES (1, 100, 0, 0), (2, 100, 0, 0)');
});

interface Spend {
  readonly id: number;
  readonly amount: number;
}

type Hook = (client: pg.PoolClient) => Promise<void>;

/** An account resource: Try freezes `amount`, Confirm spends it, Cancel frees it. */
function accounts(name = 'accounts', hooks: { afterTry?: Hook; afterConfirm?: Hook } = {}) {
  return new TccResource<pg.PoolClient, Spend>({
    name,
    store,
    actions: {
      try: async (db, { id, amount }) => {
        const r = await db.query(
          'UPDATE tcc_accounts SET free = free - $2, frozen = frozen + $2 WHERE id = $1 AND free >= $2',
          [id, amount],
        );
        if (r.rowCount !== 1) throw new Error('insufficient funds');
        await hooks.afterTry?.(db);
      },
      confirm: async (db, { id, amount }) => {
        await db.query(
          'UPDATE tcc_accounts SET frozen = frozen - $2, spent = spent + $2 WHERE id = $1',
          [id, amount],
        );
        await hooks.afterConfirm?.(db);
      },
      cancel: async (db, { id, amount }) => {
        await db.query(
          'UPDATE tcc_accounts SET frozen = frozen - $2, free = free + $2 WHERE id = $1',
          [id, amount],
        );
      },
    },
  });
}

async function account(id: number): Promise<{ free: number; frozen: number; spent: number }> {
  const r = await pool.query('SELECT free, frozen, spent FROM tcc_accounts WHERE id = $1', [id]);
  return r.rows[0];
}

const key = (gid: string) => ({ gid, branchId: 'accounts' });

describe('PostgresTccFenceStore', () => {
  it('confirms and cancels once, however often they are repeated', async () => {
    const a = accounts();
    expect(await a.try('t.1', { id: 1, amount: 10 }, signal)).toBe('tried');
    expect(await a.try('t.1', { id: 1, amount: 10 }, signal)).toBe('duplicate');
    expect(await account(1)).toEqual({ free: 90, frozen: 10, spent: 0 });
    expect(await a.confirm('t.1', signal)).toBe('confirmed');
    expect(await a.confirm('t.1', signal)).toBe('duplicate');
    await a.try('t.2', { id: 1, amount: 5 }, signal);
    expect(await a.cancel('t.2', signal)).toBe('cancelled');
    expect(await a.cancel('t.2', signal)).toBe('duplicate');
    expect(await account(1)).toEqual({ free: 90, frozen: 0, spent: 10 });
    expect(await store.state(key('t.1'))).toBe('confirmed');
    expect(await store.state(key('t.2'))).toBe('cancelled');
  });

  it('records a Cancel before its Try and refuses the hanging Try', async () => {
    const a = accounts();
    expect(await a.cancel('t.3', signal)).toBe('empty');
    const late = await a.try('t.3', { id: 1, amount: 10 }, signal).catch((e: unknown) => e);
    expect(isTccHangingTryError(late)).toBe(true);
    expect(await account(1)).toEqual({ free: 100, frozen: 0, spent: 0 });
    expect(await store.state(key('t.3'))).toBe('cancelled');
  });

  it('refuses a Confirm with nothing reserved and rolls back a failed reservation', async () => {
    const a = accounts();
    const none = await a.confirm('t.4', signal).catch((e: unknown) => e);
    expect(isTccNothingReservedError(none)).toBe(true);
    expect(await store.state(key('t.4'))).toBeUndefined();
    await expect(a.try('t.5', { id: 1, amount: 1000 }, signal)).rejects.toThrow(
      'insufficient funds',
    );
    expect(await store.state(key('t.5'))).toBeUndefined();
    expect(await a.cancel('t.5', signal)).toBe('empty');
    expect(await account(1)).toEqual({ free: 100, frozen: 0, spent: 0 });
  });

  it('serialises a Cancel that arrives while the Try is in its transaction (two connections)', async () => {
    let enter = (): void => undefined;
    const entered = new Promise<void>((r) => (enter = r));
    let open = (): void => undefined;
    const gate = new Promise<void>((r) => (open = r));
    const a = accounts('accounts', {
      afterTry: async () => {
        enter();
        await gate;
      },
    });
    const trying = a.try('t.6', { id: 1, amount: 10 }, signal);
    await entered;
    const cancelling = a.cancel('t.6', signal);
    // The Cancel's insert waits on the Try's uncommitted row: its session is blocked on a lock.
    let blocked = false;
    for (let i = 0; i < 200; i++) {
      const r = await pool.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO faultline_tcc_fence%'",
      );
      if (r.rows[0].n === 1) {
        blocked = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(blocked).toBe(true);
    open();
    expect(await Promise.all([trying, cancelling])).toEqual(['tried', 'cancelled']);
    expect(await account(1)).toEqual({ free: 100, frozen: 0, spent: 0 });
  });

  it('keeps the money whole when 60 Try/Cancel pairs race on separate connections', async () => {
    const a = accounts();
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const gid = `race.${i}`;
        const [t, c] = await Promise.allSettled(
          i % 2 === 0
            ? [a.try(gid, { id: 2, amount: 1 }, signal), a.cancel(gid, signal)]
            : [a.cancel(gid, signal), a.try(gid, { id: 2, amount: 1 }, signal)].reverse(),
        );
        if (t?.status === 'fulfilled') {
          expect(c).toEqual({ status: 'fulfilled', value: 'cancelled' });
          return 'try first';
        }
        expect(isTccHangingTryError((t as PromiseRejectedResult).reason)).toBe(true);
        expect(c).toEqual({ status: 'fulfilled', value: 'empty' });
        return 'cancel first';
      }),
    );
    expect(outcomes).toHaveLength(60);
    expect(await account(2)).toEqual({ free: 100, frozen: 0, spent: 0 });
    const rows = await pool.query(
      "SELECT count(*)::int AS n FROM faultline_tcc_fence WHERE state = 'cancelled'",
    );
    expect(rows.rows[0].n).toBe(60);
  });

  it('rolls back a Try whose session dies in the middle; its Cancel is empty and a retry refused', async () => {
    const a = accounts('accounts', {
      afterTry: async (db) => {
        const pid = (await db.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
        // The client dies after the reservation ran and before COMMIT.
        await pool.query('SELECT pg_terminate_backend($1)', [pid]);
      },
    });
    await expect(a.try('t.7', { id: 1, amount: 10 }, signal)).rejects.toThrow();
    expect(await account(1)).toEqual({ free: 100, frozen: 0, spent: 0 });
    expect(await store.state(key('t.7'))).toBeUndefined();
    const b = accounts();
    expect(await b.cancel('t.7', signal)).toBe('empty');
    await expect(b.try('t.7', { id: 1, amount: 10 }, signal)).rejects.toSatisfy(
      isTccHangingTryError,
    );
  });

  it('confirms exactly once after the server is SIGKILLed in the middle of a Confirm', async () => {
    let crash = true;
    const a = accounts('accounts', {
      afterConfirm: async () => {
        if (!crash) return;
        crash = false;
        await server.kill();
      },
    });
    await a.try('t.8', { id: 1, amount: 10 }, signal);
    await expect(a.confirm('t.8', signal)).rejects.toThrow();
    await server.start();
    expect(await store.state(key('t.8'))).toBe('tried');
    expect(await account(1)).toEqual({ free: 90, frozen: 10, spent: 0 });
    expect(await a.confirm('t.8', signal)).toBe('confirmed');
    expect(await a.confirm('t.8', signal)).toBe('duplicate');
    expect(await account(1)).toEqual({ free: 90, frozen: 0, spent: 10 });
  }, 60_000);

  it('refuses a bad table name and purges only settled rows', async () => {
    expect(() => new PostgresTccFenceStore({ pool, table: 'x; DROP' })).toThrow(/table/);
    const a = accounts();
    await a.try('t.9', { id: 1, amount: 1 }, signal);
    await a.cancel('t.10', signal);
    expect(await store.purgeSettled(0)).toBe(1);
    expect(await store.state(key('t.9'))).toBe('tried');
    await expect(store.purgeSettled(-1)).rejects.toThrow(/olderThanMs/);
  });
});

describe('TccCoordinator on PostgreSQL', () => {
  it('moves money between two branches, cancels both when one Try fails, and recovers', async () => {
    const log = new PostgresDecisionLog({ pool, table: 'tcc_decisions' });
    await log.ensureSchema();
    const payer = accounts('payer');
    const payee = new TccResource<pg.PoolClient, Spend>({
      name: 'payee',
      store,
      actions: {
        try: () => Promise.resolve(),
        confirm: async (db, { id, amount }) => {
          await db.query('UPDATE tcc_accounts SET free = free + $2 WHERE id = $1', [id, amount]);
        },
        cancel: () => Promise.resolve(),
      },
    });
    const participants = [payer, payee] as TccParticipant<never>[];
    const tcc = new TccCoordinator({ coordinatorId: 'pay', log, participants });
    await tcc.transaction([
      tccBranch(payer, { id: 1, amount: 30 }),
      tccBranch(payee, { id: 2, amount: 30 }),
    ]);
    expect(await account(1)).toEqual({ free: 70, frozen: 0, spent: 30 });
    expect((await account(2)).free).toBe(130);
    const error = await tcc
      .transaction([
        tccBranch(payer, { id: 1, amount: 500 }),
        tccBranch(payee, { id: 2, amount: 500 }),
      ])
      .catch((e: unknown) => e);
    expect(isTxnAbortedError(error)).toBe(true);
    expect(await account(1)).toEqual({ free: 70, frozen: 0, spent: 30 });
    expect((await account(2)).free).toBe(130);
    // A coordinator that died after its Tries, with no decision: recovery cancels.
    await payer.try('pay.00000000000000000000000000000001', { id: 1, amount: 5 }, signal);
    expect(await tcc.recover()).toEqual({ confirmed: 0, cancelled: 1, forgotten: 0, failed: [] });
    expect(await account(1)).toEqual({ free: 70, frozen: 0, spent: 30 });
  });
});

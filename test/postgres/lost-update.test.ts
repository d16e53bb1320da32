/**
 * Lost updates on a private PostgreSQL: 200 concurrent buyers on 50 units of one item. The naive
 * read-modify-write oversells; each of the four fixes sells exactly 50.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  PostgresLockBackend,
  conditionalUpdate,
  updateForUpdate,
  updateOptimistic,
  updateUnderLock,
} from '../../src/adapters/postgres/index.js';
import { Lock } from '../../src/coord/index.js';
import { postgres } from '../services/index.js';
import type { PostgresServer } from '../services/index.js';

const BUYERS = 200;
const STOCK = 50;

let server: PostgresServer;
let pool: pg.Pool;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  server = await postgres();
  pool = new pg.Pool({ ...server.connection, max: 40 });
  pool.on('error', () => undefined);
  await pool.query(
    'CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL, version int NOT NULL DEFAULT 0, fence bigint NOT NULL DEFAULT 0)',
  );
  await new PostgresLockBackend({ pool }).ensureSchema();
});

afterAll(async () => {
  for (const close of closers) await close();
  await pool?.end();
  await server?.cleanup();
});

type Item = { id: number; qty: number; version: number };
let nextItem = 1;

/** A fresh item with STOCK units; runs BUYERS concurrent `buy`s; returns units sold and stock left. */
async function sale(
  buy: (id: number) => Promise<boolean>,
): Promise<{ sold: number; left: number }> {
  const id = nextItem++;
  await pool.query('INSERT INTO items (id, qty) VALUES ($1, $2)', [id, STOCK]);
  const results = await Promise.all(Array.from({ length: BUYERS }, () => buy(id)));
  const left = (await pool.query('SELECT qty FROM items WHERE id = $1', [id])).rows[0]
    .qty as number;
  return { sold: results.filter(Boolean).length, left };
}

const takeOne = (row: Item) => (row.qty > 0 ? { qty: row.qty - 1 } : null);

describe('200 concurrent buyers on 50 units', () => {
  it('the naive read-modify-write oversells', async () => {
    const { sold } = await sale(async (id) => {
      const row = (await pool.query('SELECT qty FROM items WHERE id = $1', [id])).rows[0] as Item;
      if (row.qty <= 0) return false;
      await pool.query('UPDATE items SET qty = $2 WHERE id = $1', [id, row.qty - 1]);
      return true;
    });
    expect(sold).toBeGreaterThan(STOCK);
  });

  it('SELECT … FOR UPDATE sells exactly 50', async () => {
    const result = await sale(
      async (id) =>
        (await updateForUpdate<Item>(pool, { table: 'items', id }, takeOne)).kind === 'updated',
    );
    expect(result).toEqual({ sold: STOCK, left: 0 });
  });

  it('the optimistic version check with jittered retries sells exactly 50', async () => {
    const result = await sale(
      async (id) =>
        (
          await updateOptimistic<Item>(pool, { table: 'items', id }, takeOne, {
            maxAttempts: 1000,
            capMs: 50,
          })
        ).kind === 'updated',
    );
    expect(result).toEqual({ sold: STOCK, left: 0 });
  });

  // The lease-table lock backend wakes every waiter on each release: 200 contenders on one key take
  // tens of seconds on a loaded machine, hence the longer timeout.
  it('the fenced distributed lock sells exactly 50', async () => {
    const backend = new PostgresLockBackend({ pool });
    const lock = new Lock(backend);
    closers.push(async () => {
      await lock.close();
      await backend.close();
    });
    const result = await sale(
      async (id) =>
        (
          await updateUnderLock<Item>(pool, lock, { table: 'items', id }, takeOne, {
            waitMs: 60_000,
          })
        ).kind === 'updated',
    );
    expect(result).toEqual({ sold: STOCK, left: 0 });
    const fence = (
      await pool.query('SELECT fence::text AS f FROM items WHERE id = $1', [nextItem - 1])
    ).rows[0].f;
    expect(BigInt(fence)).toBeGreaterThan(0n);
  }, 300_000);

  it('the atomic conditional update sells exactly 50', async () => {
    const result = await sale(
      async (id) =>
        (
          await conditionalUpdate(pool, {
            table: 'items',
            id,
            set: 'qty = qty - 1',
            where: 'qty > 0',
          })
        ).kind === 'updated',
    );
    expect(result).toEqual({ sold: STOCK, left: 0 });
  });

  it('rejects identifiers that are not plain names', async () => {
    await expect(
      updateForUpdate(pool, { table: 'items; DROP TABLE items', id: 1 }, takeOne),
    ).rejects.toThrow(/^table must be/);
    await expect(
      conditionalUpdate(pool, {
        table: 'items',
        idColumn: 'id"',
        id: 1,
        set: 'qty = 1',
        where: 'true',
      }),
    ).rejects.toThrow(/^idColumn must be/);
  });
});

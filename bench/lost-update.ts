/**
 * `lost-update`: the four lost-update fixes of `faultline/postgres` on a private PostgreSQL from
 * the test harness. Each round puts 50 units of a fresh item on sale and lets 200 concurrent buyers
 * (a 40-connection pool) take one unit each; a round reports its throughput (buyers served per
 * second, sold or sold out) and the p99 of a buyer's latency. The naive read-modify-write runs in
 * the same rounds as the reference (it is fast because it is wrong: it oversells).
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type * as PostgresModule from '../src/adapters/postgres/index.js';
import type * as CoordModule from '../src/coord/index.js';
import { postgres } from '../test/services/index.js';
import type { BenchContext, BenchRow, BenchSuite } from './types.js';
import { compiled, median } from './util.js';

const BUYERS = 200;
const STOCK = 50;
const ROUNDS = 3;

type Item = { id: number; qty: number; version: number };
type Buy = (id: number) => Promise<boolean>;

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!;
}

async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const pgMod = await compiled<typeof PostgresModule>('adapters/postgres/index.js');
  const { Lock } = await compiled<typeof CoordModule>('coord/index.js');
  const server = await postgres();
  const pool = new pg.Pool({ ...server.connection, max: 40 });
  pool.on('error', () => undefined);
  const backend = new pgMod.PostgresLockBackend({ pool });
  const lock = new Lock(backend);
  try {
    await pool.query(
      'CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL, version int NOT NULL DEFAULT 0, fence bigint NOT NULL DEFAULT 0)',
    );
    await backend.ensureSchema();
    const takeOne = (row: Item) => (row.qty > 0 ? { qty: row.qty - 1 } : null);
    const fixes: Record<string, Buy> = {
      'naive-read-modify-write': async (id) => {
        const row = (await pool.query('SELECT qty FROM items WHERE id = $1', [id])).rows[0] as Item;
        if (row.qty <= 0) return false;
        await pool.query('UPDATE items SET qty = $2 WHERE id = $1', [id, row.qty - 1]);
        return true;
      },
      'faultline/for-update': async (id) =>
        (await pgMod.updateForUpdate<Item>(pool, { table: 'items', id }, takeOne)).kind ===
        'updated',
      'faultline/optimistic': async (id) =>
        (
          await pgMod.updateOptimistic<Item>(pool, { table: 'items', id }, takeOne, {
            maxAttempts: 1000,
            capMs: 50,
          })
        ).kind === 'updated',
      'faultline/fenced-lock': async (id) =>
        (
          await pgMod.updateUnderLock<Item>(pool, lock, { table: 'items', id }, takeOne, {
            waitMs: 120_000,
          })
        ).kind === 'updated',
      'faultline/conditional': async (id) =>
        (
          await pgMod.conditionalUpdate(pool, {
            table: 'items',
            id,
            set: 'qty = qty - 1',
            where: 'qty > 0',
          })
        ).kind === 'updated',
    };
    let nextId = 1;
    const samples: Record<string, { opsPerSec: number[]; p99Ms: number[]; sold: number[] }> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const [impl, buy] of Object.entries(fixes)) {
        const id = nextId++;
        await pool.query('INSERT INTO items (id, qty) VALUES ($1, $2)', [id, STOCK]);
        const latencies: number[] = [];
        const start = performance.now();
        const results = await Promise.all(
          Array.from({ length: BUYERS }, async () => {
            const t0 = performance.now();
            const sold = await buy(id);
            latencies.push(performance.now() - t0);
            return sold;
          }),
        );
        const elapsedMs = performance.now() - start;
        const s = (samples[impl] ??= { opsPerSec: [], p99Ms: [], sold: [] });
        s.opsPerSec.push((BUYERS / elapsedMs) * 1000);
        s.p99Ms.push(p99(latencies));
        s.sold.push(results.filter(Boolean).length);
        ctx.log(`round ${round + 1} ${impl}: ${elapsedMs.toFixed(0)} ms, sold ${s.sold.at(-1)}`);
      }
    }
    const rows: BenchRow[] = [];
    for (const [impl, s] of Object.entries(samples)) {
      rows.push({
        case: 'lost-update',
        impl,
        metric: 'throughput',
        value: median(s.opsPerSec),
        unit: 'ops/s',
      });
      rows.push({ case: 'lost-update', impl, metric: 'p99', value: median(s.p99Ms), unit: 'ms' });
      rows.push({
        case: 'lost-update',
        impl,
        metric: 'sold of 50',
        value: Math.max(...s.sold),
        unit: 'units',
      });
    }
    return rows;
  } finally {
    await lock.close();
    await backend.close();
    await pool.end();
    await server.cleanup();
  }
}

const suite: BenchSuite = {
  name: 'lost-update',
  description: `lost-update: ${BUYERS} concurrent buyers, ${STOCK} units, harness PostgreSQL (40-connection pool); medians of ${ROUNDS} rounds`,
  run,
};
export default suite;

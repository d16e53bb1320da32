/**
 * The PostgreSQL idempotency store against a private server: the store conformance suite (fencing
 * by owner and epoch, server-clock expiry, the reaper's batch delete), and `idempotent()` end to
 * end with many concurrent duplicates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PostgresIdempotencyStore } from '../../src/adapters/postgres/index.js';
import { idempotencyStoreConformance } from '../../src/coord/idempotency/conformance.js';
import {
  isIdempotencyFencedError,
  isIdempotencyMismatchError,
} from '../../src/coord/idempotency/errors.js';
import { idempotent, runIdempotent } from '../../src/coord/idempotency/idempotent.js';
import { IdempotencyReaper } from '../../src/coord/idempotency/reaper.js';
import { postgres } from '../services/index.js';
import type { PostgresServer } from '../services/index.js';

let server: PostgresServer;
let pool: pg.Pool;
const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const call = () => ({ signal: new AbortController().signal });

beforeAll(async () => {
  server = await postgres();
  pool = new pg.Pool({ ...server.connection, max: 20 });
  pool.on('error', () => undefined);
  await new PostgresIdempotencyStore({ pool }).ensureSchema();
});

afterAll(async () => {
  await pool?.end();
  await server?.cleanup();
});

idempotencyStoreConformance({ describe, it, expect }, 'postgres', async () => ({
  store: new PostgresIdempotencyStore({ pool }),
  elapse: pause,
}));

describe('PostgresIdempotencyStore with idempotent()', () => {
  it('runs once for 50 concurrent duplicates and replays to all of them', async () => {
    const store = new PostgresIdempotencyStore({ pool });
    let runs = 0;
    const charge = async (): Promise<{ receipt: string }> => {
      runs++;
      await pause(100);
      return { receipt: 'r-1' };
    };
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        runIdempotent('pg/concurrent', { amount: 10 }, charge, { store, pollMs: 10 }),
      ),
    );
    expect(runs).toBe(1);
    expect(results.filter((r) => !r.replayed).length).toBe(1);
    for (const r of results) expect(r.value).toEqual({ receipt: 'r-1' });
    const mismatch = await idempotent('pg/concurrent', { amount: 11 }, charge, { store }).catch(
      (e: unknown) => e,
    );
    expect(isIdempotencyMismatchError(mismatch)).toBe(true);
  });

  it('fences the late invocation once a retry took its key over', async () => {
    const store = new PostgresIdempotencyStore({ pool });
    const late = idempotent(
      'pg/late',
      'r',
      async () => {
        await pause(600);
        return 'late';
      },
      { store, leaseMs: 200, renew: false },
    ).then(
      () => 'completed',
      (e: unknown) => (isIdempotencyFencedError(e) ? 'fenced' : String(e)),
    );
    await pause(350);
    expect(await runIdempotent('pg/late', 'r', async () => 'retry', { store })).toEqual({
      value: 'retry',
      replayed: false,
      epoch: 2,
    });
    expect(await late).toBe('fenced');
    expect((await store.get('pg/late', call()))?.outcome).toEqual({
      kind: 'value',
      data: '"retry"',
    });
  });

  it('the reaper deletes expired rows in bounded batches', async () => {
    const store = new PostgresIdempotencyStore({ pool, table: 'reaped_idem' });
    await store.ensureSchema();
    for (let i = 0; i < 30; i++)
      await idempotent(`reap/${i}`, i, async () => i, { store, ttlMs: 50 });
    await pause(120);
    const reaper = new IdempotencyReaper(store, {
      batch: 7,
      maxBatchesPerSweep: 10,
      everyMs: 3_600_000,
    });
    expect(await reaper.sweep()).toBe(30);
    await reaper.close();
    const left = await pool.query('SELECT count(*)::int AS n FROM reaped_idem');
    expect(left.rows[0].n).toBe(0);
  });
});

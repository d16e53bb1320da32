/**
 * The PostgreSQL semaphore backend against a real private server: the SemaphoreBackend conformance
 * suite, then FIFO order with leases of several permits, no starvation, waiters that give up or
 * crash, and hostile input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PostgresSemaphoreBackend } from '../../src/adapters/postgres/index.js';
import { semaphoreBackendConformance } from '../../src/coord/conformance.js';
import { LockTimeoutError } from '../../src/coord/errors.js';
import { Semaphore } from '../../src/coord/index.js';
import type { Lease } from '../../src/coord/index.js';
import { postgres } from '../services/index.js';
import type { PostgresServer } from '../services/index.js';

let server: PostgresServer;
let pool: pg.Pool;
const closers: (() => Promise<void>)[] = [];
const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

beforeAll(async () => {
  server = await postgres();
  pool = new pg.Pool({ ...server.connection, max: 30 });
  pool.on('error', () => undefined);
  await new PostgresSemaphoreBackend({ pool }).ensureSchema();
});

afterAll(async () => {
  for (const close of closers) await close();
  await pool?.end();
  await server?.cleanup();
});

function backend(): PostgresSemaphoreBackend {
  const b = new PostgresSemaphoreBackend({ pool });
  closers.push(() => b.close());
  return b;
}

semaphoreBackendConformance({ describe, it, expect }, 'postgres', async () => {
  const b = backend();
  return { backend: b, elapse: pause, queued: (key) => b.queued(key) };
});

/** Resolves once the queue of `key` holds `n` waiters; gives up after 10 s. */
async function untilQueued(b: PostgresSemaphoreBackend, key: string, n: number): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    if ((await b.queued(key)) === n) return;
    await pause(2);
  }
  throw new Error(`the queue of ${key} never held ${n} waiter(s)`);
}

function setup(permits: number) {
  const b = backend();
  const semaphore = new Semaphore(b, { permits, recheckMs: 120_000 });
  closers.push(() => semaphore.close());
  return { b, semaphore };
}

describe('PostgresSemaphoreBackend', () => {
  it('ensureSchema is idempotent, also when run concurrently', async () => {
    const b = backend();
    await Promise.all([b.ensureSchema(), b.ensureSchema(), backend().ensureSchema()]);
    const r = await b.tryAcquire('schema', 'o', 1, 1_000, { signal: new AbortController().signal });
    expect(r.kind).toBe('acquired');
  });

  it('refuses an unsafe schema name and a key with a NUL character', async () => {
    expect(() => new PostgresSemaphoreBackend({ pool, schema: 'x; DROP TABLE y' })).toThrow(
      /schema must be a lowercase SQL identifier/,
    );
    const { semaphore } = setup(1);
    await expect(semaphore.tryAcquire('a\u0000b', { ttlMs: 1_000 })).rejects.toThrow(
      /key must be a string without NUL/,
    );
  });

  it('grants in arrival order; a head needing 2 permits holds back the waiters behind it', async () => {
    const { b, semaphore } = setup(2);
    const holder = await semaphore.acquire('fifo', { ttlMs: 60_000, permits: 2 });
    const wants = [1, 2, 1, 1];
    const order: number[] = [];
    const waiters: Promise<Lease>[] = [];
    for (const [i, permits] of wants.entries()) {
      waiters.push(
        semaphore.acquire('fifo', { ttlMs: 60_000, permits }).then((lease) => {
          order.push(i);
          return lease;
        }),
      );
      await untilQueued(b, 'fifo', i + 1);
    }
    await holder.release();
    const w0 = await waiters[0]!;
    expect((await semaphore.holders('fifo')).map((h) => h.token)).toEqual([w0.token]);
    expect(await b.queued('fifo')).toBe(3);
    await w0.release();
    const w1 = await waiters[1]!;
    expect((await semaphore.holders('fifo')).map((h) => h.permits)).toEqual([2]);
    await w1.release();
    const [w2, w3] = await Promise.all([waiters[2]!, waiters[3]!]);
    // Waiters 2 and 3 were granted by one release (tokens in arrival order); which of them
    // hears first is up to the NOTIFY.
    expect(order.slice(0, 2)).toEqual([0, 1]);
    expect(w1.token > w0.token && w2.token > w1.token && w3.token > w2.token).toBe(true);
    await Promise.all([w2.release(), w3.release()]);
  });

  it('does not starve a request for every permit: holders that re-acquire at once queue behind it', async () => {
    const { b, semaphore } = setup(3);
    const smalls = await Promise.all(
      [0, 1, 2].map(() => semaphore.acquire('starve', { ttlMs: 60_000 })),
    );
    const big = semaphore.acquire('starve', { ttlMs: 60_000, permits: 3 });
    await untilQueued(b, 'starve', 1);
    const again: Promise<Lease>[] = [];
    for (const [i, lease] of smalls.entries()) {
      await lease.release();
      expect(await semaphore.tryAcquire('starve', { ttlMs: 60_000 })).toBeNull();
      again.push(semaphore.acquire('starve', { ttlMs: 60_000 }));
      await untilQueued(b, 'starve', i === 2 ? 3 : i + 2);
    }
    const bigLease = await big;
    await bigLease.release();
    const later = await Promise.all(again);
    for (const lease of later) expect(lease.token > bigLease.token).toBe(true);
    await Promise.all(later.map((l) => l.release()));
  });

  it('takes a waiter that gives up (waitMs) out of the queue and grants it nothing', async () => {
    const { b, semaphore } = setup(1);
    const holder = await semaphore.acquire('quit', { ttlMs: 60_000 });
    await expect(semaphore.acquire('quit', { ttlMs: 60_000, waitMs: 100 })).rejects.toBeInstanceOf(
      LockTimeoutError,
    );
    await untilQueued(b, 'quit', 0);
    await holder.release();
    expect(await semaphore.holders('quit')).toEqual([]);
  });

  it("skips a crashed waiter's entry once it is no longer refreshed", async () => {
    const { b, semaphore } = setup(1);
    const holder = await semaphore.acquire('crash', { ttlMs: 60_000 });
    // A waiter that queued (entry good for 1 s) and then died: nobody refreshes it.
    const queuedAt = Date.now();
    await pool.query(`SELECT * FROM ${b.names.acquire}('crash', 'dead-owner', 1, 60000, 1, 1000)`);
    const live = semaphore.acquire('crash', { ttlMs: 60_000 });
    await untilQueued(b, 'crash', 2);
    await pause(1_100 - (Date.now() - queuedAt));
    await holder.release();
    const lease = await live;
    const rows = await pool.query(`SELECT owner FROM ${b.names.permits} WHERE key = 'crash'`);
    expect(rows.rows.map((r) => r.owner)).toEqual([lease.owner]);
    await lease.release();
  });

  it('serialises concurrent grants: never more permits than the limit', async () => {
    const b = backend();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        b.tryAcquire('race', `o${i}`, 5, 60_000, {
          signal: new AbortController().signal,
          permits: 2,
        }),
      ),
    );
    expect(results.filter((r) => r.kind === 'acquired')).toHaveLength(2);
  });
});

/**
 * The PostgreSQL lock backends (lease table, advisory locks) against a real private server: the SPI
 * conformance suite, server-clock expiry, LISTEN/NOTIFY wake-ups, FIFO queueing on advisory locks,
 * session loss, and the fenced write helper.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  PostgresAdvisoryLockBackend,
  PostgresLockBackend,
} from '../../src/adapters/postgres/index.js';
import { lockBackendConformance } from '../../src/coord/conformance.js';
import { isTooManyWaitersError } from '../../src/coord/errors.js';
import { pgFencedWrite } from '../../src/adapters/postgres/fence.js';
import { Lock } from '../../src/coord/lock.js';
import { postgres } from '../services/index.js';
import type { PostgresServer } from '../services/index.js';

let server: PostgresServer;
let pool: pg.Pool;
const closers: (() => Promise<void>)[] = [];
const call = () => ({ signal: new AbortController().signal });
const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

beforeAll(async () => {
  server = await postgres();
  pool = new pg.Pool({ ...server.connection, max: 40 });
  pool.on('error', () => undefined);
  await new PostgresLockBackend({ pool }).ensureSchema();
});

afterAll(async () => {
  for (const close of closers) await close();
  await pool?.end();
  await server?.cleanup();
});

async function listening(): Promise<number> {
  const res = await pool.query(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN%'",
  );
  return res.rows[0].n as number;
}

/** Polls the server until at least `n` sessions are LISTENing (backends open one lazily). */
async function untilListening(n: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await listening()) >= n) return;
    await pause(10);
  }
  throw new Error(`fewer than ${n} LISTEN sessions appeared`);
}

/** Polls the server (bounded) until at least `n` sessions wait in an advisory lock queue. */
async function untilQueued(n: number): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const res = await pool.query(
      "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
    );
    if (res.rows[0].n >= n) return;
    await pause(5);
  }
  throw new Error(`fewer than ${n} sessions queued for an advisory lock`);
}

function table(): PostgresLockBackend {
  const b = new PostgresLockBackend({ pool });
  closers.push(() => b.close());
  return b;
}

function advisory(): PostgresAdvisoryLockBackend {
  const b = new PostgresAdvisoryLockBackend({ pool });
  closers.push(() => b.close());
  return b;
}

// Real server time has to pass for the expiry case: 150 ms of it.
lockBackendConformance({ describe, it, expect }, 'postgres', async () => ({
  backend: table(),
  elapse: pause,
}));
lockBackendConformance({ describe, it, expect }, 'postgres-advisory', async () => ({
  backend: advisory(),
  elapse: (ms) => pause(ms + 100),
}));

describe('PostgresLockBackend', () => {
  it('ensureSchema is idempotent, also when run concurrently', async () => {
    const b = table();
    await Promise.all([
      b.ensureSchema(),
      b.ensureSchema(),
      new PostgresLockBackend({ pool }).ensureSchema(),
    ]);
    expect((await b.tryAcquire('schema', 'o', 1000, call())).kind).toBe('acquired');
  });

  it('rejects an unsafe schema name', () => {
    expect(() => new PostgresLockBackend({ pool, schema: 'x; DROP TABLE y' })).toThrow(RangeError);
  });

  it('answers busy with the holder remaining server time', async () => {
    const b = table();
    await b.tryAcquire('remaining', 'a', 30_000, call());
    const busy = await b.tryAcquire('remaining', 'b', 30_000, call());
    expect(busy.kind).toBe('busy');
    if (busy.kind !== 'busy') return;
    expect(busy.retryAfterMs).toBeGreaterThan(25_000);
    expect(busy.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it('wakes a waiter of another backend instance through NOTIFY', async () => {
    const before = await listening();
    const a = table();
    const b = table();
    await a.tryAcquire('notify', 'a', 30_000, call());
    expect((await b.tryAcquire('notify', 'b', 30_000, call())).kind).toBe('busy');
    // Wait until b's LISTEN connection is up (server state), then observe the key once more.
    await untilListening(before + 2);
    await b.holder('notify', call());
    let settled = false;
    const woke = b.waitForChange('notify', call()).then(() => {
      settled = true;
    });
    await b.holder('notify', call()); // a round trip during which nothing may wake the waiter
    expect(settled).toBe(false);
    await a.release('notify', 'a', call());
    await woke;
    expect((await b.tryAcquire('notify', 'b', 30_000, call())).kind).toBe('acquired');
  });

  it('a lost LISTEN connection wakes its waiters, and the next wait listens again', async () => {
    const a = table();
    const b = table();
    await a.tryAcquire('relisten', 'a', 30_000, call());
    expect((await b.tryAcquire('relisten', 'b', 30_000, call())).kind).toBe('busy');
    await b.holder('relisten', call());
    const first = b.waitForChange('relisten', call());
    // Kill every LISTEN session on the server (the backend's listening connection among them).
    for (let i = 0; i < 100; i++) {
      const killed = await pool.query(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
      );
      if ((killed.rowCount ?? 0) > 0) break;
      await pause(10);
    }
    await first; // woken (spuriously) by the loss of the connection
    await b.holder('relisten', call());
    const second = b.waitForChange('relisten', call());
    await a.release('relisten', 'a', call());
    await second;
    expect((await b.tryAcquire('relisten', 'b', 30_000, call())).kind).toBe('acquired');
  });

  it('a release wakes one queued waiter of the process, not all of them (no thundering herd)', async () => {
    let attempts = 0;
    // The same pool, counting the acquire statements (the only ones that INSERT into the leases).
    const counting = {
      query: (text: string, values?: unknown[]) => {
        if (text.includes('INSERT INTO')) attempts++;
        return pool.query(text, values);
      },
      connect: () => pool.connect(),
    } as unknown as pg.Pool;
    const b = new PostgresLockBackend({ pool: counting });
    closers.push(() => b.close());
    const lock = new Lock(b);
    const holder = await lock.acquire('herd', { ttlMs: 30_000 });
    const n = 40;
    const served: number[] = [];
    const waiters = Array.from({ length: n }, (_, i) =>
      lock.acquire('herd', { ttlMs: 30_000, waitMs: 60_000 }).then(async (lease) => {
        served.push(i);
        await lease.release();
      }),
    );
    for (let i = 0; b.queuedWaiters < n; i++) {
      expect(i).toBeLessThan(1000);
      await pause(5);
    }
    attempts = 0;
    await holder.release();
    await Promise.all(waiters);
    await lock.close();
    // One waiter per release tries (about twice: once busy right after its predecessor's grant,
    // once after the release). Waking every waiter on each release costs about n * n / 2.
    expect(served.sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(attempts).toBeLessThanOrEqual(3 * n);
    expect(b.queuedWaiters).toBe(0);
  });

  it('tokens from the sequence keep increasing across contenders racing for one key', async () => {
    const b = table();
    const seen: bigint[] = [];
    for (let round = 0; round < 10; round++) {
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => b.tryAcquire('race', `r${round}-${i}`, 30_000, call())),
      );
      const grants = results.filter((r) => r.kind === 'acquired');
      expect(grants.length).toBe(1);
      const g = grants[0]!;
      if (g.kind === 'acquired') seen.push(g.token);
      const holder = await b.holder('race', call());
      await b.release('race', holder!.owner, call());
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
  });

  it('works under the shared Lock client with a fenced PostgreSQL write', async () => {
    await pool.query(
      'CREATE TABLE IF NOT EXISTS fenced_docs (id int PRIMARY KEY, fence bigint NOT NULL, body text)',
    );
    const lock = new Lock(table());
    const first = await lock.acquire('doc', { ttlMs: 5000 });
    await first.release();
    const second = await lock.acquire('doc', { ttlMs: 5000 });
    const write = (token: bigint, body: string) =>
      pgFencedWrite(pool, token, {
        table: 'fenced_docs',
        keyColumn: 'id',
        key: 1,
        set: { body },
        upsert: true,
      });
    expect((await write(second.token, 'new')).kind).toBe('accepted');
    const w1 = await write(first.token, 'old');
    expect(w1).toEqual({ kind: 'stale', token: first.token, current: second.token });
    await second.release();
    await lock.close();
  });
});

describe('keys PostgreSQL cannot store', () => {
  it('a key with a NUL is refused up front by both backends, not retried until waitMs', async () => {
    for (const backend of [table(), advisory()]) {
      const lock = new Lock(backend);
      // Without the check every attempt failed on the server and the acquire waited forever.
      await expect(lock.acquire('a\u0000b', { ttlMs: 5_000 })).rejects.toThrow(
        /key must be a string without NUL/,
      );
      await expect(lock.holder('a\u0000b')).rejects.toThrow(RangeError);
      // A key that merely looks similar is an ordinary key.
      const lease = await lock.acquire('a\\u0000b', { ttlMs: 5_000, waitMs: 5_000 });
      await lease.release();
      await lock.close();
    }
  });
});

describe('PostgresAdvisoryLockBackend', () => {
  it('queues waiters in arrival order in the server lock queue', async () => {
    const b = advisory();
    const head = await b.tryAcquire('fifo', 'holder', 30_000, call());
    expect(head.kind).toBe('acquired');
    const order: string[] = [];
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 4; i++) {
      const owner = `w${i}`;
      waits.push(
        b.acquireQueued('fifo', owner, 30_000, call()).then(async (r) => {
          expect(r.kind).toBe('acquired');
          order.push(owner);
          await b.release('fifo', owner, call());
        }),
      );
      // Wait until this waiter sits in the server's lock queue before the next one arrives.
      await untilQueued(i + 1);
    }
    await b.release('fifo', 'holder', call());
    await Promise.all(waits);
    expect(order).toEqual(['w0', 'w1', 'w2', 'w3']);
  });

  it('an aborted queued wait is cancelled on the server', async () => {
    const b = advisory();
    await b.tryAcquire('cancel', 'holder', 30_000, call());
    const controller = new AbortController();
    const waiting = b
      .acquireQueued('cancel', 'quitter', 30_000, { signal: controller.signal })
      .then(
        (r) => r.kind,
        () => 'stale',
      );
    await untilQueued(1);
    controller.abort(new Error('gave up'));
    expect(['busy', 'stale']).toContain(await waiting);
    for (let i = 0; i < 100; i++) {
      const res = await pool.query(
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
      );
      if (res.rows[0].n === 0) break;
      await pause(10);
    }
    const res = await pool.query(
      "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
    );
    expect(res.rows[0].n).toBe(0);
    await b.release('cancel', 'holder', call());
  });

  it('bounds the connections it pins with maxHeld: one more attempt rejects at once', async () => {
    const b = new PostgresAdvisoryLockBackend({ pool, maxHeld: 1 });
    closers.push(() => b.close());
    expect((await b.tryAcquire('bound-a', 'a', 30_000, call())).kind).toBe('acquired');
    const refused = await b.tryAcquire('bound-b', 'b', 30_000, call()).catch((e: unknown) => e);
    expect(isTooManyWaitersError(refused)).toBe(true);
    // The client gives up at once instead of retrying until waitMs (far beyond the test's timeout).
    const lock = new Lock(b);
    const viaClient = await lock
      .acquire('bound-b', { ttlMs: 30_000, waitMs: 120_000 })
      .catch((e: unknown) => e);
    expect(isTooManyWaitersError(viaClient)).toBe(true);
    await b.release('bound-a', 'a', call());
    expect((await b.tryAcquire('bound-b', 'b', 30_000, call())).kind).toBe('acquired');
    await b.release('bound-b', 'b', call());
    await lock.close();
  }, 20_000);

  it('a holder whose session is terminated loses the lock; the next holder gets a larger token', async () => {
    const a = advisory();
    const b = advisory();
    const g = await a.tryAcquire('session', 'a', 30_000, call());
    if (g.kind !== 'acquired') throw new Error('expected a grant');
    const held = await pool.query<{ pid: number }>(
      `SELECT pid FROM faultline_lock_holders WHERE key = 'session'`,
    );
    // With a timeout, pg_terminate_backend waits until the session is gone (PostgreSQL 14+).
    await pool.query('SELECT pg_terminate_backend($1, 5000)', [held.rows[0]!.pid]);
    const next = await b.tryAcquire('session', 'b', 30_000, call());
    if (next.kind !== 'acquired') throw new Error('expected a grant');
    expect(next.token).toBeGreaterThan(g.token);
    expect((await a.extend('session', 'a', g.token, 30_000, call())).kind).toBe('lost');
    expect((await a.holder('session', call()))?.owner).toBe('b');
  });
});

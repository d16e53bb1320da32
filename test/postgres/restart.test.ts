/**
 * PostgreSQL crashing (SIGKILL) and restarting under held locks: lease-table leases and tokens
 * survive (durable), advisory locks end with their sessions, and tokens keep increasing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  PostgresAdvisoryLockBackend,
  PostgresLockBackend,
} from '../../src/adapters/postgres/index.js';
import { postgres } from '../services/index.js';
import type { PostgresServer } from '../services/index.js';

let server: PostgresServer;
let pool: pg.Pool;
const call = () => ({ signal: new AbortController().signal });

beforeAll(async () => {
  server = await postgres();
  pool = new pg.Pool({ ...server.connection, max: 10 });
  pool.on('error', () => undefined);
  await new PostgresLockBackend({ pool }).ensureSchema();
});

afterAll(async () => {
  await pool?.end();
  await server?.cleanup();
});

describe('PostgreSQL crash and restart', () => {
  it('keeps lease-table leases and token order; ends advisory locks', async () => {
    const table = new PostgresLockBackend({ pool });
    const advisory = new PostgresAdvisoryLockBackend({ pool });
    try {
      const lease = await table.tryAcquire('durable', 'a', 60_000, call());
      const lock = await advisory.tryAcquire('session', 'a', 60_000, call());
      if (lease.kind !== 'acquired' || lock.kind !== 'acquired') throw new Error('expected grants');
      await server.kill();
      await server.start();
      // The lease row survived the crash: the key is still held, and its owner can renew it.
      expect((await table.tryAcquire('durable', 'b', 60_000, call())).kind).toBe('busy');
      expect((await table.extend('durable', 'a', lease.token, 60_000, call())).kind).toBe(
        'extended',
      );
      // The advisory lock died with its session.
      expect((await advisory.extend('session', 'a', lock.token, 60_000, call())).kind).toBe('lost');
      const again = await advisory.tryAcquire('session', 'b', 60_000, call());
      if (again.kind !== 'acquired') throw new Error('expected a grant');
      expect(again.token).toBeGreaterThan(lock.token);
      await table.release('durable', 'a', call());
      const next = await table.tryAcquire('durable', 'b', 60_000, call());
      if (next.kind !== 'acquired') throw new Error('expected a grant');
      expect(next.token).toBeGreaterThan(again.token);
    } finally {
      await table.close();
      await advisory.close();
    }
  });
});

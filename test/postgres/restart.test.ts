/**
 * PostgreSQL crashing (SIGKILL) and restarting under held locks: lease-table leases and tokens
 * survive (durable), advisory locks end with their sessions, and tokens keep increasing.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
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

/**
 * Resolves once no process works in `dataDir` any more (bounded). A SIGKILLed postmaster leaves its
 * backends running for a moment, attached to its shared memory; a restart before they exit fails
 * with "pre-existing shared memory block is still in use". Backends run with the data directory
 * as their working directory, which is how they are found.
 */
async function untilBackendsGone(dataDir: string): Promise<void> {
  const inDataDir = (pid: string): boolean => {
    try {
      return readlinkSync(`/proc/${pid}/cwd`) === dataDir;
    } catch {
      return false; // gone, or not ours to read
    }
  };
  for (let i = 0; i < 500; i++) {
    if (!readdirSync('/proc').some((entry) => /^\d+$/.test(entry) && inDataDir(entry))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`backends of the killed server still run in ${dataDir}`);
}

describe('PostgreSQL crash and restart', () => {
  it('keeps lease-table leases and token order; ends advisory locks', async () => {
    const table = new PostgresLockBackend({ pool });
    const advisory = new PostgresAdvisoryLockBackend({ pool });
    try {
      const lease = await table.tryAcquire('durable', 'a', 60_000, call());
      const lock = await advisory.tryAcquire('session', 'a', 60_000, call());
      if (lease.kind !== 'acquired' || lock.kind !== 'acquired') throw new Error('expected grants');
      await server.kill();
      await untilBackendsGone(join(server.dir, 'data'));
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

/**
 * The GC-pause story against real PostgreSQL, for both lock variants: a holder process is
 * SIGSTOPped past its TTL (the lease row expires on the server's clock; the advisory lock's session
 * is ended by the server's idle-session timeout), another client takes the lock with a newer token
 * and writes; the first process resumes and writes with its old token, and the fenced UPDATE
 * rejects it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  PostgresAdvisoryLockBackend,
  PostgresLockBackend,
} from '../../src/adapters/postgres/index.js';
import { pgFencedWrite } from '../../src/adapters/postgres/fence.js';
import { Lock } from '../../src/coord/lock.js';
import { postgres } from '../services/index.js';
import type { PostgresServer } from '../services/index.js';
import { field, HolderProcess } from '../etcd/child.js';

let server: PostgresServer;
let pool: pg.Pool;

beforeAll(async () => {
  server = await postgres();
  pool = new pg.Pool({ ...server.connection, max: 10 });
  pool.on('error', () => undefined);
  await new PostgresLockBackend({ pool }).ensureSchema();
  await pool.query(
    'CREATE TABLE pause_docs (id int PRIMARY KEY, fence bigint NOT NULL, body text)',
  );
});

afterAll(async () => {
  await pool?.end();
  await server?.cleanup();
});

describe.each(['table', 'advisory'] as const)('PostgreSQL GC pause (%s)', (variant) => {
  it('rejects the write of a holder that was paused past its TTL', async () => {
    const script = fileURLToPath(new URL('./pause-holder.ts', import.meta.url));
    const id = variant === 'table' ? 1 : 2;
    const holder = new HolderProcess(script, [server.url, variant, `job-${variant}`, '1000']);
    const backend =
      variant === 'advisory'
        ? new PostgresAdvisoryLockBackend({ pool })
        : new PostgresLockBackend({ pool });
    const lock = new Lock(backend);
    try {
      const oldToken = BigInt(field(await holder.nextLine(), 'TOKEN'));
      holder.pause();
      const lease = await lock.acquire(`job-${variant}`, { ttlMs: 5000, waitMs: 15_000 });
      expect(lease.token).toBeGreaterThan(oldToken);
      const write = {
        table: 'pause_docs',
        keyColumn: 'id',
        key: id,
        set: { body: 'fresh' },
        upsert: true,
      };
      expect((await pgFencedWrite(pool, lease.token, write)).kind).toBe('accepted');
      holder.resume();
      holder.send(`WRITE ${id}`);
      const [kind, valid] = field(await holder.nextLine(), 'RESULT').split(' ');
      expect(kind).toBe('stale');
      expect(valid).toBe('false');
      const row = await pool.query(
        'SELECT body, fence::text AS fence FROM pause_docs WHERE id = $1',
        [id],
      );
      expect(row.rows[0]).toEqual({ body: 'fresh', fence: String(lease.token) });
      await lease.release();
    } finally {
      holder.kill();
      await lock.close();
      await backend.close();
    }
  });
});

/**
 * The PostgreSQL fence statements against a real server. (The Redis fence script is tested in
 * `test/redis/fence.test.ts`, on a single instance and on a cluster.)
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgFencedWrite } from '../../src/adapters/postgres/fence.js';
import { postgres } from '../services/index.js';
import type { PostgresServer } from '../services/index.js';

describe('pgFencedWrite on a real PostgreSQL', () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  beforeAll(async () => {
    server = await postgres();
    pool = new pg.Pool({
      host: server.host,
      port: server.port,
      user: server.user,
      database: server.database,
    });
    // pool.end() resolves before its sockets close; the server's shutdown in cleanup() may then
    // send them a FATAL 57P01, which the pool re-emits as 'error' (uncaught without a listener).
    pool.on('error', () => undefined);
    await pool.query(
      'CREATE TABLE reports (id int PRIMARY KEY, fence bigint NOT NULL DEFAULT 0, body text)',
    );
  });
  afterAll(async () => {
    await pool.end();
    await server.cleanup();
  });

  it('updates only with a token >= the row fence and reports the newest token', async () => {
    await pool.query('INSERT INTO reports (id, body) VALUES (1, $1)', ['initial']);
    const write = (token: bigint, body: string) =>
      pgFencedWrite(pool, token, { table: 'reports', keyColumn: 'id', key: 1, set: { body } });
    expect(await write(5n, 'five')).toEqual({ kind: 'accepted', token: 5n });
    expect(await write(4n, 'four')).toEqual({ kind: 'stale', token: 4n, current: 5n });
    expect(await write(2n ** 62n, 'big')).toEqual({ kind: 'accepted', token: 2n ** 62n });
    const { rows } = await pool.query(
      'SELECT fence::text AS fence, body FROM reports WHERE id = 1',
    );
    expect(rows[0]).toEqual({ fence: (2n ** 62n).toString(), body: 'big' });
    expect(
      await pgFencedWrite(pool, 7n, {
        table: 'reports',
        keyColumn: 'id',
        key: 99,
        set: { body: 'x' },
      }),
    ).toEqual({
      kind: 'stale',
      token: 7n,
      current: undefined,
    });
  });

  it('upserts a missing row and fences it afterwards', async () => {
    const upsert = (token: bigint, body: string) =>
      pgFencedWrite(pool, token, {
        table: 'reports',
        keyColumn: 'id',
        key: 2,
        set: { body },
        upsert: true,
      });
    expect((await upsert(3n, 'three')).kind).toBe('accepted');
    expect(await upsert(2n, 'two')).toEqual({ kind: 'stale', token: 2n, current: 3n });
    expect((await upsert(3n, 'three again')).kind).toBe('accepted');
    const { rows } = await pool.query(
      'SELECT fence::text AS fence, body FROM reports WHERE id = 2',
    );
    expect(rows[0]).toEqual({ fence: '3', body: 'three again' });
  });
});

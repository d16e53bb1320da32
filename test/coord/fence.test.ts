/**
 * The fence helpers against real servers: the Redis Lua script and the PostgreSQL statements.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgFencedWrite, redisFencedSet } from '../../src/coord/fence.js';
import { postgres, redis } from '../services/index.js';
import type { PostgresServer, RedisGroup } from '../services/index.js';

describe('redisFencedSet on a real Redis', () => {
  let group: RedisGroup;
  let client: Redis;
  beforeAll(async () => {
    group = await redis(1);
    client = new Redis({
      host: '127.0.0.1',
      port: group.servers[0]!.port,
      maxRetriesPerRequest: 1,
    });
  });
  afterAll(async () => {
    client.disconnect();
    await group.cleanup();
  });

  it('accepts newer or equal tokens, rejects older ones, beyond 2^53', async () => {
    const big = 2n ** 62n;
    expect(await redisFencedSet(client, { key: 'doc' }, 9n, 'v9')).toEqual({
      kind: 'accepted',
      token: 9n,
    });
    expect(await redisFencedSet(client, { key: 'doc' }, 10n, 'v10')).toEqual({
      kind: 'accepted',
      token: 10n,
    });
    expect(await redisFencedSet(client, { key: 'doc' }, 10n, 'v10b')).toEqual({
      kind: 'accepted',
      token: 10n,
    });
    expect(await redisFencedSet(client, { key: 'doc' }, 9n, 'stale')).toEqual({
      kind: 'rejected',
      token: 9n,
      highestToken: 10n,
    });
    expect(await client.get('doc')).toBe('v10b');
    await redisFencedSet(client, { key: 'doc' }, big + 1n, 'big');
    expect((await redisFencedSet(client, { key: 'doc' }, big, 'x')).kind).toBe('rejected');
    expect(await client.get('{doc}:fence')).toBe((big + 1n).toString());
  });
});

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
    expect(await write(4n, 'four')).toEqual({ kind: 'rejected', token: 4n, highestToken: 5n });
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
      kind: 'rejected',
      token: 7n,
      highestToken: undefined,
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
    expect(await upsert(2n, 'two')).toEqual({ kind: 'rejected', token: 2n, highestToken: 3n });
    expect((await upsert(3n, 'three again')).kind).toBe('accepted');
    const { rows } = await pool.query(
      'SELECT fence::text AS fence, body FROM reports WHERE id = 2',
    );
    expect(rows[0]).toEqual({ fence: '3', body: 'three again' });
  });
});

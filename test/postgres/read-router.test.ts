/**
 * Read-your-writes on a real streaming replica that applies commits 30 ms late
 * (`recovery_min_apply_delay`): over 1,000 write-then-read sessions, reading from the replica
 * returns stale values, and the router never does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PostgresReadRouter, parseLsn } from '../../src/adapters/postgres/index.js';
import { postgres, postgresReplica } from '../services/index.js';
import type { PostgresServer } from '../services/index.js';

const SESSIONS = 1000;
let primary: PostgresServer;
let replica: PostgresServer;
let primaryPool: pg.Pool;
let replicaPool: pg.Pool;

beforeAll(async () => {
  primary = await postgres();
  primaryPool = new pg.Pool({ ...primary.connection, max: 4 });
  // After end(), a closing client can still receive the server's shutdown FATAL (57P01);
  // pg-pool re-emits an idle client's error on the pool, which would be an uncaught exception.
  primaryPool.on('error', () => undefined);
  await primaryPool.query('CREATE TABLE kv (k int PRIMARY KEY, v int NOT NULL)');
  await primaryPool.query('INSERT INTO kv SELECT g, 0 FROM generate_series(0, 9) g');
  replica = await postgresReplica(primary, { applyDelayMs: 30 });
  replicaPool = new pg.Pool({ ...replica.connection, max: 4 });
  // After end(), a closing client can still receive the server's shutdown FATAL (57P01);
  // pg-pool re-emits an idle client's error on the pool, which would be an uncaught exception.
  replicaPool.on('error', () => undefined);
});

afterAll(async () => {
  await replicaPool?.end();
  await primaryPool?.end();
  await replica?.cleanup();
  await primary?.cleanup();
});

const write = (c: pg.PoolClient, k: number, v: number) =>
  c.query('UPDATE kv SET v = $2 WHERE k = $1', [k, v]);
const read = async (c: pg.PoolClient | pg.Pool, k: number) =>
  Number((await c.query('SELECT v FROM kv WHERE k = $1', [k])).rows[0].v);

describe('PostgresReadRouter on a streaming replica', () => {
  it('parses LSNs', () => {
    expect(parseLsn('16/B374D848')).toBe(0x16b374d848n);
    expect(parseLsn('0/0')).toBe(0n);
    expect(() => parseLsn('16-B3')).toThrow(/lsn must be/);
  });

  it('a replica read right after a write misses it', async () => {
    let stale = 0;
    for (let i = 1; i <= SESSIONS; i++) {
      const client = await primaryPool.connect();
      await write(client, i % 10, i);
      client.release();
      if ((await read(replicaPool, i % 10)) !== i) stale++;
    }
    console.log(`without the router: ${stale} of ${SESSIONS} reads stale`);
    expect(stale).toBeGreaterThan(SESSIONS / 2);
  });

  for (const maxWaitMs of [0, 100]) {
    it(`the router never returns a stale read (maxWaitMs ${maxWaitMs})`, async () => {
      const router = new PostgresReadRouter({
        primary: primaryPool,
        replicas: [replicaPool],
        maxWaitMs,
        pollMs: 5,
      });
      let stale = 0;
      let monotonic = true;
      for (let i = 1; i <= SESSIONS; i++) {
        const session = router.session();
        await session.write((c) => write(c, i % 10, i));
        const before = session.token.position;
        // The token survives a round trip as text, as it would in a cookie.
        const resumed = router.session(session.token.toString());
        const { value } = await resumed.read((c) => read(c, i % 10));
        if (value !== i) stale++;
        if (resumed.token.position < before) monotonic = false;
      }
      const { replica: r, primary: p } = router.router.served;
      console.log(
        `router maxWaitMs ${maxWaitMs}: ${stale} stale; ${((100 * r) / (r + p)).toFixed(1)}% of reads on the replica`,
      );
      expect(stale).toBe(0);
      expect(monotonic).toBe(true);
      expect(r + p).toBe(SESSIONS);
      if (maxWaitMs > 0) expect(r).toBeGreaterThan(SESSIONS / 2);
      // Each waiting read lasts about the 30 ms apply delay: 1,000 of them need room.
    }, 240_000);
  }
});

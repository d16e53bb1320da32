/**
 * Proves the harness really controls real servers: pause/resume, kill a cluster member, restart
 * with durable state.
 */
import { Etcd3 } from 'etcd3';
import { Redis, Cluster } from 'ioredis';
import mariadbClient from 'mariadb';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  etcd,
  findBinary,
  mariadb,
  MissingBinaryError,
  postgres,
  redis,
  redisCluster,
} from './index.js';

describe('service harness', () => {
  it('pauses and resumes a private redis', async () => {
    const { servers, cleanup } = await redis(2);
    const [a, b] = servers;
    const client = new Redis({
      port: a!.port,
      host: '127.0.0.1',
      commandTimeout: 300,
      maxRetriesPerRequest: 0,
    });
    try {
      expect(a!.port).not.toBe(b!.port);
      await client.set('k', 'v1');
      a!.pause();
      await expect(client.get('k')).rejects.toThrow(/timed out/i);
      a!.resume();
      // The timed-out command left the connection in an unknown state; a fresh one answers.
      const again = new Redis({ port: a!.port, host: '127.0.0.1', commandTimeout: 2000 });
      expect(await again.get('k')).toBe('v1');
      again.disconnect();
    } finally {
      client.disconnect();
      await cleanup();
    }
  });

  it('keeps a 3-member etcd cluster writable after killing a member', async () => {
    const cluster = await etcd({ members: 3 });
    const killed = cluster.members[0]!;
    const client = new Etcd3({ hosts: cluster.endpoints.slice(1) });
    try {
      await client.put('before').value('1');
      await killed.kill();
      expect(killed.running).toBe(false);
      await client.put('after').value('2');
      expect(await client.get('after').string()).toBe('2');
      expect(await client.get('before').string()).toBe('1');
    } finally {
      client.close();
      await cluster.cleanup();
    }
  });

  it('keeps a prepared transaction across a PostgreSQL restart', async () => {
    const server = await postgres({ maxPreparedTransactions: 5 });
    try {
      const c1 = new pg.Client(server.connection);
      await c1.connect();
      await c1.query('CREATE TABLE t (id int primary key, v text)');
      await c1.query('BEGIN');
      await c1.query("INSERT INTO t VALUES (1, 'prepared')");
      await c1.query("PREPARE TRANSACTION 'gid-1'");
      await c1.end();
      await server.kill();
      await server.restart();
      const c2 = new pg.Client(server.connection);
      await c2.connect();
      const prepared = await c2.query('SELECT gid FROM pg_prepared_xacts');
      expect(prepared.rows.map((r: { gid: string }) => r.gid)).toEqual(['gid-1']);
      await c2.query("COMMIT PREPARED 'gid-1'");
      const rows = await c2.query('SELECT v FROM t WHERE id = 1');
      expect(rows.rows[0]?.v).toBe('prepared');
      await c2.end();
    } finally {
      await server.cleanup();
    }
  });

  it('starts a private MariaDB', async () => {
    const server = await mariadb();
    try {
      const conn = await mariadbClient.createConnection(server.connection);
      const rows: { v: number }[] = await conn.query('SELECT 41 + 1 AS v');
      expect(Number(rows[0]?.v)).toBe(42);
      await conn.end();
    } finally {
      await server.cleanup();
    }
  });

  it('starts a real 3-master Redis Cluster', async () => {
    const { servers, cleanup } = await redisCluster({ masters: 3 });
    const cluster = new Cluster(servers.map((s) => ({ host: '127.0.0.1', port: s.port })));
    try {
      for (let i = 0; i < 20; i++) await cluster.set(`key-${i}`, String(i));
      expect(await cluster.get('key-7')).toBe('7');
      const nodes = cluster.nodes('master');
      expect(nodes.length).toBe(3);
      const sizes = await Promise.all(nodes.map((n) => n.dbsize()));
      expect(sizes.filter((s) => s > 0).length).toBeGreaterThan(1);
    } finally {
      cluster.disconnect();
      await cleanup();
    }
  });

  it('names the missing binary and the provisioning script', () => {
    expect(() => findBinary('no-such-server-binary', 'no-such-package')).toThrow(
      MissingBinaryError,
    );
    expect(() => findBinary('no-such-server-binary', 'no-such-package')).toThrow(
      /scripts\/provision\.sh/,
    );
  });
});

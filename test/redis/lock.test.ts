/**
 * The Redis backends with the shared clients, against real servers with real faults: a holder
 * process frozen past its TTL (the GC-pause story), Redis killed while a lock is held, a Redlock
 * minority frozen, and a real 3-master Redis Cluster.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Cluster } from 'ioredis';

import { describe, expect, it } from 'vitest';
import {
  RedisLockBackend,
  RedisSemaphoreBackend,
  RedlockBackend,
  redisFencedSet,
} from '../../src/adapters/redis/index.js';
import { hashTag, lockKeys, semaphoreKeys } from '../../src/adapters/redis/keys.js';
import { Election, isLockLostError, Lock, Semaphore } from '../../src/coord/index.js';
import { redis, redisCluster } from '../services/index.js';
import { call, client, privateRedis, untilSubscribers } from './helpers.js';

const srv = privateRedis();

/** Reads JSON lines from a child's stdout; each read rejects after `timeoutMs` without a line. */
function jsonLines(
  stream: NodeJS.ReadableStream,
  timeoutMs = 20_000,
): () => Promise<Record<string, unknown>> {
  const queue: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: stream }).on('line', (line) => {
    const w = waiting.shift();
    if (w) w(line);
    else queue.push(line);
  });
  return () =>
    new Promise((resolve, reject) => {
      const line = queue.shift();
      if (line !== undefined) return resolve(JSON.parse(line) as Record<string, unknown>);
      const timer = setTimeout(() => {
        waiting.splice(waiting.indexOf(take), 1);
        reject(new Error(`the holder process printed nothing in ${timeoutMs} ms`));
      }, timeoutMs);
      const take = (l: string): void => {
        clearTimeout(timer);
        resolve(JSON.parse(l) as Record<string, unknown>);
      };
      waiting.push(take);
    });
}

describe('RedisLockBackend with the Lock client', () => {
  it('rejects the late write of a holder process frozen (SIGSTOP) past its TTL', async () => {
    const script = fileURLToPath(new URL('./holder-process.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, String(srv.group.servers[0]!.port), 'gc-pause', '800'],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    try {
      const next = jsonLines(child.stdout);
      const first = await next();
      const staleToken = BigInt(first.token as string);
      child.kill('SIGSTOP'); // A long GC pause: the holder runs nothing, its lease runs out on the server.

      const backend = new RedisLockBackend(srv.main);
      const lock = new Lock(backend);
      // Waits (event-driven, then the expiry timer from PTTL) until the server expires the frozen lease.
      const lease = await lock.acquire('gc-pause', { ttlMs: 10_000, waitMs: 20_000 });
      expect(lease.token).toBeGreaterThan(staleToken);
      expect(
        (await redisFencedSet(srv.main, { key: 'report' }, lease.token, 'new holder')).kind,
      ).toBe('accepted');

      child.kill('SIGCONT');
      child.stdin.write('write\n');
      const outcome = await next();
      expect(outcome).toEqual({ signalAborted: true, result: 'stale' });
      expect(await srv.main.get('report')).toBe('new holder');
      await lease.release();
      await lock.close();
      backend.close();
    } finally {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  });

  it('hands a released lock to a waiter through pub/sub, not the recheck timer', async () => {
    const backend = new RedisLockBackend(srv.main);
    // Rechecks and the holder's expiry are far beyond the test's timeout: only the release event can wake the waiter.
    const lock = new Lock(backend, { recheckMs: 120_000 });
    const held = await lock.acquire('handoff', { ttlMs: 120_000 });
    const waiter = lock.acquire('handoff', { ttlMs: 5_000 });
    // Let the waiter subscribe and find the lock busy.
    await untilSubscribers(srv.main, lockKeys('faultline:lock:', 'handoff').channel);
    await held.release();
    const next = await waiter;
    expect(next.token).toBe(held.token + 1n);
    await next.release();
    await lock.close();
    backend.close();
  }, 10_000);

  it('publishes a release only while someone waits (lock and semaphore)', async () => {
    const locks = new RedisLockBackend(srv.main);
    const sems = new RedisSemaphoreBackend(srv.main);
    const sub = srv.main.duplicate();
    sub.on('error', () => undefined);
    const heard: string[] = [];
    sub.on('message', (channel: string) => heard.push(channel));
    const lockChannel = lockKeys('faultline:lock:', 'quiet').channel;
    const semChannel = semaphoreKeys('faultline:semaphore:', 'quiet').channel;
    await sub.subscribe(lockChannel, semChannel);
    try {
      // A PING on the subscriber answers after every message published before it was sent.
      await locks.tryAcquire('quiet', 'a', 10_000, call());
      await locks.release('quiet', 'a', call());
      await sems.tryAcquire('quiet', 'a', 1, 10_000, call());
      await sems.release('quiet', 'a', call());
      await sub.ping();
      expect(heard).toEqual([]);
      await locks.tryAcquire('quiet', 'a', 10_000, call());
      expect((await locks.tryAcquire('quiet', 'b', 10_000, call())).kind).toBe('busy');
      await locks.release('quiet', 'a', call());
      await sems.tryAcquire('quiet', 'a', 1, 10_000, call());
      expect((await sems.tryAcquire('quiet', 'b', 1, 10_000, call())).kind).toBe('busy');
      await sems.release('quiet', 'a', call());
      await sub.ping();
      expect(heard).toEqual([lockChannel, semChannel]);
    } finally {
      sub.disconnect();
      locks.close();
      sems.close();
    }
  });

  it('serves a semaphore: permits bounded, distinct increasing tokens, released permits reused', async () => {
    const backend = new RedisSemaphoreBackend(srv.main);
    const pool = new Semaphore(backend, { permits: 2, recheckMs: 120_000 });
    const a = await pool.acquire('pool', { ttlMs: 60_000 });
    const b = await pool.acquire('pool', { ttlMs: 60_000 });
    expect(b.token).toBeGreaterThan(a.token);
    expect(await pool.tryAcquire('pool', { ttlMs: 60_000 })).toBeNull();
    const waiting = pool.acquire('pool', { ttlMs: 60_000 });
    expect((await pool.holders('pool')).map((h) => h.token)).toEqual([a.token, b.token]);
    await a.release();
    const c = await waiting;
    expect(c.token).toBeGreaterThan(b.token);
    expect((await pool.holders('pool')).map((h) => h.token)).toEqual([b.token, c.token]);
    await b.release();
    await c.release();
    await pool.close();
    backend.close();
  }, 10_000);

  it('expires a semaphore permit by the server clock and grants it again with a newer token', async () => {
    const backend = new RedisSemaphoreBackend(srv.main);
    const pool = new Semaphore(backend, { permits: 1, recheckMs: 120_000 });
    const stale = await pool.acquire('expiring', { ttlMs: 300 });
    // Nobody releases: the waiter is woken by the retry timer the server's remaining TTL set.
    const next = await pool.acquire('expiring', { ttlMs: 60_000, waitMs: 20_000 });
    expect(next.token).toBeGreaterThan(stale.token);
    expect(stale.valid).toBe(false);
    expect((await pool.holders('expiring')).map((h) => h.token)).toEqual([next.token]);
    await next.release();
    await pool.close();
    backend.close();
  });

  it('elects one leader whose term is the fencing token', async () => {
    const backend = new RedisLockBackend(srv.main);
    const options = {
      key: 'leader',
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 500,
    };
    const e1 = new Election(backend, { ...options, candidateId: 'a' });
    const leadership = await e1.campaign();
    expect(await e1.leader()).toEqual({ kind: 'leader', candidateId: 'a', term: leadership.term });
    await e1.resign();
    backend.close();
  });
});

describe('faults', () => {
  it('signals the loss as unreachable, before the server-side expiry, when Redis is killed', async () => {
    const own = await redis(1);
    const c = client(own.servers[0]!);
    const backend = new RedisLockBackend(c);
    const lock = new Lock(backend, { callTimeoutMs: 200 });
    try {
      const lease = await lock.acquire('killed', { ttlMs: 1_500, autoRenew: true });
      const lost = new Promise<unknown>((resolve) =>
        lease.signal.addEventListener('abort', () => resolve(lease.signal.reason)),
      );
      await own.servers[0]!.kill();
      const reason = await lost;
      expect(isLockLostError(reason) && reason.reason).toBe('unreachable');
    } finally {
      await lock.close();
      backend.close();
      c.disconnect();
      await own.cleanup();
    }
  });

  it('wakes waiters when the subscriber reconnects after a Redis restart (notifications may be lost)', async () => {
    const own = await redis(1);
    const c = client(own.servers[0]!);
    const backend = new RedisLockBackend(c);
    // Rechecks and the holder's TTL are far beyond the test's timeout: only the reconnect can wake the waiter.
    const lock = new Lock(backend, { recheckMs: 120_000, callTimeoutMs: 1_000 });
    try {
      await lock.acquire('restart', { ttlMs: 120_000 });
      const waiter = lock.acquire('restart', { ttlMs: 5_000 });
      const channel = lockKeys('faultline:lock:', 'restart').channel;
      await untilSubscribers(c, channel);
      // Without persistence the restart forgets the lease (and the counter: see docs/redis.md).
      await own.servers[0]!.restart();
      const lease = await waiter;
      expect(lease.token).toBe(1n);
      await lease.release();
    } finally {
      await lock.close();
      backend.close();
      c.disconnect();
      await own.cleanup();
    }
  }, 20_000);

  it('acquires through Redlock while a minority is frozen, without waiting for it', async () => {
    const three = await redis(3);
    const clients = three.servers.map((s) => client(s));
    const backend = RedlockBackend.fromClients(clients);
    const lock = new Lock(backend, { callTimeoutMs: 60_000 });
    try {
      three.servers[2]!.pause();
      // The frozen instance would hold the call until its 60 s TTL bound; the test times out long before.
      const lease = await lock.acquire('redlock', { ttlMs: 60_000, waitMs: 0 });
      expect(lease.token).toBe(1n);
      expect(await backend.holder('redlock', call())).toMatchObject({
        owner: lease.owner,
        token: 1n,
      });
      await lease.release();
      expect((await lock.tryAcquire('redlock', { ttlMs: 60_000 }))?.token).toBe(2n);
    } finally {
      three.servers[2]!.resume();
      await lock.close();
      backend.close();
      for (const c of clients) c.disconnect();
      await three.cleanup();
    }
  }, 10_000);
});

describe('Redis Cluster (3 masters)', () => {
  it("locks keys on every master; each key's names share one slot", async () => {
    const cluster = await redisCluster({ masters: 3 });
    const c = new Cluster(
      cluster.servers.map((s) => ({ host: s.host, port: s.port })),
      {
        redisOptions: { maxRetriesPerRequest: 1 },
      },
    );
    const backend = new RedisLockBackend(c);
    const sem = new RedisSemaphoreBackend(c);
    const lock = new Lock(backend, { recheckMs: 120_000 });
    try {
      const keys = Array.from({ length: 12 }, (_, i) => `cluster-key-${i}`);
      const slots = new Set<number>();
      for (const key of keys) {
        const names = lockKeys('faultline:lock:', key);
        for (const name of Object.values(names)) expect(hashTag(name)).toBe(hashTag(names.lock));
        slots.add(Number(await c.call('CLUSTER', 'KEYSLOT', names.lock)));
        const lease = await lock.acquire(key, { ttlMs: 10_000 });
        const waiting = lock.acquire(key, { ttlMs: 10_000 });
        await lease.release();
        expect((await waiting).token).toBe(lease.token + 1n);
        expect((await sem.tryAcquire(key, 'o', 2, 5_000, call())).kind).toBe('acquired');
      }
      const owners = new Set(c.nodes('master').map((n) => n.options.port));
      expect(owners.size).toBe(3);
      expect(slots.size).toBe(keys.length);
    } finally {
      await lock.close();
      backend.close();
      sem.close();
      c.disconnect();
      await cluster.cleanup();
    }
  }, 30_000);
});

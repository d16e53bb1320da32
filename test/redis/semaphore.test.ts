/**
 * The Redis semaphore against real private servers: the SemaphoreBackend conformance suite (one
 * server and a 3-master cluster), then its FIFO queue through the Semaphore client: arrival order,
 * no starvation of a request for every permit, waiters that give up or crash, and hostile keys.
 */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSemaphoreBackend } from '../../src/adapters/redis/index.js';
import { semaphoreKeys, semaphoreScriptKeys } from '../../src/adapters/redis/keys.js';
import { SEMAPHORE_ENQUEUE } from '../../src/adapters/redis/scripts.js';
import { semaphoreBackendConformance } from '../../src/coord/conformance.js';
import { LockTimeoutError } from '../../src/coord/errors.js';
import { Semaphore } from '../../src/coord/index.js';
import type { Lease } from '../../src/coord/index.js';
import type { RedisGroup } from '../services/index.js';
import { redisCluster } from '../services/index.js';
import { privateRedis } from './helpers.js';

const srv = privateRedis();
let cluster: RedisGroup;
let clusterClient: Cluster;

beforeAll(async () => {
  cluster = await redisCluster({ masters: 3 });
  clusterClient = new Cluster(
    cluster.servers.map((s) => ({ host: s.host, port: s.port })),
    { redisOptions: { maxRetriesPerRequest: 1 } },
  );
});

afterAll(async () => {
  clusterClient?.disconnect();
  await cluster?.cleanup();
});

const PREFIX = 'faultline:semaphore:';
const keysOf = (key: string) => semaphoreKeys(PREFIX, key);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const api = { describe, it, expect } as Parameters<typeof semaphoreBackendConformance>[0];

// Expiry is the sorted set's server-time score: real server time has to pass.
semaphoreBackendConformance(api, 'redis (single instance)', async () => {
  const backend = new RedisSemaphoreBackend(srv.main);
  return {
    backend,
    elapse: sleep,
    queued: (key) => srv.main.llen(keysOf(key).queue),
    cleanup: () => backend.close(),
  };
});

semaphoreBackendConformance(api, 'redis (3-master cluster)', async () => {
  const backend = new RedisSemaphoreBackend(clusterClient);
  return {
    backend,
    elapse: sleep,
    queued: (key) => clusterClient.llen(keysOf(key).queue),
    cleanup: () => backend.close(),
  };
});

/** Resolves once the queue of `key` holds `n` waiters (at least `n`: `atLeast`); gives up after 10 s. */
async function untilQueued(key: string, n: number, atLeast = false): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const length = await srv.main.llen(keysOf(key).queue);
    if (length === n || (atLeast && length > n)) return;
    await sleep(1);
  }
  throw new Error(`the queue of ${key} never held ${n} waiter(s)`);
}

function setup(permits: number) {
  const backend = new RedisSemaphoreBackend(srv.main);
  // Rechecks far beyond the test: only hand-overs by the release script can move permits.
  const semaphore = new Semaphore(backend, { permits, recheckMs: 120_000 });
  return {
    semaphore,
    close: async () => {
      await semaphore.close();
      await backend.close();
    },
  };
}

describe('RedisSemaphoreBackend queue', () => {
  it('grants in arrival order; a head needing 2 permits holds back the 1-permit waiters behind it', async () => {
    const { semaphore, close } = setup(2);
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
      await untilQueued('fifo', i + 1);
    }
    await holder.release();
    const w0 = await waiters[0]!;
    // One permit is free, but the head (waiter 1) needs two: waiters 2 and 3 stay queued.
    expect((await semaphore.holders('fifo')).map((h) => h.token)).toEqual([w0.token]);
    expect(await srv.main.llen(keysOf('fifo').queue)).toBe(3);
    await w0.release();
    const w1 = await waiters[1]!;
    expect(w1.token).toBeGreaterThan(w0.token);
    expect((await semaphore.holders('fifo')).map((h) => h.permits ?? 1)).toEqual([2]);
    await w1.release();
    const [w2, w3] = await Promise.all([waiters[2]!, waiters[3]!]);
    expect(order).toEqual([0, 1, 2, 3]);
    expect(w3.token).toBeGreaterThan(w2.token);
    await Promise.all([w2.release(), w3.release()]);
    expect(await srv.main.exists(keysOf('fifo').permits, keysOf('fifo').queue)).toBe(0);
    await close();
  });

  it('does not starve a request for every permit: holders that re-acquire at once queue behind it', async () => {
    const { semaphore, close } = setup(3);
    const smalls = await Promise.all(
      [0, 1, 2].map(() => semaphore.acquire('starve', { ttlMs: 60_000 })),
    );
    const big = semaphore.acquire('starve', { ttlMs: 60_000, permits: 3 });
    await untilQueued('starve', 1);
    const again: Promise<Lease>[] = [];
    for (const [i, lease] of smalls.entries()) {
      await lease.release();
      // Without the queue, the freed permit would go to whoever asks first, and the request for
      // all three would wait as long as the others keep coming back.
      expect(await semaphore.tryAcquire('starve', { ttlMs: 60_000 })).toBeNull();
      again.push(semaphore.acquire('starve', { ttlMs: 60_000 }));
      await untilQueued('starve', i === 2 ? 3 : i + 2);
    }
    const bigLease = await big;
    expect((await semaphore.holders('starve')).map((h) => h.permits)).toEqual([3]);
    await bigLease.release();
    const later = await Promise.all(again);
    for (const lease of later) expect(lease.token).toBeGreaterThan(bigLease.token);
    await Promise.all(later.map((l) => l.release()));
    await close();
  });

  it('keeps granting a request for every permit while others churn', async () => {
    const { semaphore, close } = setup(3);
    let bigDone = false;
    const small = async (): Promise<void> => {
      while (!bigDone) {
        const lease = await semaphore.acquire('churn', { ttlMs: 10_000 });
        await lease.release();
      }
    };
    const workers = [small(), small(), small()];
    await sleep(20);
    const lease = await semaphore.acquire('churn', { ttlMs: 10_000, permits: 3, waitMs: 10_000 });
    bigDone = true;
    await lease.release();
    await Promise.all(workers);
    await close();
  });

  it('takes a waiter that gives up (waitMs) out of the queue and grants it nothing', async () => {
    const { semaphore, close } = setup(1);
    const holder = await semaphore.acquire('quit', { ttlMs: 60_000 });
    await expect(semaphore.acquire('quit', { ttlMs: 60_000, waitMs: 100 })).rejects.toBeInstanceOf(
      LockTimeoutError,
    );
    // It leaves after the grace that lets a next chunk of the same wait keep its place.
    await untilQueued('quit', 0);
    await holder.release();
    expect(await semaphore.holders('quit')).toEqual([]);
    const next = await semaphore.tryAcquire('quit', { ttlMs: 1_000 });
    expect(next?.token).toBeGreaterThan(holder.token);
    await next?.release();
    await close();
  });

  it("skips a crashed waiter's entry once it is no longer refreshed", async () => {
    const { semaphore, close } = setup(1);
    const holder = await semaphore.acquire('crash', { ttlMs: 60_000 });
    // A waiter that queued (entry good for 1 s) and then died: nobody refreshes it.
    const queuedAt = Date.now();
    const keys = semaphoreScriptKeys(keysOf('crash'));
    await srv.main.eval(
      SEMAPHORE_ENQUEUE.text,
      keys.length,
      ...keys,
      'dead-owner',
      1,
      60_000,
      1,
      1_000,
    );
    const live = semaphore.acquire('crash', { ttlMs: 60_000 });
    await untilQueued('crash', 2);
    await sleep(1_100 - (Date.now() - queuedAt));
    await holder.release();
    const lease = await live;
    expect(lease.token).toBeGreaterThan(holder.token);
    const holders = await srv.main.zrange(keysOf('crash').permits, 0, -1);
    expect(holders).toEqual([lease.owner]);
    await lease.release();
    await close();
  });

  it('keeps hostile keys that spell internal names apart from the keys they imitate', async () => {
    const { semaphore, close } = setup(1);
    const held = await semaphore.acquire('x', { ttlMs: 60_000 });
    const waiter = semaphore.acquire('x', { ttlMs: 60_000 });
    await untilQueued('x', 1);
    for (const key of ['x}:queue', 'x}:qinfo', 'x}:used', 'x}:tokens', 'x}:token', 'x}']) {
      const lease = await semaphore.tryAcquire(key, { ttlMs: 60_000 });
      expect(lease).not.toBeNull();
      await lease?.release();
    }
    expect(await srv.main.llen(keysOf('x').queue)).toBe(1);
    await held.release();
    await (await waiter).release();
    await close();
  });

  it('counts leases written without the running sum (an upgrade) instead of granting past the limit', async () => {
    const { semaphore, close } = setup(1);
    const [seconds, micros] = await srv.main.time();
    const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    // The layout of the previous version: a sorted set and a token hash, no `used` key.
    await srv.main.zadd(keysOf('legacy').permits, nowMs + 60_000, 'old-owner');
    await srv.main.hset(keysOf('legacy').tokens, 'old-owner', '7');
    await srv.main.set(keysOf('legacy').counter, '7');
    expect(await semaphore.tryAcquire('legacy', { ttlMs: 60_000 })).toBeNull();
    expect(await srv.main.get(keysOf('legacy').used)).toBe('1');
    await close();
  });

  it('counts the upgraded leases when the first thing it does is purge an expired one', async () => {
    const { semaphore, close } = setup(2);
    const [seconds, micros] = await srv.main.time();
    const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    // The previous version's layout with one expired and one live lease, and no `used` key: the
    // purge must not decrement a sum that does not exist yet (it went to -1, and the limit of 2
    // then let three holders in).
    const keys = keysOf('legacy-expired');
    await srv.main.zadd(keys.permits, nowMs - 1_000, 'gone-owner', nowMs + 60_000, 'old-owner');
    await srv.main.hset(keys.tokens, 'gone-owner', '6', 'old-owner', '7');
    await srv.main.set(keys.counter, '7');
    const first = await semaphore.tryAcquire('legacy-expired', { ttlMs: 60_000 });
    expect(first).not.toBeNull();
    expect(await semaphore.tryAcquire('legacy-expired', { ttlMs: 60_000 })).toBeNull();
    expect(await srv.main.get(keys.used)).toBe('2');
    await first?.release();
    expect(await srv.main.get(keys.used)).toBe('1');
    await close();
  });

  it('refuses a 1 ms TTL in the client; a 3 ms permit expires on the server and the next waiter gets it', async () => {
    const { semaphore, close } = setup(1);
    // A 1 ms lease would have no client-side validity left after the drift margin.
    await expect(semaphore.tryAcquire('brief', { ttlMs: 1 })).rejects.toThrow(/ttlMs.*got 1\)/);
    await semaphore.tryAcquire('brief', { ttlMs: 3 });
    const next = await semaphore.acquire('brief', { ttlMs: 1_000, waitMs: 5_000 });
    expect(next.valid).toBe(true);
    await next.release();
    await close();
  });
});

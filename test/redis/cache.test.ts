/**
 * The Redis tier of TieredCache against a private redis-server: K = 4 instances (each with its own
 * connections, as K processes would have) share one Redis, and a key costs one origin call per
 * expiry across all of them; invalidations reach the other instances' L1; a regenerator whose lease
 * was taken over cannot overwrite the newer value.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { RedisCacheTier, RedisLockBackend } from '../../src/adapters/redis/index.js';
import { Cache, TieredCache } from '../../src/cache/index.js';
import { Lock } from '../../src/coord/index.js';
import { client, elapseOn, privateRedis } from './helpers.js';

const srv = privateRedis();
const K = 4;
const CALLERS = 50;

interface Instance {
  cache: TieredCache<string>;
  tier: RedisCacheTier<string>;
  lock: Lock;
  conn: Redis;
}

const open: Instance[] = [];

afterEach(async () => {
  for (const i of open.splice(0)) {
    await i.cache.close();
    await i.lock.close();
    i.conn.disconnect();
  }
  await srv.main.flushall();
});

function instances(prefix: string): Instance[] {
  return Array.from({ length: K }, () => {
    const conn = client(srv.group.servers[0]!);
    const tier = new RedisCacheTier<string>(conn, { prefix });
    const lock = new Lock(new RedisLockBackend(conn, { prefix: `${prefix}lock:` }));
    const cache = new TieredCache<string>({ remote: tier, lock, ttlMs: 60_000, recheckMs: 50 });
    const instance = { cache, tier, lock, conn };
    open.push(instance);
    return instance;
  });
}

/** An origin that holds every load until the event loop has turned `turns` times. */
function origin(turns = 200) {
  let calls = 0;
  const load = async () => {
    const n = ++calls;
    for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
    return `v${n}`;
  };
  return { load, calls: () => calls };
}

async function burst(all: readonly Instance[], key: string, load: () => Promise<string>) {
  const results = await Promise.all(
    all.flatMap((i) => Array.from({ length: CALLERS }, () => i.cache.getOrLoad(key, load))),
  );
  return new Set(results);
}

async function until(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (predicate()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never: ${what}`);
}

describe('TieredCache over Redis (K = 4 instances)', () => {
  it('a cold key costs one origin call across every instance', async () => {
    const all = instances('t1:');
    await Promise.all(all.map((i) => i.cache.start()));
    const o = origin();
    expect(await burst(all, 'k', o.load)).toEqual(new Set(['v1']));
    expect(o.calls()).toBe(1);
  });

  it('an expiry costs one origin call across every instance; per-process coalescing costs K', async () => {
    const all = instances('t2:');
    const o = origin();
    await burst(all, 'k', o.load);
    // Expire the shared copy and every L1, as the TTL would.
    await srv.main.del(all[0]!.tier.keyOf('k'));
    for (const i of all) i.cache.local.delete('k');
    expect(await burst(all, 'k', o.load)).toEqual(new Set(['v2']));
    expect(o.calls()).toBe(2);

    // The baseline: each process coalesces its own callers (singleflight) but not the others'.
    const local = Array.from({ length: K }, () => new Cache<string>({ ttlMs: 60_000 }));
    const b = origin();
    await Promise.all(
      local.flatMap((c) => Array.from({ length: CALLERS }, () => c.getOrLoad('k', b.load))),
    );
    expect(b.calls()).toBe(K);
  });

  it('a delete on one instance reaches the other instances’ L1', async () => {
    const all = instances('t3:');
    const o = origin(1);
    await burst(all, 'k', o.load);
    expect(all.every((i) => i.cache.local.get('k') === 'v1')).toBe(true);
    await all[0]!.cache.delete('k');
    await until(() => all.every((i) => i.cache.local.get('k') === undefined), 'L1s dropped k');
    expect(await srv.main.exists(all[0]!.tier.keyOf('k'))).toBe(0);
    expect(await all[2]!.cache.getOrLoad('k', o.load)).toBe('v2');
  });

  it('a write from another instance drops this instance’s L1 copy', async () => {
    const all = instances('t4:');
    const o = origin(1);
    await burst(all, 'k', o.load);
    const lease = await all[1]!.lock.tryAcquire('cache:k', { ttlMs: 5_000 });
    expect(lease).not.toBeNull();
    expect(await all[1]!.tier.setFenced('k', 'v9', lease!.token, 60_000, 'other')).toBe(true);
    expect((await all[3]!.tier.get('k'))?.token).toBe(lease!.token);
    await lease!.release();
    await until(() => all.every((i) => i.cache.local.get('k') === undefined), 'L1s dropped k');
    expect(await all[3]!.cache.getOrLoad('k', o.load)).toBe('v9');
    expect(o.calls()).toBe(1);
  });

  it('a regenerator whose lease expired cannot overwrite the newer value (fenced write)', async () => {
    const all = instances('t5:');
    const stale = await all[0]!.lock.tryAcquire('cache:k', { ttlMs: 1_000 });
    expect(stale).not.toBeNull();
    // The stale regenerator pauses past its lease: make its TTL run out on the server.
    await elapseOn([srv.main], 2_000);
    const o = origin(1);
    expect(await all[1]!.cache.getOrLoad('k', o.load)).toBe('v1');
    expect(all[1]!.cache.stats.originCalls).toBe(1);
    // It wakes and writes what it computed before the pause: rejected, the newer value stays.
    expect(await all[0]!.tier.setFenced('k', 'old', stale!.token, 60_000, 'stale')).toBe(false);
    expect((await all[2]!.tier.get('k'))?.value).toBe('v1');
    await stale!.release();
  });

  it('rejects hostile input naming the field', async () => {
    const conn = srv.main;
    expect(() => new RedisCacheTier(conn, { prefix: 'a{b' })).toThrow(/prefix/);
    expect(() => new RedisCacheTier(conn, { fenceTtlMs: 0 })).toThrow(/fenceTtlMs/);
    expect(() => new RedisCacheTier({} as never)).toThrow(/ioredis/);
    const tier = new RedisCacheTier<string>(conn, { prefix: 't6:' });
    await expect(tier.setFenced('k', 'v', 0n, 1_000, 'x')).rejects.toThrow(/token/);
    expect(() => tier.keyOf('')).toThrow(/key must be/);
    // Keys that would move the hash tag stay distinct and in one slot with their fence.
    expect(tier.keyOf('a}b')).not.toBe(tier.keyOf('a\\]b'));
    await srv.main.publish('t6:events', 'not json');
  });
});

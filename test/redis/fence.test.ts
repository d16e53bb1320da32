/**
 * The Redis fence helper's script (`REDIS_FENCED_SET_SCRIPT`, `redisFencedSet`) against a
 * real Redis and a real Redis Cluster.
 */
import { Cluster } from 'ioredis';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisFenceKey, redisFencedSet } from '../../src/adapters/redis/index.js';
import type { RedisGroup } from '../services/index.js';
import { redis, redisCluster } from '../services/index.js';
import { client } from './helpers.js';

let single: RedisGroup;
let cluster: RedisGroup;
let c: Redis;
let cc: Cluster;

beforeAll(async () => {
  [single, cluster] = await Promise.all([redis(1), redisCluster({ masters: 3 })]);
  c = client(single.servers[0]!);
  cc = new Cluster(
    cluster.servers.map((s) => ({ host: s.host, port: s.port })),
    { redisOptions: { maxRetriesPerRequest: 1 } },
  );
});

afterAll(async () => {
  c.disconnect();
  cc.disconnect();
  await Promise.all([single.cleanup(), cluster.cleanup()]);
});

describe('redisFencedSet on a real Redis', () => {
  it('accepts equal or newer tokens and rejects older ones, reporting the newest', async () => {
    expect(await redisFencedSet(c, { key: 'doc' }, 5n, 'v5')).toEqual({
      kind: 'accepted',
      token: 5n,
    });
    expect(await redisFencedSet(c, { key: 'doc' }, 5n, 'v5b')).toEqual({
      kind: 'accepted',
      token: 5n,
    });
    expect(await redisFencedSet(c, { key: 'doc' }, 4n, 'v4')).toEqual({
      kind: 'stale',
      token: 4n,
      current: 5n,
    });
    expect(await c.get('doc')).toBe('v5b');
    // The default fence key shares the data key's hash tag (same cluster slot).
    expect(await c.get(redisFenceKey({ key: 'doc' }))).toBe('5');
  });

  it('compares 64-bit tokens exactly (beyond 2^53, and across digit counts)', async () => {
    const big = 9007199254740993n; // 2^53 + 1: a double would round it to 2^53.
    expect((await redisFencedSet(c, { key: 'big' }, big, 'a')).kind).toBe('accepted');
    expect((await redisFencedSet(c, { key: 'big' }, big - 1n, 'b')).kind).toBe('stale');
    expect((await redisFencedSet(c, { key: 'len' }, 100n, 'a')).kind).toBe('accepted');
    expect((await redisFencedSet(c, { key: 'len' }, 99n, 'b')).kind).toBe('stale');
    expect((await redisFencedSet(c, { key: 'len' }, 1000n, 'c')).kind).toBe('accepted');
    expect(await c.get('len')).toBe('c');
  });

  it("a resource named like another's fence key cannot overwrite that fence", async () => {
    expect((await redisFencedSet(c, { key: 'report' }, 7n, 'by 7')).kind).toBe('accepted');
    // With fence keys in the data keys' namespace, this write set report's fence to "1" ...
    for (const name of ['{report}:fence', 'report:fence', '{report}']) {
      expect((await redisFencedSet(c, { key: name }, 1n, '1')).kind).toBe('accepted');
    }
    // ... and a stale holder of report (token 3 < 7) was then accepted.
    expect(await redisFencedSet(c, { key: 'report' }, 3n, 'stale')).toEqual({
      kind: 'stale',
      token: 3n,
      current: 7n,
    });
    expect(await c.get('report')).toBe('by 7');
    // The fence's own key cannot be named as a data key at all.
    await expect(
      redisFencedSet(c, { key: redisFenceKey({ key: 'report' }) }, 1n, '1'),
    ).rejects.toThrow(/key must be a string without NUL/);
  });

  it('works on a Redis Cluster (data and fence keys in one slot)', async () => {
    for (let i = 0; i < 6; i++) {
      const key = `cluster-doc-${i}`;
      expect((await redisFencedSet(cc, { key }, 2n, 'new')).kind).toBe('accepted');
      expect((await redisFencedSet(cc, { key }, 1n, 'old')).kind).toBe('stale');
      expect(await cc.get(key)).toBe('new');
    }
  });
});

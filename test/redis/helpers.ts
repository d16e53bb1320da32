/** Helpers shared by the Redis integration tests. */
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import type { RedisGroup, RedisServer } from '../services/index.js';
import { redis } from '../services/index.js';

/** A client that fails fast: no retries of queued commands, a short connect timeout. */
export function client(server: RedisServer, options: RedisOptions = {}): Redis {
  const c = new Redis({
    host: server.host,
    port: server.port,
    maxRetriesPerRequest: 1,
    connectTimeout: 1_000,
    retryStrategy: (times) => Math.min(times * 50, 500),
    ...options,
  });
  // Tests kill servers on purpose; connection errors surface through the commands that fail.
  c.on('error', () => undefined);
  return c;
}

/**
 * Makes `ms` of server time pass for every lease on `clients` without sleeping: each key under the
 * faultline prefixes loses `ms` of its TTL (and is deleted when that is all it had left).
 */
export async function elapseOn(clients: readonly Redis[], ms: number): Promise<void> {
  for (const c of clients) {
    const keys = await c.keys('faultline:*');
    for (const key of keys) {
      const ttl = await c.pttl(key);
      if (ttl < 0) continue;
      if (ttl <= ms) await c.del(key);
      else await c.pexpire(key, ttl - ms);
    }
  }
}

/** A signal that never aborts, for direct SPI calls. */
export const call = (): { signal: AbortSignal } => ({ signal: new AbortController().signal });

/** Resolves once `channel` has `n` subscribers on the server (a waiter has subscribed); bounded. */
export async function untilSubscribers(c: Redis, channel: string, n = 1): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if ((await c.pubsub('NUMSUB', channel))[1] === n) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`${channel} never had ${n} subscriber(s)`);
}

/**
 * One private Redis for a test file: started before its tests, stopped after them. Read `main` (a
 * fail-fast client) and `group` inside tests, once `beforeAll` has run.
 */
export function privateRedis(): { readonly group: RedisGroup; readonly main: Redis } {
  let group: RedisGroup | undefined;
  let main: Redis | undefined;
  beforeAll(async () => {
    group = await redis(1);
    main = client(group.servers[0]!);
  });
  afterAll(async () => {
    main?.disconnect();
    await group?.cleanup();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('privateRedis() is read before its beforeAll ran');
    return value;
  };
  return {
    get group() {
      return started(group);
    },
    get main() {
      return started(main);
    },
  };
}

/**
 * One worker process of `bench cache multi` (multi-process-expiry): a cache instance of its own
 * (`tiered`: L1 + the shared Redis tier with the fenced lease; `local`: an in-process `Cache`, the
 * per-process locking a service gets without a shared tier) asking for one key every millisecond
 * from `startAt` (epoch ms, the same for every worker) for `durationMs`. Prints one JSON line:
 * its origin calls and the distinct values it saw (each value names the process and call that
 * loaded it, so the parent counts expiry windows across processes).
 *
 * Usage: node --import tsx bench/cache-expiry-worker.ts <tiered|local> <port> <prefix> <startAt>
 *        <durationMs> <ttlMs> <originMs>
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type * as RootModule from '../src/index.js';
import type * as RedisModule from '../src/adapters/redis/index.js';
import type * as CoordModule from '../src/coord/index.js';
import { compiled } from './util.js';

const [mode, port, prefix = '', startAt, durationMs, ttlMs, originMs] = process.argv.slice(2);
if (mode !== 'tiered' && mode !== 'local') throw new Error(`mode must be tiered or local: ${mode}`);

const { Cache, TieredCache } = await compiled<typeof RootModule>('index.js');
const { RedisCacheTier, RedisLockBackend } =
  await compiled<typeof RedisModule>('adapters/redis/index.js');
const { Lock } = await compiled<typeof CoordModule>('coord/index.js');

let calls = 0;
const load = async (): Promise<string> => {
  calls++;
  await sleep(Number(originMs));
  return `${process.pid}.${calls}`;
};

let get: (key: string) => Promise<string>;
let close: () => Promise<void>;
if (mode === 'local') {
  const cache = new Cache<string>({ ttlMs: Number(ttlMs), beta: 0 });
  get = (key) => cache.getOrLoad(key, load);
  close = () => cache.close();
} else {
  const conn = new Redis({ port: Number(port), host: '127.0.0.1' });
  const lock = new Lock(new RedisLockBackend(conn, { prefix: `${prefix}lock:` }));
  const cache = new TieredCache<string>({
    ttlMs: Number(ttlMs),
    beta: 0,
    remote: new RedisCacheTier<string>(conn, { prefix }),
    lock,
    recheckMs: 20,
  });
  get = (key) => cache.getOrLoad(key, load);
  close = async () => {
    await cache.close();
    await lock.close();
    conn.disconnect();
  };
}

// Start together: wait for the common start instant (wall clock, shared by the processes).
await sleep(Math.max(0, Number(startAt) - Date.now()));
const seen = new Set<string>();
const end = performance.now() + Number(durationMs);
while (performance.now() < end) {
  const [value] = await Promise.all([get('k'), sleep(1)]);
  seen.add(value);
}
await close();
process.stdout.write(`${JSON.stringify({ calls, seen: [...seen] })}\n`);

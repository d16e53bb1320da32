/**
 * Caching: faultline's Cache (and TieredCache over Redis) beside lru-cache (`fetch` with a
 * `fetchMethod`), bentocache (memory store) and @epic-web/cachified (over an lru-cache store),
 * interleaved in the same run, medians of several rounds.
 *
 * - stampede-cold / stampede-expired: 10,000 concurrent callers on one key, 50 ms origin: origin
 *   `calls` and the callers' p99 latency in `ms`.
 * - hit-seq / hit-conc100: hot hits, `ops/s`, one caller awaiting each hit, or 100 concurrent ones.
 * - xfetch-window: faultline's policies only, in the simulator (virtual time): Poisson traffic at
 *   200 req/s over 100 TTL windows of 1 s, δ = 100 ms recompute: recomputations per window and
 *   requests that waited for the origin.
 * - multi-process-expiry: K = 4 worker processes (each with its own cache and Redis connection)
 *   share one private redis-server; the key expires under steady load: origin calls per expiry,
 *   TieredCache vs per-process coalescing.
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { cachified, totalTtl } from '@epic-web/cachified';
import type { Cache as CachifiedCache, CacheEntry } from '@epic-web/cachified';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { LRUCache } from 'lru-cache';
import type * as RootModule from '../src/index.js';
import type * as SimModule from '../src/sim/index.js';
import { redis } from '../test/services/index.js';
import type { BenchContext, BenchRow, BenchSuite } from './types.js';
import { compiled, interleaved, median } from './util.js';

// faultline runs from the compiled dist/ like the anchors from node_modules (see compiled()).
const { Cache } = await compiled<typeof RootModule>('index.js');
const { Scheduler, createSimRuntime } = await compiled<typeof SimModule>('sim/index.js');

const ORIGIN_MS = 50;
const CALLERS = 10_000;
const ROUNDS = 5;

/** One cache under test: `get` answers from cache or via `load` (which counts origin calls). */
interface Subject {
  get(key: string, load: () => Promise<string>, ttlMs: number): Promise<string>;
  close(): Promise<void>;
}

type Anchor = 'faultline' | 'lru-cache' | 'bentocache' | '@epic-web/cachified';

function subject(impl: Anchor): Subject {
  switch (impl) {
    case 'faultline': {
      const cache = new Cache<string>({ ttlMs: 60_000, maxEntries: 1_000 });
      return {
        get: (key, load, ttlMs) => cache.getOrLoad(key, load, { ttlMs }),
        close: () => cache.close(),
      };
    }
    case 'lru-cache': {
      let current: () => Promise<string> = () => Promise.reject(new Error('no loader'));
      const lru = new LRUCache<string, string>({ max: 1_000, fetchMethod: () => current() });
      return {
        get: async (key, load, ttl) => {
          current = load;
          return (await lru.fetch(key, { ttl })) as string;
        },
        close: async () => lru.clear(),
      };
    }
    case 'bentocache': {
      const bento = new BentoCache({
        default: 'memory',
        stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 1_000 })) },
      });
      return {
        get: (key, load, ttl) => bento.getOrSet({ key, factory: () => load(), ttl }),
        close: () => bento.disconnectAll(),
      };
    }
    case '@epic-web/cachified': {
      const lru = new LRUCache<string, CacheEntry>({ max: 1_000 });
      const cache: CachifiedCache = {
        set(key, value) {
          const ttl = totalTtl(value?.metadata);
          return lru.set(
            key,
            value,
            ttl === Infinity ? {} : { ttl, start: value?.metadata?.createdTime },
          );
        },
        get: (key) => lru.get(key),
        delete: (key) => lru.delete(key),
      };
      return {
        get: (key, load, ttl) => cachified({ key, cache, getFreshValue: () => load(), ttl }),
        close: async () => lru.clear(),
      };
    }
  }
}

const ANCHORS: readonly Anchor[] = ['faultline', 'lru-cache', 'bentocache', '@epic-web/cachified'];

/** 10,000 callers at once on `key`; optionally after the key was cached and expired. */
async function stampede(impl: Anchor, expired: boolean): Promise<{ calls: number; p99: number }> {
  const s = subject(impl);
  let calls = 0;
  const load = async (): Promise<string> => {
    calls++;
    await sleep(ORIGIN_MS);
    return `v${calls}`;
  };
  if (expired) {
    await s.get('k', load, 100);
    await sleep(150);
    calls = 0;
  }
  const latencies = new Array<number>(CALLERS);
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, (_, i) =>
      s.get('k', load, 60_000).then(() => (latencies[i] = performance.now() - start)),
    ),
  );
  await s.close();
  latencies.sort((a, b) => a - b);
  return { calls, p99: latencies[Math.ceil(0.99 * CALLERS) - 1] ?? Number.NaN };
}

/** Hot hits for `durationMs`: `workers` callers each awaiting one hit after another. */
async function hits(impl: Anchor, workers: number, durationMs = 300): Promise<number> {
  const s = subject(impl);
  const load = async () => 'v';
  await s.get('k', load, 3_600_000);
  let ops = 0;
  const end = performance.now() + durationMs;
  const worker = async () => {
    while (performance.now() < end) {
      for (let i = 0; i < 100; i++) await s.get('k', load, 3_600_000);
      ops += 100;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: workers }, worker));
  const elapsed = performance.now() - start;
  await s.close();
  return (ops / elapsed) * 1_000;
}

async function stampedeCases(ctx: BenchContext, rows: BenchRow[]): Promise<void> {
  for (const expired of [false, true]) {
    const name = expired ? 'stampede-expired' : 'stampede-cold';
    ctx.log(name);
    const samples = Object.fromEntries(
      ANCHORS.map((a) => [a, { calls: [] as number[], p99: [] as number[] }]),
    );
    for (let r = 0; r < ROUNDS; r++) {
      for (const a of ANCHORS) {
        const res = await stampede(a, expired);
        samples[a]!.calls.push(res.calls);
        samples[a]!.p99.push(res.p99);
      }
    }
    for (const a of ANCHORS) {
      rows.push({
        case: name,
        impl: a,
        metric: 'origin calls',
        value: median(samples[a]!.calls),
        unit: 'calls',
      });
      rows.push({ case: name, impl: a, metric: 'p99', value: median(samples[a]!.p99), unit: 'ms' });
    }
  }
}

async function hitCases(ctx: BenchContext, rows: BenchRow[]): Promise<void> {
  for (const [name, workers] of [
    ['hit-seq', 1],
    ['hit-conc100', 100],
  ] as const) {
    ctx.log(name);
    const result = await interleaved(
      ROUNDS,
      Object.fromEntries(ANCHORS.map((a) => [a, () => hits(a, workers)])) as Record<
        Anchor,
        () => Promise<number>
      >,
    );
    for (const a of ANCHORS)
      rows.push({ case: name, impl: a, metric: 'hits', value: result[a], unit: 'ops/s' });
  }
}

/** The policies xfetch-window compares, as faultline Cache options. */
const POLICIES: Record<string, { beta: number; coalesce: boolean; staleMs?: number }> = {
  'fixed-ttl': { beta: 0, coalesce: false },
  lock: { beta: 0, coalesce: true },
  swr: { beta: 0, coalesce: true, staleMs: 1_000 },
  'xfetch-b0.5': { beta: 0.5, coalesce: false },
  'xfetch-b1': { beta: 1, coalesce: false },
  'xfetch-b2': { beta: 2, coalesce: false },
  'xfetch+lock': { beta: 1, coalesce: true },
};

/** One policy over 100 TTL windows of Poisson traffic, in virtual time. */
async function xfetchWindow(policy: (typeof POLICIES)[string], seed: number) {
  const scheduler = new Scheduler({ seed });
  const runtime = createSimRuntime(scheduler, 'xfetch');
  const ttlMs = 1_000;
  const windows = 100;
  const cache = new Cache<string>({ ttlMs, runtime, ...policy });
  let recomputations = 0;
  let waited = 0;
  const load = async () => {
    recomputations++;
    await runtime.timers.sleep(100);
    return 'v';
  };
  const random = runtime.random.fork('arrivals');
  const arrive = (): void => {
    if (runtime.clock.monotonicMs() > windows * ttlMs) return;
    const start = runtime.clock.monotonicMs();
    void cache.getOrLoad('k', load).then(() => {
      if (runtime.clock.monotonicMs() > start) waited++;
    });
    runtime.timers.setTimer(random.exponential(5), arrive); // 200 req/s
  };
  arrive();
  await scheduler.run({ untilMs: windows * ttlMs + 1_000 });
  await cache.close();
  return { perWindow: recomputations / windows, waited };
}

async function xfetchCases(ctx: BenchContext, rows: BenchRow[]): Promise<void> {
  ctx.log('xfetch-window');
  for (const [name, policy] of Object.entries(POLICIES)) {
    const runs = [];
    for (let seed = 1; seed <= ROUNDS; seed++) runs.push(await xfetchWindow(policy, seed));
    const impl = `faultline/${name}`;
    rows.push({
      case: 'xfetch-window',
      impl,
      metric: 'recomputations per window',
      value: median(runs.map((r) => r.perWindow)),
      unit: 'calls',
    });
    rows.push({
      case: 'xfetch-window',
      impl,
      metric: 'requests that waited',
      value: median(runs.map((r) => r.waited)),
      unit: 'requests',
    });
  }
}

/**
 * K = 4 worker processes (bench/cache-expiry-worker.ts), each with its own cache and Redis
 * connection, ask for one key every millisecond over 6 TTL windows; returns origin calls per
 * expiry window (the windows counted from the distinct values every worker saw).
 */
async function multiProcess(port: number, tiered: boolean, prefix: string): Promise<number> {
  const K = 4;
  const expiries = 6;
  const ttlMs = 300;
  // Workers load the compiled package (a second or two each): start together well after that.
  const startAt = Date.now() + 4_000;
  const worker = fileURLToPath(new URL('./cache-expiry-worker.ts', import.meta.url));
  const args = [
    tiered ? 'tiered' : 'local',
    String(port),
    prefix,
    String(startAt),
    String(expiries * ttlMs + ORIGIN_MS),
    String(ttlMs),
    String(ORIGIN_MS),
  ];
  const outputs = await Promise.all(
    Array.from(
      { length: K },
      () =>
        new Promise<{ calls: number; seen: string[] }>((resolve, reject) => {
          execFile(
            process.execPath,
            ['--import', 'tsx', worker, ...args],
            { maxBuffer: 16 * 1024 * 1024 },
            (error, stdout) => {
              if (error !== null) reject(error);
              else resolve(JSON.parse(stdout) as { calls: number; seen: string[] });
            },
          );
        }),
    ),
  );
  const calls = outputs.reduce((sum, o) => sum + o.calls, 0);
  // One window per value the first worker saw (a new value each expiry, from whoever loaded it).
  return calls / new Set(outputs[0]?.seen).size;
}

async function multiProcessCases(ctx: BenchContext, rows: BenchRow[]): Promise<void> {
  ctx.log('multi-process-expiry (private redis-server)');
  const group = await redis(1);
  try {
    const port = group.servers[0]!.port;
    const result = await interleaved(ROUNDS, {
      tiered: (() => {
        let round = 0;
        return () => multiProcess(port, true, `bench${round++}:`);
      })(),
      local: () => multiProcess(port, false, 'unused:'),
    });
    rows.push({
      case: 'multi-process-expiry',
      impl: 'faultline',
      metric: 'origin calls per expiry',
      value: result.tiered,
      unit: 'calls',
    });
    rows.push({
      case: 'multi-process-expiry',
      impl: 'faultline/per-process',
      metric: 'origin calls per expiry',
      value: result.local,
      unit: 'calls',
    });
  } finally {
    await group.cleanup();
  }
}

const suite: BenchSuite = {
  name: 'cache',
  description:
    'Caching: stampede origin calls and p99, hot-hit throughput, XFetch recomputations per TTL window, origin calls per expiry across 4 worker processes on one Redis. Medians of 5 rounds.',
  async run(ctx) {
    const rows: BenchRow[] = [];
    const only = ctx.args[0];
    if (only === undefined || only === 'stampede') await stampedeCases(ctx, rows);
    if (only === undefined || only === 'hit') await hitCases(ctx, rows);
    if (only === undefined || only === 'xfetch') await xfetchCases(ctx, rows);
    if (only === undefined || only === 'multi') await multiProcessCases(ctx, rows);
    return rows;
  },
};

export default suite;

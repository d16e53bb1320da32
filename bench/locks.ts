/**
 * Lock benchmarks: faultline's Redis lock (the shared `Lock` client over `RedisLockBackend`) against
 * redlock, @sesamecare-oss/redlock and redis-semaphore's Mutex, on one private redis-server.
 *
 * Cases (each run interleaved across implementations, several rounds, medians):
 * - `uncontended-seq`: one worker, acquire + release in a loop (ops/s).
 * - `uncontended-par50`: 50 workers, each on its own key (ops/s in total).
 * - `hot-key-handoff/w<N>/hold<H>ms`: N workers on one key holding it H ms; the time from a release
 *   to the next acquire (median, µs), by anyone (often the releaser itself) and, in
 *   `hot-key-handoff-other`, by another worker (a real handoff to a waiter).
 * - `hot-key-release/w<N>/hold<H>ms`: the release call's own latency (median, µs): one round trip
 *   under the same load, the unit to read the handoff against.
 * - `hot-key-throughput/w<N>/hold<H>ms`: acquisitions per second of the same runs.
 * - `semaphore-seq`, `semaphore-hot/w16/hold1ms`: the same two kinds of case for a semaphore of 5
 *   permits per key, one permit per acquire: faultline's `Semaphore` over `RedisSemaphoreBackend`
 *   against redis-semaphore's `Semaphore`.
 * - `multi-semaphore-seq`, `multi-semaphore-hot/w16/hold1ms`: 2 of the 5 permits per acquire, against
 *   redis-semaphore's `MultiSemaphore`.
 *
 * The suite is a list of case functions over a list of implementations, so other backends (etcd)
 * can add their own implementations or cases. Args: `--quick` (fewer rounds, shorter runs),
 * `--only <text>` (the cases whose name contains it), `--rounds <n>`, `--cpu` (the uncontended
 * cases also report this process's CPU µs and heap bytes per acquire + release).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redlock as SesameRedlock } from '@sesamecare-oss/redlock';
import { Redis } from 'ioredis';
// @ts-expect-error redlock 5's package.json "exports" has no "types" condition (its index.d.ts is unreachable under NodeNext).
import RedlockModule from 'redlock';
import { MultiSemaphore, Mutex, Semaphore as RedisSemaphore } from 'redis-semaphore';
import type * as RedisModule from '../src/adapters/redis/index.js';
import type * as CoordModule from '../src/coord/index.js';
import { redis } from '../test/services/index.js';
import type { BenchContext, BenchRow, BenchSuite } from './types.js';
import { compiled, interleaved, median, meterCpu } from './util.js';

// faultline runs from the compiled dist/ like the anchors from node_modules (see compiled()).
const { RedisLockBackend, RedisSemaphoreBackend } =
  await compiled<typeof RedisModule>('adapters/redis/index.js');
const { Lock, Semaphore } = await compiled<typeof CoordModule>('coord/index.js');

/** Acquires `key` and returns its release. */
export type Acquire = (key: string) => Promise<() => Promise<void>>;

/** A lock implementation under test, bound to one Redis server. */
export interface LockImpl {
  /** `faultline`, `faultline/<variant>` or the anchor's npm name. */
  readonly name: string;
  readonly acquire: Acquire;
  close(): Promise<void>;
}

/** Builds the implementations for a Redis on `port`. */
export type ImplFactory = (port: number) => LockImpl;

/** Settings of a run. */
export interface RunSettings {
  readonly rounds: number;
  readonly durationMs: number;
  /** Also report client CPU and heap allocation per operation (`--cpu`). */
  readonly cpu: boolean;
  readonly log: (message: string) => void;
}

/** A benchmark case: measures every implementation and returns rows. */
export interface LockCase {
  /** The case name (rows may append a suffix); `--only <text>` runs the cases whose name contains it. */
  readonly name: string;
  run(impls: readonly LockImpl[], settings: RunSettings): Promise<BenchRow[]>;
}

const TTL_MS = 10_000;

/** The part of redlock 5's API the bench uses (its declarations are unreachable, see the import). */
interface RedlockAnchor {
  acquire(resources: string[], ttlMs: number): Promise<{ release(): Promise<unknown> }>;
  on(event: 'error', listener: (error: unknown) => void): unknown;
}
const Redlock = RedlockModule as new (
  clients: Redis[],
  settings: Record<string, number>,
) => RedlockAnchor;

function newClient(port: number): Redis {
  return new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
}

/** The implementations on one Redis server; each gets its own connection. */
export const redisImpls: readonly ImplFactory[] = [
  (port) => {
    const client = newClient(port);
    const backend = new RedisLockBackend(client);
    const lock = new Lock(backend);
    return {
      name: 'faultline',
      acquire: async (key) => {
        const lease = await lock.acquire(key, { ttlMs: TTL_MS });
        return () => lease.release();
      },
      close: async () => {
        await lock.close();
        backend.close();
        client.disconnect();
      },
    };
  },
  (port) => {
    // The backend alone, without the shared client's deadlines, watchdog and lease bookkeeping: the
    // same Lua scripts and queue, driven by the simplest correct loop (a plain attempt, then queue).
    const client = newClient(port);
    const backend = new RedisLockBackend(client);
    let seq = 0;
    return {
      name: 'faultline/backend',
      acquire: async (key) => {
        const call = { signal: new AbortController().signal };
        for (;;) {
          const owner = `bench-${process.pid}-${++seq}`;
          const r = await backend.tryAcquire(key, owner, TTL_MS, call);
          const granted =
            r.kind === 'acquired' ? r : await backend.acquireQueued(key, owner, TTL_MS, call);
          if (granted.kind === 'acquired') return () => backend.release(key, owner, call);
        }
      },
      close: async () => {
        backend.close();
        client.disconnect();
      },
    };
  },
  (port) => {
    const client = newClient(port);
    const mutexOptions = { lockTimeout: TTL_MS, acquireTimeout: 120_000, refreshInterval: 0 };
    return {
      name: 'redis-semaphore',
      acquire: async (key) => {
        const mutex = new Mutex(client, key, mutexOptions);
        await mutex.acquire();
        return () => mutex.release();
      },
      close: async () => client.disconnect(),
    };
  },
  (port) => {
    const client = newClient(port);
    const redlock = new Redlock([client], { retryCount: -1, automaticExtensionThreshold: 0 });
    redlock.on('error', () => undefined); // Contention errors are expected; they are retried.
    return {
      name: 'redlock',
      acquire: async (key) => {
        const lock = await redlock.acquire([key], TTL_MS);
        return async () => void (await lock.release());
      },
      close: async () => client.disconnect(),
    };
  },
  (port) => {
    const client = newClient(port);
    const redlock = new SesameRedlock([client], { retryCount: -1 });
    redlock.on('error', () => undefined);
    return {
      name: '@sesamecare-oss/redlock',
      acquire: async (key) => {
        const lock = await redlock.acquire([key], TTL_MS);
        return async () => void (await lock.release());
      },
      close: async () => client.disconnect(),
    };
  },
];

/** Permits per key of the semaphore cases (`semaphore-*`: 1 at a time; `multi-semaphore-*`: 2). */
const SEMAPHORE_LIMIT = 5;
/** Permits one acquire takes in the `multi-semaphore-*` cases. */
const MULTI_PERMITS = 2;

/**
 * A semaphore of {@link SEMAPHORE_LIMIT} permits per key, each acquire taking `permits`:
 * faultline's `Semaphore` over `RedisSemaphoreBackend` (FIFO inside Redis) and redis-semaphore's
 * `Semaphore` (1 permit) or `MultiSemaphore` (k permits), each on its own connection.
 */
function semaphoreImpls(permits: number): readonly ImplFactory[] {
  return [
    (port) => {
      const client = newClient(port);
      const backend = new RedisSemaphoreBackend(client);
      const pool = new Semaphore(backend, { permits: SEMAPHORE_LIMIT });
      const options = { ttlMs: TTL_MS, permits };
      return {
        name: 'faultline',
        acquire: async (key) => {
          const lease = await pool.acquire(key, options);
          return () => lease.release();
        },
        close: async () => {
          await pool.close();
          await backend.close();
          client.disconnect();
        },
      };
    },
    (port) => {
      const client = newClient(port);
      const options = { lockTimeout: TTL_MS, acquireTimeout: 120_000, refreshInterval: 0 };
      return {
        name: permits === 1 ? 'redis-semaphore' : 'redis-semaphore/MultiSemaphore',
        acquire: async (key) => {
          const semaphore =
            permits === 1
              ? new RedisSemaphore(client, key, SEMAPHORE_LIMIT, options)
              : new MultiSemaphore(client, key, SEMAPHORE_LIMIT, permits, options);
          await semaphore.acquire();
          return () => semaphore.release();
        },
        close: async () => client.disconnect(),
      };
    },
  ];
}

let keySeq = 0;
/** A key no earlier measurement used (so no implementation sees another's leftovers). */
function freshKey(label: string): string {
  keySeq++;
  return `bench:${label}:${keySeq}`;
}

/** What one uncontended run measured. */
interface UncontendedResult {
  readonly opsPerSecond: number;
  /** This process's CPU time per acquire + release, in µs. */
  readonly cpuMicrosPerOp: number;
  /** V8 heap bytes allocated per acquire + release. */
  readonly bytesPerOp: number;
}

/** Acquire + release in a loop on `workers` distinct keys for `durationMs`. */
async function uncontended(
  impl: LockImpl,
  workers: number,
  durationMs: number,
): Promise<UncontendedResult> {
  const until = performance.now() + durationMs;
  let ops = 0;
  const stop = meterCpu();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const key = freshKey(`u${w}`);
      while (performance.now() < until) {
        const release = await impl.acquire(key);
        await release();
        ops++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const used = stop();
  return {
    opsPerSecond: ops / seconds,
    cpuMicrosPerOp: used.cpuMicros / ops,
    bytesPerOp: used.allocatedBytes / ops,
  };
}

/**
 * The uncontended case with `workers` workers. With `settings.cpu`, two more rows per
 * implementation: this process's CPU µs and heap bytes per acquire + release (what a noisy machine
 * distorts least; the Redis server's own CPU is not counted).
 */
function uncontendedCase(name: string, workers: number): LockCase {
  return {
    name,
    run: async (impls, settings) => {
      settings.log(`${name}: ${impls.length} implementations × ${settings.rounds} rounds`);
      const samples = new Map<string, UncontendedResult[]>(impls.map((i) => [i.name, []]));
      const runs = Object.fromEntries(
        impls.map((i) => [
          i.name,
          async () => {
            const r = await uncontended(i, workers, settings.durationMs);
            samples.get(i.name)?.push(r);
            return r.opsPerSecond;
          },
        ]),
      );
      const result = await interleaved(settings.rounds, runs);
      return impls.flatMap((i) => {
        const rows: BenchRow[] = [
          {
            case: name,
            impl: i.name,
            metric: 'acquire+release',
            value: result[i.name] ?? 0,
            unit: 'ops/s',
          },
        ];
        if (!settings.cpu) return rows;
        const rs = samples.get(i.name) ?? [];
        rows.push(
          {
            case: `${name}-cpu`,
            impl: i.name,
            metric: 'client CPU per acquire+release (median)',
            value: median(rs.map((r) => r.cpuMicrosPerOp)),
            unit: 'us',
          },
          {
            case: `${name}-alloc`,
            impl: i.name,
            metric: 'heap allocated per acquire+release (median)',
            value: median(rs.map((r) => r.bytesPerOp)),
            unit: 'bytes',
          },
        );
        return rows;
      });
    },
  };
}

/** What one hot-key run measured. */
interface HotKeyResult {
  /** Median µs from a release to the next acquire by anyone (often the releaser itself). */
  readonly handoff: number;
  /** Median µs from a release to the next acquire by another worker (a real handoff). */
  readonly toOther: number;
  /** Median µs of the release call itself (one round trip under the same load). */
  readonly release: number;
  readonly opsPerSecond: number;
}

/** One hot-key run: `workers` loop acquire, hold `holdMs`, release on one key. */
async function hotKey(
  impl: LockImpl,
  workers: number,
  holdMs: number,
  durationMs: number,
): Promise<HotKeyResult> {
  const key = freshKey('hot');
  const until = performance.now() + durationMs;
  const handoffs: number[] = [];
  const toOther: number[] = [];
  const releases: number[] = [];
  let releasedAt: number | undefined;
  let lastHolder = -1;
  let ops = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (performance.now() < until) {
        const release = await impl.acquire(key);
        if (releasedAt !== undefined) {
          const us = (performance.now() - releasedAt) * 1000;
          handoffs.push(us);
          if (w !== lastHolder) toOther.push(us);
        }
        releasedAt = undefined;
        lastHolder = w;
        ops++;
        if (holdMs > 0) await sleep(holdMs);
        const at = performance.now();
        releasedAt = at;
        await release();
        releases.push((performance.now() - at) * 1000);
      }
    }),
  );
  const med = (xs: number[]): number => (xs.length > 0 ? median(xs) : Number.NaN);
  return {
    handoff: med(handoffs),
    toOther: med(toOther),
    release: med(releases),
    opsPerSecond: ops / ((performance.now() - start) / 1000),
  };
}

function hotKeyCase(workers: number, holdMs: number, prefix = 'hot-key'): LockCase {
  const suffix = `w${workers}/hold${holdMs}ms`;
  return {
    name: `${prefix}/${suffix}`,
    run: async (impls, settings) => {
      settings.log(`${prefix} ${suffix}`);
      const samples = new Map<string, HotKeyResult[]>(impls.map((i) => [i.name, []]));
      const runs = Object.fromEntries(
        impls.map((i) => [
          i.name,
          async () => {
            const r = await hotKey(i, workers, holdMs, settings.durationMs);
            samples.get(i.name)?.push(r);
            return r.opsPerSecond;
          },
        ]),
      );
      await interleaved(settings.rounds, runs);
      return impls.flatMap((i) => {
        const rs = samples.get(i.name) ?? [];
        const of = (f: (r: HotKeyResult) => number): number => {
          const xs = rs.map(f).filter((x) => !Number.isNaN(x));
          return xs.length > 0 ? median(xs) : Number.NaN;
        };
        const rows: BenchRow[] = [
          {
            case: `${prefix}-handoff/${suffix}`,
            impl: i.name,
            metric: 'release→next acquire (median)',
            value: of((r) => r.handoff),
            unit: 'us',
          },
          {
            case: `${prefix}-handoff-other/${suffix}`,
            impl: i.name,
            metric: "release→another worker's acquire (median)",
            value: of((r) => r.toOther),
            unit: 'us',
          },
          {
            case: `${prefix}-release/${suffix}`,
            impl: i.name,
            metric: 'release call, one round trip (median)',
            value: of((r) => r.release),
            unit: 'us',
          },
          {
            case: `${prefix}-throughput/${suffix}`,
            impl: i.name,
            metric: 'acquire+release',
            value: of((r) => r.opsPerSecond),
            unit: 'ops/s',
          },
        ];
        // A worker that never lost the key to another gives no handoff sample: leave the row out.
        return rows.filter((r) => !Number.isNaN(r.value));
      });
    },
  };
}

/** The cases, in order. */
export const lockCases: readonly LockCase[] = [
  uncontendedCase('uncontended-seq', 1),
  uncontendedCase('uncontended-par50', 50),
  ...[2, 16, 64].flatMap((w) => [hotKeyCase(w, 0), hotKeyCase(w, 1)]),
];

/**
 * The semaphore cases (one permit of {@link SEMAPHORE_LIMIT} per acquire), then the k-of-N cases
 * ({@link MULTI_PERMITS} at once). On one key with 16 workers and a 1 ms hold, at most 5 (or 2)
 * hold at a time: the `*-hot/...` throughput is how fast freed permits reach waiters (ours are
 * handed over in Redis; redis-semaphore's waiters poll every 10 ms).
 */
const semaphoreCases: readonly LockCase[] = [
  uncontendedCase('semaphore-seq', 1),
  hotKeyCase(16, 1, 'semaphore-hot'),
];
const multiSemaphoreCases: readonly LockCase[] = [
  uncontendedCase('multi-semaphore-seq', 1),
  hotKeyCase(16, 1, 'multi-semaphore-hot'),
];

/** Each group of cases with the implementations it compares. */
const groups: readonly { cases: readonly LockCase[]; impls: readonly ImplFactory[] }[] = [
  { cases: lockCases, impls: redisImpls },
  { cases: semaphoreCases, impls: semaphoreImpls(1) },
  { cases: multiSemaphoreCases, impls: semaphoreImpls(MULTI_PERMITS) },
];

/** Redis round trip (PING) median in µs, to read the handoff figures against. */
async function pingMicros(port: number): Promise<number> {
  const client = newClient(port);
  const samples: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    const t = performance.now();
    await client.ping();
    samples.push((performance.now() - t) * 1000);
  }
  client.disconnect();
  return median(samples);
}

/** `--rounds <n>` (a positive integer), if given. */
function roundsArg(args: readonly string[]): number | undefined {
  const at = args.indexOf('--rounds');
  if (at < 0) return undefined;
  const n = Number(args[at + 1]);
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`--rounds: expected a positive integer, got ${args[at + 1]}`);
  return n;
}

async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const quick = ctx.args.includes('--quick');
  const settings: RunSettings = {
    rounds: roundsArg(ctx.args) ?? (quick ? 1 : 3),
    durationMs: quick ? 300 : 1_000,
    cpu: ctx.args.includes('--cpu'),
    log: ctx.log,
  };
  const { servers, cleanup } = await redis(1);
  const port = servers[0]!.port;
  const only = ctx.args.indexOf('--only');
  const filter = only >= 0 ? (ctx.args[only + 1] ?? '') : '';
  const impls: LockImpl[] = [];
  try {
    const rows: BenchRow[] = [
      {
        case: 'redis-round-trip',
        impl: 'ioredis',
        metric: 'PING (median)',
        value: await pingMicros(port),
        unit: 'us',
      },
    ];
    for (const group of groups) {
      const cases = group.cases.filter((c) => c.name.includes(filter));
      if (cases.length === 0) continue;
      const made = group.impls.map((make) => make(port));
      impls.push(...made);
      for (const c of cases) rows.push(...(await c.run(made, settings)));
    }
    return rows;
  } finally {
    await Promise.all(impls.map((i) => i.close()));
    await cleanup();
  }
}

const suite: BenchSuite = {
  name: 'locks',
  description:
    'Redis locks and semaphores: faultline (Lock + RedisLockBackend, Semaphore + RedisSemaphoreBackend) vs redlock, @sesamecare-oss/redlock and redis-semaphore (Mutex, Semaphore, MultiSemaphore) on one private redis-server; medians of interleaved rounds.',
  run,
};

export default suite;

/**
 * Cross-instance expiry: K app instances share a Redis-like tier. When the shared copy expires,
 * per-process locking lets each instance reload it (K origin calls); the textbook Redis lock
 * (`SET NX EX`, then an unconditional `DEL`, waiters sleeping 100 ms) breaks as soon as a reload
 * outlives the lock's TTL; faultline's `TieredCache` holds a renewed, fenced lease and costs one
 * origin call per expiry.
 *
 * @module
 */
import { Cache } from '../../cache/cache.js';
import { TieredCache } from '../../cache/tiered.js';
import { Lock } from '../../coord/lock.js';
import { MemoryLockBackend } from '../../coord/memory.js';
import type { Node } from '../../sim/node.js';
import { RemoteLockBackend, serveLocks } from '../coord/remote-lock.js';
import { SharedTierClient, serveSharedTier } from '../cache/shared-tier.js';
import type { DesignFactory, Stall } from '../cache/stampede.js';
import { KEY, observed, outcome, stampedeFigures, startOrigin } from '../cache/stampede.js';
import { RpcClient } from '../resilience/rpc.js';
import type { LabContext, Scenario, VariantOutcome } from '../types.js';

const TTL_MS = 1_000;
const STALE_MS = 5_000;
const DURATION_MS = 10_000;
const ORIGIN_MS = 50;
/** The lock TTL of the textbook design and the lease TTL of faultline's (renewed while held). */
const LOCK_TTL_MS = 1_000;
/** How long a stalled origin load takes on top of the usual time. */
const STALL_MS = 1_500;

type Design = 'unsafe' | 'textbook' | 'safe';

/** The L1 options every design shares: the designs differ only in how instances coordinate. */
const L1 = { ttlMs: TTL_MS, staleMs: STALE_MS, beta: 0 } as const;

function design(kind: Design): DesignFactory {
  return (node: Node) => {
    const runtime = node.runtime;
    if (kind === 'textbook') return textbook(node);
    const tier = new SharedTierClient(node, 'redis', kind === 'safe');
    const backend =
      kind === 'safe' ? new RemoteLockBackend(node, 'redis') : new MemoryLockBackend({ runtime });
    const cache = new TieredCache<string>({
      ...L1,
      remote: tier,
      lock: new Lock(backend, { runtime, callTimeoutMs: 200 }),
      leaseTtlMs: LOCK_TTL_MS,
      recheckMs: 100,
      runtime,
    });
    return { get: (key, load) => cache.getOrLoad(key, () => load()) };
  };
}

/** The textbook Redis cache lock, written as tutorials write it. */
function textbook(node: Node): ReturnType<DesignFactory> {
  const runtime = node.runtime;
  const tier = new SharedTierClient(node, 'redis', false);
  const l1 = new Cache<string>({ ...L1, runtime });
  const loadShared = async (key: string, load: () => Promise<string>, ttl: { ttlMs: number }) => {
    for (;;) {
      const hit = await tier.get(key);
      if (hit !== undefined) {
        ttl.ttlMs = Math.max(1, hit.remainingMs);
        return hit.value;
      }
      if (await tier.setNx(`lock:${key}`, LOCK_TTL_MS)) {
        const value = await load();
        await tier.setFenced(key, value, 1n, TTL_MS, node.name);
        await tier.del(`lock:${key}`); // unconditional: it may be someone else's lock by now
        return value;
      }
      await runtime.timers.sleep(100);
    }
  };
  return { get: (key, load) => l1.getOrLoad(key, (_signal, ctx) => loadShared(key, load, ctx)) };
}

async function run(context: LabContext, kind: Design): Promise<VariantOutcome> {
  const sim = context.simulation({
    network: { latency: { kind: 'uniform', minMs: 0.5, maxMs: 1.5 } },
  });
  const instances = context.knobs['instances'] ?? 4;
  const stall: Stall = { probability: (context.knobs['stallPercent'] ?? 30) / 100, ms: STALL_MS };
  const seen = observed();
  const done = { started: 0, requests: 0, answered: 0 };
  startOrigin(sim, context, ORIGIN_MS, seen, stall);
  sim.node('redis').start((node) => {
    serveSharedTier(node);
    serveLocks(node, new MemoryLockBackend({ runtime: node.runtime }));
  });
  const perInstance = (context.knobs['ratePerSecond'] ?? 400) / instances;
  for (let i = 1; i <= instances; i++) {
    const app = sim.node(`app${i}`);
    app.start(async () => {
      done.started++;
      const rpc = new RpcClient(app);
      const cache = design(kind)(app);
      const load = (): Promise<string> => rpc.call('origin', KEY) as Promise<string>;
      const random = app.runtime.random.fork('arrivals');
      const pending: Promise<void>[] = [];
      for (let t = random.exponential(1_000 / perInstance); t < DURATION_MS;) {
        const gap = random.exponential(1_000 / perInstance);
        await app.runtime.timers.sleep(gap);
        t += gap;
        done.requests++;
        pending.push(
          (async () => {
            const start = app.runtime.clock.monotonicMs();
            await cache.get(KEY, load);
            seen.latencies.push(Math.round((app.runtime.clock.monotonicMs() - start) * 10) / 10);
            done.answered++;
          })(),
        );
      }
      await Promise.all(pending);
      done.started--;
    });
  }
  await sim.run({
    untilMs: DURATION_MS + 10 * STALL_MS,
    until: () => sim.nowMs > DURATION_MS && done.started === 0 && done.answered === done.requests,
  });
  return outcome(context, seen);
}

/** The cache-cross-instance scenario. */
export const cacheCrossInstance: Scenario = {
  name: 'cache-cross-instance',
  title: 'Cache expiry across instances',
  problem:
    'Four app instances cache a hot key in a shared Redis. When the shared copy expires, each ' +
    'instance that locks only within its own process reloads it: K origin calls per expiry. A ' +
    'shared lock fixes that only if a reload that outlives the lock cannot let a second one in.',
  reference:
    'Martin Kleppmann, "How to do distributed locking" (2016): fencing tokens; the Redis ' +
    'documentation of SET NX PX (the single-instance lock pattern)',
  property: 'The origin never runs two loads of the key at the same time, counted at the origin.',
  standIn:
    'Redis is a small stand-in on a simulated node (values with a TTL, a token-conditional write, ' +
    'pub/sub, SET NX) beside faultline’s MemoryLockBackend; the origin stalls on some loads.',
  api: [
    "import { TieredCache } from 'faultline';",
    "import { Lock } from 'faultline/coord';",
    "import { RedisCacheTier, RedisLockBackend } from 'faultline/redis';",
    'const cache = new TieredCache<Product>({',
    '  ttlMs: 1_000, staleMs: 5_000,',
    '  remote: new RedisCacheTier<Product>(redis),',
    '  lock: new Lock(new RedisLockBackend(redis)),',
    '});',
    'const product = await cache.getOrLoad(`product:${id}`, (signal) => db.product(id, { signal }));',
  ].join('\n'),
  figures: stampedeFigures,
  knobs: [
    { name: 'instances', label: 'app instances', min: 2, max: 16, step: 1, default: 4, unit: '' },
    {
      name: 'stallPercent',
      label: 'origin loads that stall 1.5 s',
      min: 0,
      max: 100,
      step: 5,
      default: 30,
      unit: '%',
    },
    {
      name: 'ratePerSecond',
      label: 'request rate (all instances)',
      min: 40,
      max: 2_000,
      step: 40,
      default: 400,
      unit: 'req/s',
    },
  ],
  variants: {
    unsafe: {
      summary:
        'Each instance coalesces its own callers and locks in its own process (an in-memory lock), then writes Redis unconditionally.',
      run: (context) => run(context, 'unsafe'),
    },
    textbook: {
      summary:
        'A shared Redis lock as tutorials write it: SET lock NX with a 1 s TTL, reload, DEL lock unconditionally; the others sleep 100 ms and retry.',
      why: 'A reload that outlives the lock’s TTL lets a second instance take the lock and reload too, and the first one’s DEL then frees the second one’s lock for a third: the stampede comes back.',
      run: (context) => run(context, 'textbook'),
    },
    safe: {
      summary:
        'faultline’s TieredCache: one instance reloads under a lease that is renewed while it runs and writes Redis conditionally on its fencing token; the others serve stale and wait for the pub/sub message.',
      run: (context) => run(context, 'safe'),
    },
  },
};

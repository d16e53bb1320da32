/**
 * The shared workload of the cache-stampede scenarios: an app node serves requests for one hot
 * key through a cache design, and misses call an origin node over the simulated network. The
 * checker sits at the origin, outside the code under test: it counts loads of the key that run
 * at the same time (a stampede is two or more) and every request's latency at the app.
 *
 * The naive designs here (a map with a TTL, its "probabilistic early expiration" by age, and its
 * stale-while-revalidate that refreshes on every stale hit) are the lab's stand-ins for the
 * code a service writes by hand; the safe designs are faultline's {@link Cache}.
 *
 * @module
 */
import { Cache } from '../../cache/cache.js';
import type { CacheOptions } from '../../cache/cache.js';
import type { Node } from '../../sim/node.js';
import type { Simulation } from '../../sim/simulation.js';
import { percentile } from '../checks.js';
import { RpcClient, serve } from '../resilience/rpc.js';
import type { Evidence, FigureSpec, LabContext, VariantOutcome } from '../types.js';

/** How requests arrive at the app. */
export type Arrivals =
  | { readonly kind: 'burst'; readonly callers: number; readonly spreadMs: number }
  | { readonly kind: 'poisson'; readonly ratePerSecond: number; readonly durationMs: number };

/** A cache design under test: how the app answers one request for `key`. */
export interface Design {
  get(key: string, load: () => Promise<string>): Promise<string>;
}

/** Builds the design on the app node. */
export type DesignFactory = (node: Node) => Design;

/** What the origin and the app observed. */
export interface Observed {
  originCalls: number;
  running: number;
  maxRunning: number;
  latencies: number[];
  first: Evidence | undefined;
}

/** Figures every stampede scenario reports. */
export const stampedeFigures: readonly FigureSpec[] = [
  { name: 'originCalls', label: 'origin calls', unit: 'calls', better: 'lower', key: true },
  {
    name: 'maxConcurrentLoads',
    label: 'loads of the key running at once at the origin',
    unit: 'loads',
    better: 'lower',
  },
  { name: 'p99Ms', label: 'request latency p99', unit: 'ms', better: 'lower', key: true },
  {
    name: 'waitedRequests',
    label: 'requests that waited for the origin',
    unit: 'requests',
    better: 'lower',
  },
];

/** The hot key every request asks for. */
export const KEY = 'product:42';

/** A fresh record of observations. */
export function observed(): Observed {
  return { originCalls: 0, running: 0, maxRunning: 0, latencies: [], first: undefined };
}

/** Occasional origin stalls (a slow query, a GC pause): probability per load and length. */
export interface Stall {
  readonly probability: number;
  readonly ms: number;
}

/** The origin: each load takes `originMs` ± 10 %; the checker counts overlapping loads. */
export function startOrigin(
  sim: Simulation,
  context: LabContext,
  originMs: number,
  seen: Observed,
  stall?: Stall,
): void {
  const origin = sim.node('origin');
  const random = origin.runtime.random;
  serve(origin, async (body, from) => {
    seen.originCalls++;
    seen.running++;
    seen.maxRunning = Math.max(seen.maxRunning, seen.running);
    const call = seen.originCalls;
    if (seen.running > 1 && seen.first === undefined) {
      const text = `load ${call} of ${KEY} starts while ${seen.running - 1} other(s) still run`;
      seen.first = {
        timeMs: sim.nowMs,
        summary: `the origin ran ${seen.running} loads of the same key at once (a stampede)`,
        node: 'origin',
        traceIndex: context.note('origin', text),
        operations: [`${from}: ${text} at ${sim.nowMs.toFixed(1)} ms`],
      };
    }
    // The first load (the cold start) never stalls, so the figures show expiries, not warm-up.
    const stalled = stall !== undefined && call > 1 && random.next() < stall.probability;
    if (stalled) context.note('origin', `load ${call} stalls for ${stall.ms} ms`);
    await origin.runtime.timers.sleep(
      (stalled ? stall.ms : 0) + originMs * (0.9 + 0.2 * random.next()),
    );
    seen.running--;
    return `${String(body)}@${call}`;
  });
}

/** Starts the requests of `arrivals` on the app node; resolves when all have been answered. */
function startApp(
  sim: Simulation,
  arrivals: Arrivals,
  factory: DesignFactory,
  seen: Observed,
  done: { requests: number; answered: number; arrived: boolean },
): void {
  const app = sim.node('app');
  app.start(async () => {
    const rpc = new RpcClient(app);
    const design = factory(app);
    const load = (): Promise<string> => rpc.call('origin', KEY) as Promise<string>;
    const request = async (): Promise<void> => {
      const start = app.runtime.clock.monotonicMs();
      await design.get(KEY, load);
      const latency = app.runtime.clock.monotonicMs() - start;
      seen.latencies.push(Math.round(latency * 10) / 10);
      done.answered++;
    };
    const random = app.runtime.random.fork('arrivals');
    let t = 0;
    const pending: Promise<void>[] = [];
    for (;;) {
      const gap =
        arrivals.kind === 'burst'
          ? (arrivals.spreadMs / arrivals.callers) * random.next() * 2
          : random.exponential(1_000 / arrivals.ratePerSecond);
      t += gap;
      if (arrivals.kind === 'burst' ? done.requests >= arrivals.callers : t > arrivals.durationMs)
        break;
      await app.runtime.timers.sleep(gap);
      done.requests++;
      pending.push(request());
    }
    done.arrived = true;
    await Promise.all(pending);
  });
}

/** Runs one variant of a stampede scenario and decides it. */
export async function runStampede(
  context: LabContext,
  arrivals: Arrivals,
  originMs: number,
  factory: DesignFactory,
): Promise<VariantOutcome> {
  const sim = context.simulation({
    network: { latency: { kind: 'uniform', minMs: 0.5, maxMs: 1.5 } },
  });
  const seen = observed();
  const done = { requests: 0, answered: 0, arrived: false };
  startOrigin(sim, context, originMs, seen);
  startApp(sim, arrivals, factory, seen, done);
  const horizon = (arrivals.kind === 'poisson' ? arrivals.durationMs : 1_000) + 20 * originMs;
  await sim.run({
    untilMs: horizon,
    until: () => done.arrived && done.answered === done.requests,
  });
  return outcome(context, seen);
}

/** The verdict and figures of a run. */
export function outcome(context: LabContext, seen: Observed): VariantOutcome {
  if (seen.first === undefined) {
    context.note('origin', `${seen.originCalls} loads, never two at once`);
  }
  return {
    violated: seen.first !== undefined,
    ...(seen.first === undefined ? {} : { evidence: seen.first }),
    figures: {
      originCalls: seen.originCalls,
      maxConcurrentLoads: seen.maxRunning,
      p99Ms: percentile(seen.latencies, 99),
      waitedRequests: seen.latencies.filter((l) => l >= 1).length,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Designs
// ---------------------------------------------------------------------------------------------

interface NaiveEntry {
  value: string;
  storedAtMs: number;
  expiresAtMs: number;
}

/** Options of the hand-written cache. */
export interface NaiveOptions {
  ttlMs: number;
  /** Textbook early expiration: recompute when `age · β · random() ≥ ttl`. */
  ageBeta?: number;
  /** Textbook stale-while-revalidate: serve stale this long and refresh on every stale hit. */
  staleMs?: number;
}

/**
 * The cache a service writes by hand: a map with a TTL; a miss calls the origin. Optionally the
 * two textbook "fixes": early expiration by age, and a refresh started on every stale hit.
 */
export function naiveCache(options: NaiveOptions): DesignFactory {
  return (node) => {
    const clock = node.runtime.clock;
    const random = node.runtime.random.fork('naive-cache');
    const map = new Map<string, NaiveEntry>();
    const fill = async (key: string, load: () => Promise<string>): Promise<string> => {
      const value = await load();
      const now = clock.monotonicMs();
      map.set(key, { value, storedAtMs: now, expiresAtMs: now + options.ttlMs });
      return value;
    };
    return {
      get(key, load) {
        const entry = map.get(key);
        const now = clock.monotonicMs();
        if (entry !== undefined && now < entry.expiresAtMs) {
          const age = now - entry.storedAtMs;
          const beta = options.ageBeta;
          if (beta !== undefined && age * beta * random.next() >= options.ttlMs)
            return fill(key, load);
          return Promise.resolve(entry.value);
        }
        if (entry !== undefined && now < entry.expiresAtMs + (options.staleMs ?? 0)) {
          void fill(key, load).catch(() => undefined);
          return Promise.resolve(entry.value);
        }
        return fill(key, load);
      },
    };
  };
}

/** faultline's {@link Cache} on the app node's runtime. */
export function faultlineCache(options: Omit<CacheOptions<string>, 'runtime'>): DesignFactory {
  return (node) => {
    const cache = new Cache<string>({ ...options, runtime: node.runtime });
    return { get: (key, load) => cache.getOrLoad(key, () => load()) };
  };
}

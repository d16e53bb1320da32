/**
 * Cache stampede on a cold key: many requests miss the same key at once, and a cache without
 * request coalescing sends every one of them to the origin. faultline's `Cache.getOrLoad` shares
 * one load among them (singleflight).
 *
 * @module
 */
import { faultlineCache, naiveCache, runStampede, stampedeFigures } from '../cache/stampede.js';
import type { KnobSpec, LabContext, Scenario } from '../types.js';

const TTL_MS = 60_000;

export const originKnob: KnobSpec = {
  name: 'originMs',
  label: 'origin load time',
  min: 10,
  max: 200,
  step: 10,
  default: 50,
  unit: 'ms',
};

function burst(context: LabContext) {
  return {
    arrivals: {
      kind: 'burst' as const,
      callers: context.knobs['callers'] ?? 200,
      spreadMs: 5,
    },
    originMs: context.knobs['originMs'] ?? 50,
  };
}

/** The cache-stampede-cold scenario. */
export const cacheStampedeCold: Scenario = {
  name: 'cache-stampede-cold',
  title: 'Cache stampede on a cold key',
  problem:
    'Hundreds of requests ask for a key that is not cached yet, within a few milliseconds. Each ' +
    'one misses, and a cache without coalescing sends each one to the origin: the load it exists ' +
    'to spare arrives all at once.',
  reference:
    'Vattani, Chierichetti, Lowenstein, "Optimal Probabilistic Cache Stampede Prevention", VLDB ' +
    "2015 (§1, the thundering herd); Go's golang.org/x/sync/singleflight",
  property: 'The origin never runs two loads of the key at the same time, counted at the origin.',
  standIn:
    'The origin is a small stand-in (a fixed load time) on a simulated node; the unsafe cache is a ' +
    'hand-written map with a TTL; the safe one is faultline’s Cache.',
  api: [
    "import { Cache } from 'faultline';",
    'const cache = new Cache<Product>({ ttlMs: 60_000 });',
    'const product = await cache.getOrLoad(`product:${id}`, (signal) => db.product(id, { signal }));',
  ].join('\n'),
  figures: stampedeFigures,
  knobs: [
    {
      name: 'callers',
      label: 'concurrent callers',
      min: 10,
      max: 1_000,
      step: 10,
      default: 200,
      unit: '',
    },
    originKnob,
  ],
  variants: {
    unsafe: {
      summary: 'A map with a TTL: every request that misses calls the origin itself.',
      run: (context) => {
        const { arrivals, originMs } = burst(context);
        return runStampede(context, arrivals, originMs, naiveCache({ ttlMs: TTL_MS }));
      },
    },
    safe: {
      summary:
        'faultline’s Cache.getOrLoad: one load per key in flight, shared by every caller (singleflight).',
      run: (context) => {
        const { arrivals, originMs } = burst(context);
        return runStampede(context, arrivals, originMs, faultlineCache({ ttlMs: TTL_MS }));
      },
    },
  },
};

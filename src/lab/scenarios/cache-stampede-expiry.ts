/**
 * Cache stampede on expiry: a hot key under steady traffic expires, and every request in the
 * window before the reload lands misses and calls the origin. The textbook "probabilistic early
 * expiration" by age never fires before expiry; XFetch (with the recompute time δ) refreshes one
 * caller early, in the background, while the others are served from cache.
 *
 * @module
 */
import { faultlineCache, naiveCache, runStampede, stampedeFigures } from '../cache/stampede.js';
import type { KnobSpec, LabContext, Scenario } from '../types.js';
import { originKnob } from './cache-stampede-cold.js';

const TTL_MS = 1_000;
/** Ten TTL windows of traffic. */
const DURATION_MS = 10_000;

export const rateKnob: KnobSpec = {
  name: 'ratePerSecond',
  label: 'request rate',
  min: 50,
  max: 2_000,
  step: 50,
  default: 500,
  unit: 'req/s',
};

export function steady(context: LabContext) {
  return {
    arrivals: {
      kind: 'poisson' as const,
      ratePerSecond: context.knobs['ratePerSecond'] ?? 500,
      durationMs: DURATION_MS,
    },
    originMs: context.knobs['originMs'] ?? 50,
  };
}

/** The cache-stampede-expiry scenario. */
export const cacheStampedeExpiry: Scenario = {
  name: 'cache-stampede-expiry',
  title: 'Cache stampede on expiry',
  problem:
    'A hot key under steady traffic expires once a second. Every request that arrives while it is ' +
    'being reloaded misses too, so each expiry sends a burst of loads to the origin and makes a ' +
    'burst of requests wait for it.',
  reference:
    'Vattani, Chierichetti, Lowenstein, "Optimal Probabilistic Cache Stampede Prevention", VLDB ' +
    '2015 (XFetch: recompute when now − δ·β·ln(U) ≥ expiry)',
  property: 'The origin never runs two loads of the key at the same time, counted at the origin.',
  standIn:
    'The origin is a small stand-in (a fixed load time) on a simulated node; the unsafe and ' +
    'textbook caches are hand-written maps with a TTL; the safe one is faultline’s Cache.',
  api: [
    "import { Cache } from 'faultline';",
    '// XFetch is on by default (beta 1): one caller refreshes early, in the background.',
    'const cache = new Cache<Product>({ ttlMs: 1_000, beta: 1 });',
    'const product = await cache.getOrLoad(`product:${id}`, (signal) => db.product(id, { signal }));',
  ].join('\n'),
  figures: stampedeFigures,
  knobs: [rateKnob, originKnob],
  variants: {
    unsafe: {
      summary: 'A map with a 1 s TTL: at each expiry every request that misses calls the origin.',
      run: (context) => {
        const { arrivals, originMs } = steady(context);
        return runStampede(context, arrivals, originMs, naiveCache({ ttlMs: TTL_MS }));
      },
    },
    textbook: {
      summary:
        'The same map with "probabilistic early expiration" as often written: recompute when age · β · random() ≥ ttl, β = 1.',
      why: 'The age is below the TTL until the value expires and random() < 1, so with β = 1 the rule never fires early: every expiry is still a stampede.',
      run: (context) => {
        const { arrivals, originMs } = steady(context);
        return runStampede(context, arrivals, originMs, naiveCache({ ttlMs: TTL_MS, ageBeta: 1 }));
      },
    },
    safe: {
      summary:
        'faultline’s Cache: XFetch (β = 1, δ measured per key) starts one background refresh before expiry; concurrent misses share one load.',
      run: (context) => {
        const { arrivals, originMs } = steady(context);
        return runStampede(context, arrivals, originMs, faultlineCache({ ttlMs: TTL_MS, beta: 1 }));
      },
    },
  },
};

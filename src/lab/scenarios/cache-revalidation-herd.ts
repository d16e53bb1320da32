/**
 * Stale-while-revalidate done right and done as often written: serving the stale value while the
 * key reloads hides the origin's latency, but a cache that starts a background refresh on every
 * stale hit turns each expiry into a herd of refreshes. faultline's starts one.
 *
 * @module
 */
import { faultlineCache, naiveCache, runStampede, stampedeFigures } from '../cache/stampede.js';
import type { Scenario } from '../types.js';
import { originKnob } from './cache-stampede-cold.js';
import { rateKnob, steady } from './cache-stampede-expiry.js';

const TTL_MS = 1_000;
const STALE_MS = 5_000;

/** The cache-revalidation-herd scenario. */
export const cacheRevalidationHerd: Scenario = {
  name: 'cache-revalidation-herd',
  title: 'Stale-while-revalidate herd',
  problem:
    'A hot key expires under steady traffic. Without stale-while-revalidate each expiry makes ' +
    'every request wait for the origin; with a naive one, every stale hit starts its own ' +
    'background refresh, so the origin still gets a burst of loads per expiry.',
  reference:
    'RFC 5861, "HTTP Cache-Control Extensions for Stale Content" (stale-while-revalidate); ' +
    'Vattani, Chierichetti, Lowenstein, VLDB 2015 (the stampede)',
  property: 'The origin never runs two loads of the key at the same time, counted at the origin.',
  standIn:
    'The origin is a small stand-in (a fixed load time) on a simulated node; the unsafe and ' +
    'textbook caches are hand-written maps with a TTL; the safe one is faultline’s Cache.',
  api: [
    "import { Cache } from 'faultline';",
    'const cache = new Cache<Product>({ ttlMs: 1_000, staleMs: 5_000 });',
    'const product = await cache.getOrLoad(`product:${id}`, (signal) => db.product(id, { signal }));',
  ].join('\n'),
  figures: stampedeFigures,
  knobs: [rateKnob, originKnob],
  variants: {
    unsafe: {
      summary:
        'A map with a 1 s TTL and no grace: at each expiry every request that misses calls the origin.',
      run: (context) => {
        const { arrivals, originMs } = steady(context);
        return runStampede(context, arrivals, originMs, naiveCache({ ttlMs: TTL_MS }));
      },
    },
    textbook: {
      summary:
        'The same map serving stale values for 5 s after expiry and starting a background refresh on every stale hit.',
      why: 'Nothing marks a refresh as running, so every request between the expiry and the refresh landing starts another one: the stampede moves to the background.',
      run: (context) => {
        const { arrivals, originMs } = steady(context);
        return runStampede(
          context,
          arrivals,
          originMs,
          naiveCache({ ttlMs: TTL_MS, staleMs: STALE_MS }),
        );
      },
    },
    safe: {
      summary:
        'faultline’s Cache with a 5 s stale-while-revalidate grace (XFetch off): stale hits are served at once and one refresh runs.',
      run: (context) => {
        const { arrivals, originMs } = steady(context);
        return runStampede(
          context,
          arrivals,
          originMs,
          faultlineCache({ ttlMs: TTL_MS, staleMs: STALE_MS, beta: 0 }),
        );
      },
    },
  },
};

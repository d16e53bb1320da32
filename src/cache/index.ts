/**
 * Stampede-proof caching: {@link Singleflight} (one in-flight load per key), and {@link Cache}
 * with `getOrLoad` (TTL, stale-while-revalidate, XFetch early recomputation with a try-lock, soft
 * and hard loader timeouts, stale-on-error, negative caching, a bounded LRU).
 *
 * @module
 */
export { Singleflight } from './singleflight.js';
export type { FlightOptions, Loader, SingleflightOptions } from './singleflight.js';
export { Cache } from './cache.js';
export type {
  CacheEvent,
  CacheLoader,
  LoadContext,
  CacheOptions,
  EntryOptions,
  GetOrLoadOptions,
  SetOptions,
} from './cache.js';
export { approximateSize } from './lru.js';
export type { EvictionReason } from './lru.js';
export {
  MAX_CACHE_KEY_LENGTH,
  TooManyFlightsError,
  isTooManyFlightsError,
  CachedFailureError,
  isCachedFailureError,
  CacheClosedError,
  isCacheClosedError,
  checkCacheKey,
} from './errors.js';
export { TieredCache } from './tiered.js';
export type {
  LeaseSource,
  RemoteHit,
  RemoteMessage,
  RemoteTier,
  TieredCacheOptions,
} from './tiered.js';

/**
 * Typed failures of the cache module, and the validation of keys that come from callers.
 *
 * @module
 */
import { errorGuard, FaultlineError } from '../core/errors.js';
import { rangeError } from '../core/validate.js';

/** The longest key the cache accepts, in UTF-16 code units. */
export const MAX_CACHE_KEY_LENGTH = 1_024;

/** Thrown when more keys are loading at once than the singleflight's `maxFlights` allows. */
export class TooManyFlightsError extends FaultlineError {
  override name = 'TooManyFlightsError';
  /** The bound that was reached. */
  readonly maxFlights: number;

  constructor(maxFlights: number) {
    super('FAULTLINE_CACHE_TOO_MANY_FLIGHTS', `more than ${maxFlights} keys are loading at once`);
    this.maxFlights = maxFlights;
  }
}

/** True when `e` is a {@link TooManyFlightsError}. */
export const isTooManyFlightsError = errorGuard(TooManyFlightsError);

/**
 * Thrown by `getOrLoad` for a key whose loader failed recently and the failure is negatively
 * cached (`negativeTtlMs`): the origin is not called again until the entry expires. `cause` is the
 * loader's original failure.
 */
export class CachedFailureError extends FaultlineError {
  override name = 'CachedFailureError';
  /** The key whose failure is cached. */
  readonly key: string;

  constructor(key: string, options?: { cause?: unknown }) {
    super(
      'FAULTLINE_CACHE_CACHED_FAILURE',
      `the last load of ${JSON.stringify(key)} failed`,
      options,
    );
    this.key = key;
  }
}

/** True when `e` is a {@link CachedFailureError}. */
export const isCachedFailureError = errorGuard(CachedFailureError);

/** Thrown by a closed cache. */
export class CacheClosedError extends FaultlineError {
  override name = 'CacheClosedError';
  constructor() {
    super('FAULTLINE_CACHE_CLOSED', 'the cache is closed');
  }
}

/** True when `e` is a {@link CacheClosedError}. */
export const isCacheClosedError = errorGuard(CacheClosedError);

/** Requires a non-empty string key of at most {@link MAX_CACHE_KEY_LENGTH} code units. */
export function checkCacheKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_CACHE_KEY_LENGTH) {
    throw rangeError('key', `a string of 1 to ${MAX_CACHE_KEY_LENGTH} characters`, key);
  }
  return key;
}

/**
 * Validation of the values every coordination client and backend receives: keys, owners, TTLs
 * and waits. A bad value is a `RangeError` naming the field and the value.
 *
 * @module
 */
import { positive, rangeError } from '../core/validate.js';
import { MAX_OWNER_LENGTH } from './types.js';
import type { LockBackend, SemaphoreBackend } from './types.js';

/** Longest key the clients accept (long enough for any namespacing, short enough for every backend). */
export const MAX_KEY_LENGTH = 1024;

/** Matches a lone surrogate (with the `u` flag a paired surrogate is one code point and no match). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Validates a key: a non-empty, well-formed string (no lone surrogate: every backend stores keys as
 * UTF-8, where a lone surrogate becomes U+FFFD and two distinct keys would name one lock) of at
 * most {@link MAX_KEY_LENGTH} characters.
 */
export function checkKey(field: string, key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw rangeError(field, `a non-empty string of at most ${MAX_KEY_LENGTH} characters`, key);
  }
  if (LONE_SURROGATE.test(key)) {
    throw rangeError(field, 'a well-formed string (no lone surrogate)', key);
  }
  return key;
}

/**
 * Validates a key for `backend`: {@link checkKey}, then the backend's own rule when it has one
 * (PostgreSQL cannot store NUL), so a key the backend cannot store is refused before any call
 * instead of failing every attempt until `waitMs`.
 */
export function checkBackendKey(
  backend: { checkKey?(field: string, key: string): void },
  field: string,
  key: string,
): string {
  checkKey(field, key);
  backend.checkKey?.(field, key);
  return key;
}

/** The longest value an election leader may proclaim, in characters. */
export const MAX_PROCLAIM_LENGTH = 65_536;

/**
 * Validates a proclaimed value: a well-formed string (it is stored as UTF-8, where a lone surrogate
 * would silently become U+FFFD) of at most {@link MAX_PROCLAIM_LENGTH} characters; empty is allowed.
 */
export function checkProclaimValue(field: string, value: string): string {
  if (typeof value !== 'string' || value.length > MAX_PROCLAIM_LENGTH) {
    throw rangeError(field, `a string of at most ${MAX_PROCLAIM_LENGTH} characters`, value);
  }
  if (LONE_SURROGATE.test(value)) {
    throw rangeError(field, 'a well-formed string (no lone surrogate)', value);
  }
  return value;
}

/** Validates an owner string as the SPI defines it. */
export function checkOwner(field: string, owner: string): string {
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > MAX_OWNER_LENGTH) {
    throw rangeError(field, `a non-empty string of at most ${MAX_OWNER_LENGTH} characters`, owner);
  }
  return owner;
}

/** Validates a TTL in milliseconds: finite, > 0 and at most about 24.8 days (2^31 − 1 ms). */
export function checkTtl(field: string, ttlMs: number): number {
  positive(field, ttlMs);
  if (ttlMs > 2 ** 31 - 1) throw rangeError(field, `at most ${2 ** 31 - 1}`, ttlMs);
  return ttlMs;
}

/** Validates a wait in milliseconds: `Infinity` or a finite number >= 0. */
export function checkWait(field: string, waitMs: number): number {
  if (waitMs === Number.POSITIVE_INFINITY) return waitMs;
  if (typeof waitMs !== 'number' || !Number.isFinite(waitMs) || waitMs < 0) {
    throw rangeError(field, 'a number >= 0 or Infinity', waitMs);
  }
  return waitMs;
}

/** The methods every {@link LockBackend} has (the optional ones aside). */
export const LOCK_BACKEND_METHODS = [
  'tryAcquire',
  'extend',
  'release',
  'holder',
  'waitForChange',
] as const satisfies readonly (keyof LockBackend)[];

/** The methods every {@link SemaphoreBackend} has (the optional ones aside). */
export const SEMAPHORE_BACKEND_METHODS = [
  'tryAcquire',
  'extend',
  'release',
  'holders',
  'waitForChange',
] as const satisfies readonly (keyof SemaphoreBackend)[];

/**
 * `backend` is an object with every method in `methods` (a JavaScript caller can pass anything,
 * e.g. a lock backend where a semaphore backend belongs, which would otherwise spin in the
 * acquire loop); throws a `TypeError` naming the first one missing.
 */
export function checkBackend<B>(backend: B, kind: string, methods: readonly string[]): B {
  const named = `${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind}`;
  if (typeof backend !== 'object' || backend === null) throw rangeError('backend', named, backend);
  for (const method of methods)
    if (typeof (backend as Record<string, unknown>)[method] !== 'function')
      throw new TypeError(`backend must be ${named}: it has no ${method}() method`);
  return backend;
}

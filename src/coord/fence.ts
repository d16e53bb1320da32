/**
 * Fenced writes: the storage side of fencing tokens. A lock alone cannot stop a holder that was
 * paused or partitioned past its lease from writing late; the storage can, by accepting a write
 * only when its token is at least the newest token it has seen for the resource (Kleppmann, "How
 * to do distributed locking", 2016).
 *
 * This module holds the one result vocabulary every fence helper answers with ({@link FenceResult})
 * and the in-memory store. The helpers for real storage live in their adapters, each importing no
 * client library: `redisFencedSet` (`faultline/redis`), `pgFencedWrite` (`faultline/postgres`),
 * `etcdFencedPut` (`faultline/etcd`).
 *
 * @module
 */
import { assert } from '../core/assert.js';
import { integerIn, rangeError } from '../core/validate.js';
import { checkKey } from './validate.js';
import { StaleTokenError } from './errors.js';

/**
 * The outcome of every fenced write helper (`FencedStore.write`, `redisFencedSet`,
 * `pgFencedWrite`, `etcdFencedPut`): `accepted` when the write landed with `token`, or `stale` when
 * it did not because the storage holds a newer token (`current`). Nothing was written on `stale`.
 */
export type FenceResult =
  | {
      readonly kind: 'accepted';
      /** The token the write was fenced with, now the newest the storage holds. */
      readonly token: bigint;
    }
  | {
      readonly kind: 'stale';
      /** The token the write was fenced with. */
      readonly token: bigint;
      /**
       * The newest token the storage holds (> `token`), or `undefined` when there is none to
       * report: only `pgFencedWrite` without `upsert` answers so, when the row does not exist.
       */
      readonly current: bigint | undefined;
    };

/** Validates a fencing token handed to a fence helper: a `bigint` > 0. */
export function checkFenceToken(token: bigint): bigint {
  if (typeof token !== 'bigint' || token <= 0n) throw rangeError('token', 'a bigint > 0', token);
  return token;
}

/** Throws {@link StaleTokenError} for a `stale` result; returns the token of an accepted one. */
export function assertAccepted(resource: string, result: FenceResult): bigint {
  if (result.kind === 'stale') throw new StaleTokenError(resource, result.token, result.current);
  return result.token;
}

/** Options of {@link FencedStore}. */
export interface FencedStoreOptions {
  /** Upper bound on resources kept (default 100,000); a write to a new resource beyond it throws a RangeError. */
  maxResources?: number;
}

/**
 * An in-memory fenced register per resource: a write is accepted only with a token ≥ the highest
 * token accepted so far for that resource (equal tokens are the same holder writing again).
 *
 * @example
 * const store = new FencedStore<string>();
 * store.write('report', 34n, 'v1'); // accepted
 * store.write('report', 33n, 'v0'); // stale: token 33 < 34
 */
export class FencedStore<V> {
  private readonly maxResources: number;
  private readonly entries = new Map<string, { token: bigint; value: V }>();

  constructor(options: FencedStoreOptions = {}) {
    this.maxResources = integerIn('maxResources', options.maxResources ?? 100_000, 1, 100_000_000);
  }

  /** Writes `value` if `token` is not older than the newest accepted token of `resource`. */
  write(resource: string, token: bigint, value: V): FenceResult {
    checkKey('resource', resource);
    checkFenceToken(token);
    const current = this.entries.get(resource);
    if (current !== undefined && token < current.token) {
      return { kind: 'stale', token, current: current.token };
    }
    if (current === undefined && this.entries.size >= this.maxResources) {
      throw rangeError('resources', `at most ${this.maxResources}`, this.entries.size + 1);
    }
    this.entries.set(resource, { token, value });
    assert(this.entries.get(resource)?.token === token, 'the accepted token is stored');
    return { kind: 'accepted', token };
  }

  /** Like {@link FencedStore.write} but throws {@link StaleTokenError} when the token is stale. */
  writeOrThrow(resource: string, token: bigint, value: V): void {
    assertAccepted(resource, this.write(resource, token, value));
  }

  /** The current value and its token, or undefined. */
  read(resource: string): { readonly token: bigint; readonly value: V } | undefined {
    return this.entries.get(resource);
  }

  /** The highest token accepted for `resource`, or 0n. */
  highestToken(resource: string): bigint {
    return this.entries.get(resource)?.token ?? 0n;
  }
}

/** A key usable by a fence helper: `checkKey`, and no NUL (the fence namespace's mark). */
export function checkFencedKey(field: string, key: string): string {
  checkKey(field, key);
  if (key.includes('\u0000'))
    throw rangeError(field, 'a string without NUL characters (NUL marks fence keys)', key);
  return key;
}

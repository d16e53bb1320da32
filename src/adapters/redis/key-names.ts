/**
 * A cache of the Redis names of the lock keys one backend touches lately: every call on a hot key
 * would otherwise build six strings and two arrays.
 *
 * Benchmark cases served: `bench locks`, `uncontended-seq` and `hot-key/*` (the same few keys,
 * again and again). Bounded: past {@link NAMES_KEPT} keys it starts over, so a hot key is rebuilt
 * once and a stream of distinct keys costs what it cost without the cache.
 *
 * @module
 */
import type { LockKeys } from './keys.js';
import { lockKeys } from './keys.js';

/** A lock's Redis names and the key lists its scripts take, built once per key. */
export interface LockNames {
  readonly k: LockKeys;
  /** KEYS of the plain acquire script. */
  readonly acquire: readonly string[];
  /** KEYS of the queue-aware scripts (release, enqueue, leave), in their order. */
  readonly queue: readonly string[];
}

/** Keys whose names are kept; past it the cache starts over (a hot key is rebuilt once). */
export const NAMES_KEPT = 256;

/** The names of the keys of one backend (one prefix). */
export class LockNameCache {
  private readonly names = new Map<string, LockNames>();

  constructor(private readonly prefix: string) {}

  /** The names of `key`. */
  of(key: string): LockNames {
    let n = this.names.get(key);
    if (n === undefined) {
      if (this.names.size >= NAMES_KEPT) this.names.clear();
      const k = lockKeys(this.prefix, key);
      n = {
        k,
        acquire: [k.lock, k.counter, k.waiting],
        queue: [k.lock, k.counter, k.waiting, k.queue, k.qinfo],
      };
      this.names.set(key, n);
    }
    return n;
  }
}

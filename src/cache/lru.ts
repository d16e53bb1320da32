/**
 * The memory tier's store: a `Map` kept in least-recently-used order (a hit moves its key to the
 * end), bounded by entries and by bytes. Evictions are reported to a callback so the cache can
 * emit its events.
 *
 * @module
 */
import { assert } from '../core/assert.js';

/** Why an entry left the store. */
export type EvictionReason = 'capacity' | 'bytes' | 'expired' | 'deleted' | 'replaced';

/** An entry that knows its own size. */
export interface Sized {
  readonly bytes: number;
}

/** A bounded LRU map. */
export class LruStore<E extends Sized> {
  private readonly map = new Map<string, E>();
  private totalBytes = 0;
  /** The most recently used key: touching it again changes nothing, so it costs nothing. */
  private mru: string | undefined;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
    private readonly onEvict: (key: string, entry: E, reason: EvictionReason) => void,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** The entry without touching its recency. */
  peek(key: string): E | undefined {
    return this.map.get(key);
  }

  /** Marks `key` as the most recently used. */
  touch(key: string, entry: E): void {
    if (key === this.mru) return;
    // Re-inserting moves the key to the end of the Map's iteration order.
    this.map.delete(key);
    this.map.set(key, entry);
    this.mru = key;
  }

  /** Stores `entry` as the most recently used and evicts from the old end until within bounds. */
  set(key: string, entry: E): void {
    const old = this.map.get(key);
    if (old !== undefined) {
      this.map.delete(key);
      this.totalBytes -= old.bytes;
      if (old !== entry) this.onEvict(key, old, 'replaced');
    }
    this.map.set(key, entry);
    this.mru = key;
    this.totalBytes += entry.bytes;
    this.shrink();
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: string, reason: EvictionReason = 'deleted'): boolean {
    const old = this.map.get(key);
    if (old === undefined) return false;
    this.map.delete(key);
    if (key === this.mru) this.mru = undefined;
    this.totalBytes -= old.bytes;
    this.onEvict(key, old, reason);
    return true;
  }

  /** Removes every entry (reported as `deleted`). */
  clear(): void {
    for (const key of [...this.map.keys()]) this.delete(key);
    assert(this.totalBytes === 0, 'an empty store holds no bytes');
  }

  keys(): IterableIterator<string> {
    return this.map.keys();
  }

  private shrink(): void {
    while (this.map.size > this.maxEntries || this.totalBytes > this.maxBytes) {
      const oldest = this.map.keys().next();
      if (oldest.done === true) break;
      const reason = this.map.size > this.maxEntries ? 'capacity' : 'bytes';
      this.delete(oldest.value, reason);
    }
    assert(this.map.size <= this.maxEntries, 'the store never exceeds maxEntries');
  }
}

/**
 * A rough size in bytes of a cached value: exact for strings (UTF-16, 2 bytes a unit) and byte
 * arrays, 8 for numbers, and the JSON length times 2 for other values (`undefined` or a value
 * that cannot be serialised counts 8). Pass `sizeOf` for anything it misjudges.
 */
export function approximateSize(value: unknown): number {
  if (typeof value === 'string') return 2 * value.length;
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return 8;
  try {
    const json = JSON.stringify(value) as string | undefined;
    return json === undefined ? 8 : 2 * json.length;
  } catch {
    return 8;
  }
}

/**
 * Shared helpers of the etcd and PostgreSQL adapters.
 *
 * @module
 */

/**
 * A map that keeps at most `max` entries, dropping the oldest insertion first. Used for per-key
 * bookkeeping (last seen revision, notification counters) that must not grow with the key space.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (oldest.done !== true) this.map.delete(oldest.value);
    }
  }

  get size(): number {
    return this.map.size;
  }
}

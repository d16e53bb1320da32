/**
 * Vector clocks (version vectors): one counter per node, ordered component-wise. Values are
 * immutable: every operation returns a new {@link VectorClock} and never changes its receiver, so a
 * clock can be shared, stored and compared without defensive copies.
 *
 * Each entry also carries the wall-clock time of its last increment, which is what Riak's pruning
 * (`small_vclock`, `big_vclock`, `young_vclock`, `old_vclock`) looks at.
 *
 * @module
 */
import { assert } from '../core/assert.js';
import { integerIn, nonEmptyString, nonNegative, rangeError } from '../core/validate.js';

/** One node's entry: how many events it produced, and when (wall ms) it last produced one. */
export interface VectorEntry {
  /** The node's event count, an integer >= 1. */
  readonly counter: number;
  /** Wall-clock time of the entry's last increment in Unix ms (0 when unknown). Used only by pruning. */
  readonly timestampMs: number;
}

/**
 * How two clocks relate: `before` (the first happened before the second), `after`, `equal`, or
 * `concurrent` (neither descends from the other).
 */
export type CausalOrder = 'before' | 'after' | 'equal' | 'concurrent';

/**
 * Pruning thresholds, after Riak's bucket properties of the same names (its defaults, in seconds
 * there, are 50, 50, 20 s and 1 day). Entries are dropped oldest-timestamp first.
 */
export interface VectorPruneOptions {
  /** Never prune a clock with at most this many entries (Riak `small_vclock`, default 50). */
  smallSize?: number;
  /** Always prune down to this many entries, unless the oldest is young (Riak `big_vclock`, default 50). */
  bigSize?: number;
  /** Never drop an entry younger than this, in ms (Riak `young_vclock`, default 20,000). */
  youngMs?: number;
  /** Drop entries older than this, in ms, while above `smallSize` (Riak `old_vclock`, default 86,400,000). */
  oldMs?: number;
}

type Entries = ReadonlyMap<string, VectorEntry>;

/**
 * An immutable vector clock.
 *
 * Pruning trades accuracy for size and is not safe in general: a pruned clock no longer descends
 * clocks that mention a dropped node, so it may compare `concurrent` where the truth is `after`
 * (a spurious sibling), or `before` where the truth is `concurrent` (a write silently discarded).
 * Riak accepts that risk only for entries that are both old and beyond the size bounds.
 *
 * @example
 * const a = VectorClock.empty().increment('a');
 * const b = a.increment('b');
 * b.compare(a);                       // 'after'
 * a.increment('a').compare(b);        // 'concurrent'
 * a.increment('a').merge(b).descends(b); // true
 */
export class VectorClock {
  private readonly map: Entries;

  private constructor(map: Entries) {
    this.map = map;
  }

  /** The clock with no events. */
  static empty(): VectorClock {
    return EMPTY;
  }

  /**
   * Builds a clock from plain data: `{ node: counter }` or `{ node: { counter, timestampMs } }`
   * (the shape {@link VectorClock.toJSON} produces). Zero counters are dropped.
   */
  static from(data: Readonly<Record<string, number | VectorEntry>>): VectorClock {
    const map = new Map<string, VectorEntry>();
    for (const [node, raw] of Object.entries(data)) {
      nonEmptyString('node', node);
      const entry = typeof raw === 'number' ? { counter: raw, timestampMs: 0 } : raw;
      const counter = integerIn(`${node}.counter`, entry.counter, 0, Number.MAX_SAFE_INTEGER);
      const timestampMs = nonNegative(`${node}.timestampMs`, entry.timestampMs);
      if (counter > 0) map.set(node, { counter, timestampMs });
    }
    return new VectorClock(map);
  }

  /** Number of nodes with a non-zero counter. */
  get size(): number {
    return this.map.size;
  }

  /** The counter of `node` (0 when absent). */
  get(node: string): number {
    return this.map.get(node)?.counter ?? 0;
  }

  /** The full entry of `node`, if any. */
  entry(node: string): VectorEntry | undefined {
    return this.map.get(node);
  }

  /** The nodes with a non-zero counter, sorted. */
  nodes(): string[] {
    return [...this.map.keys()].sort();
  }

  /** A new clock with `node`'s counter one higher, stamped with `timestampMs` (Unix ms, default 0). */
  increment(node: string, timestampMs = 0): VectorClock {
    nonEmptyString('node', node);
    nonNegative('timestampMs', timestampMs);
    const counter = this.get(node);
    if (counter >= Number.MAX_SAFE_INTEGER)
      throw rangeError(`${node}.counter`, 'below 2^53 - 1', counter);
    const map = new Map(this.map);
    map.set(node, { counter: counter + 1, timestampMs });
    return new VectorClock(map);
  }

  /**
   * The least upper bound: per node, the larger counter (on equal counters, the later timestamp).
   * Commutative, associative and idempotent.
   */
  merge(other: VectorClock): VectorClock {
    if (other.map.size === 0) return this;
    const map = new Map(this.map);
    for (const [node, theirs] of other.map) {
      const mine = map.get(node);
      if (mine === undefined || theirs.counter > mine.counter) map.set(node, theirs);
      else if (theirs.counter === mine.counter && theirs.timestampMs > mine.timestampMs) {
        map.set(node, theirs);
      }
    }
    return new VectorClock(map);
  }

  /** How this clock relates to `other` causally. */
  compare(other: VectorClock): CausalOrder {
    const geq = this.descends(other);
    const leq = other.descends(this);
    if (geq && leq) return 'equal';
    if (geq) return 'after';
    if (leq) return 'before';
    return 'concurrent';
  }

  /** True when this clock has seen every event `other` has (`this >= other`; equal counts). */
  descends(other: VectorClock): boolean {
    for (const [node, theirs] of other.map) {
      if (this.get(node) < theirs.counter) return false;
    }
    return true;
  }

  /** True when this clock strictly descends `other` (`this > other`). */
  dominates(other: VectorClock): boolean {
    return this.descends(other) && !other.descends(this);
  }

  /** True when both clocks have the same counters (timestamps are ignored). */
  equals(other: VectorClock): boolean {
    return this.map.size === other.map.size && this.descends(other);
  }

  /**
   * Drops entries the way Riak's `vclock:prune` does: consider entries oldest timestamp first
   * (ties by node id); stop when at most `smallSize` remain or the oldest is younger than `youngMs`;
   * otherwise drop it if more than `bigSize` remain or it is older than `oldMs`, and repeat.
   *
   * @param nowMs the current wall time in Unix ms (e.g. `runtime.clock.wallMs()`).
   */
  prune(nowMs: number, options: VectorPruneOptions = {}): VectorClock {
    const o = checkPrune(options);
    nonNegative('nowMs', nowMs);
    if (this.map.size <= o.smallSize) return this;
    const byAge = [...this.map.entries()].sort(
      ([n1, e1], [n2, e2]) => e1.timestampMs - e2.timestampMs || (n1 < n2 ? -1 : n1 > n2 ? 1 : 0),
    );
    let drop = 0;
    while (byAge.length - drop > o.smallSize) {
      const oldest = (byAge[drop] as [string, VectorEntry])[1];
      const age = nowMs - oldest.timestampMs;
      if (age < o.youngMs) break;
      if (!(byAge.length - drop > o.bigSize || age > o.oldMs)) break;
      drop++;
    }
    if (drop === 0) return this;
    assert(
      byAge.length - drop >= Math.min(o.smallSize, byAge.length),
      'pruning keeps smallSize entries',
    );
    return new VectorClock(new Map(byAge.slice(drop)));
  }

  /** Plain data for storage: `{ node: { counter, timestampMs } }`; {@link VectorClock.from} reads it back. */
  toJSON(): Record<string, VectorEntry> {
    return Object.fromEntries(this.nodes().map((n) => [n, this.map.get(n) as VectorEntry]));
  }

  /** A compact, sorted rendering such as `{a:2,b:1}`. */
  toString(): string {
    return `{${this.nodes()
      .map((n) => `${n}:${this.get(n)}`)
      .join(',')}}`;
  }
}

const EMPTY: VectorClock = VectorClock.from({});

function checkPrune(options: VectorPruneOptions): Required<VectorPruneOptions> {
  const smallSize = integerIn('smallSize', options.smallSize ?? 50, 0, 1_000_000);
  const bigSize = integerIn('bigSize', options.bigSize ?? 50, 0, 1_000_000);
  if (bigSize < smallSize) throw rangeError('bigSize', `>= smallSize (${smallSize})`, bigSize);
  return {
    smallSize,
    bigSize,
    youngMs: nonNegative('youngMs', options.youngMs ?? 20_000),
    oldMs: nonNegative('oldMs', options.oldMs ?? 86_400_000),
  };
}

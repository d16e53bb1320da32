/**
 * An online latency quantile estimator with bounded memory: a ring of the most recent samples
 * kept alongside a sorted copy of the same window, so a quantile is an exact order statistic of
 * the window and costs O(1) to read.
 *
 * @module
 */
import { assert } from '../core/assert.js';
import { integerIn, numberIn, rangeError } from '../core/validate.js';

/** Options of a {@link LatencyQuantiles}. */
export interface LatencyQuantilesOptions {
  /**
   * How many of the most recent samples the estimator remembers (default 1024, at most 65,536).
   * Memory is two arrays of this many numbers. A larger window gives steadier tail quantiles
   * (a P99 over 1024 samples rests on ~10 samples) but reacts more slowly when latency shifts.
   */
  windowSize?: number;
}

/** Returns the first index in sorted `a` whose value is >= `x`. */
function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Exact quantiles of a sliding window of the last `windowSize` latency samples.
 * `record` is O(windowSize) in the worst case (one array shift, a memmove), `quantile` is O(1).
 * Old samples leave the window as new ones arrive, which is the estimator's only decay.
 *
 * @example
 * const latencies = new LatencyQuantiles({ windowSize: 512 });
 * latencies.record(12.5);
 * latencies.record(80);
 * const p99 = latencies.quantile(0.99) ?? 100; // undefined until the first sample
 */
export class LatencyQuantiles {
  /** The configured window size in samples. */
  readonly windowSize: number;
  private readonly ring: number[] = [];
  private readonly sorted: number[] = [];
  private next = 0;

  constructor(options: LatencyQuantilesOptions = {}) {
    this.windowSize = integerIn('windowSize', options.windowSize ?? 1024, 1, 65_536);
  }

  /** Number of samples currently in the window (at most `windowSize`). */
  get count(): number {
    return this.ring.length;
  }

  /** Records one latency sample in milliseconds (a finite number >= 0). */
  record(ms: number): void {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw rangeError('ms', 'a finite number >= 0', ms);
    }
    if (this.ring.length < this.windowSize) {
      this.ring.push(ms);
    } else {
      const evicted = this.ring[this.next] as number;
      this.ring[this.next] = ms;
      const at = lowerBound(this.sorted, evicted);
      assert(this.sorted[at] === evicted, 'the evicted sample is in the sorted window');
      this.sorted.splice(at, 1);
    }
    this.next = (this.next + 1) % this.windowSize;
    this.sorted.splice(lowerBound(this.sorted, ms), 0, ms);
    assert(this.sorted.length === this.ring.length, 'ring and sorted window hold the same samples');
  }

  /**
   * The `q`-quantile (0 <= q <= 1) of the window by the nearest-rank method: the smallest sample
   * such that at least `q` of the window is <= it. `quantile(0)` is the minimum, `quantile(1)` the
   * maximum. Returns `undefined` while the window is empty (the caller picks a cold-start default).
   */
  quantile(q: number): number | undefined {
    numberIn('q', q, 0, 1);
    const n = this.sorted.length;
    if (n === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * n));
    return this.sorted[Math.min(rank, n) - 1];
  }

  /** Forgets every sample. */
  reset(): void {
    this.ring.length = 0;
    this.sorted.length = 0;
    this.next = 0;
  }
}

/**
 * The failure-counting windows a circuit breaker can trip on: consecutive failures, the last N
 * calls, or rolling time buckets. Each keeps O(1) state per call and has a JSON snapshot.
 *
 * @module
 */
import type { Clock } from '../core/runtime.js';
import { integerIn, numberIn, positive, rangeError } from '../core/validate.js';

/** Which window trips the breaker, and its parameters. */
export type BreakerPolicy =
  | {
      /** Trips after `threshold` failures in a row. */
      readonly kind: 'consecutive';
      /** Failures in a row that open the circuit (default 5, in [1, 1e6]). */
      readonly threshold?: number;
    }
  | {
      /** Trips on the failure ratio of the last `size` calls. */
      readonly kind: 'count';
      /** Calls remembered (default 20, in [1, 1e5]); memory is one byte per call. */
      readonly size?: number;
      /** Calls needed in the window before it may trip (default 10, in [1, size]): avoids tripping on 1 of 1. */
      readonly minThroughput?: number;
      /** Failure ratio at or above which it trips (default 0.5, in (0, 1]). */
      readonly failureRatio?: number;
    }
  | {
      /** Trips on the failure ratio of calls that ended in the last `windowMs`. */
      readonly kind: 'time';
      /** Window length in ms (default 10,000). */
      readonly windowMs?: number;
      /** Buckets the window is split into (default 10, in [1, 1000]): more is smoother but costs memory. */
      readonly buckets?: number;
      /** Calls needed in the window before it may trip (default 10). */
      readonly minThroughput?: number;
      /** Failure ratio at or above which it trips (default 0.5, in (0, 1]). */
      readonly failureRatio?: number;
    };

/** A JSON-serialisable snapshot of a window. */
export type WindowSnapshot =
  | { readonly kind: 'consecutive'; readonly failures: number }
  | { readonly kind: 'count'; readonly outcomes: readonly number[] }
  | {
      readonly kind: 'time';
      /** Per bucket, newest first: [calls, failures]. Index i is i buckets old. */
      readonly buckets: readonly (readonly [number, number])[];
    };

/** The window contract used by the breaker. */
export interface FailureWindow {
  readonly kind: BreakerPolicy['kind'];
  /** Records one outcome; returns true when the breaker must open. */
  record(failure: boolean, clock: Clock): boolean;
  reset(): void;
  snapshot(clock: Clock): WindowSnapshot;
  restore(snapshot: WindowSnapshot, clock: Clock): void;
}

class ConsecutiveWindow implements FailureWindow {
  readonly kind = 'consecutive';
  private failures = 0;
  constructor(private readonly threshold: number) {}

  record(failure: boolean): boolean {
    if (!failure) {
      this.failures = 0;
      return false;
    }
    return ++this.failures >= this.threshold;
  }

  reset(): void {
    this.failures = 0;
  }

  snapshot(): WindowSnapshot {
    return { kind: 'consecutive', failures: this.failures };
  }

  restore(s: WindowSnapshot): void {
    if (s.kind !== 'consecutive') throw rangeError('snapshot.window.kind', '"consecutive"', s.kind);
    this.failures = integerIn('snapshot.window.failures', s.failures, 0, Number.MAX_SAFE_INTEGER);
  }
}

class CountWindow implements FailureWindow {
  readonly kind = 'count';
  private readonly ring: Uint8Array;
  private next = 0;
  private filled = 0;
  private failures = 0;
  constructor(
    size: number,
    private readonly minThroughput: number,
    private readonly ratio: number,
  ) {
    this.ring = new Uint8Array(size);
  }

  record(failure: boolean): boolean {
    const ring = this.ring;
    if (this.filled === ring.length) this.failures -= ring[this.next]!;
    else this.filled++;
    const bit = failure ? 1 : 0;
    ring[this.next] = bit;
    this.failures += bit;
    this.next = this.next + 1 === ring.length ? 0 : this.next + 1;
    // Division is correctly rounded, so 7/10 compares equal to a configured 0.7 (0.7 * 10 does not).
    return (
      failure && this.filled >= this.minThroughput && this.failures / this.filled >= this.ratio
    );
  }

  reset(): void {
    this.ring.fill(0);
    this.next = this.filled = this.failures = 0;
  }

  snapshot(): WindowSnapshot {
    const outcomes: number[] = [];
    const n = this.ring.length;
    const oldest = (this.next - this.filled + n) % n;
    for (let i = 0; i < this.filled; i++) outcomes.push(this.ring[(oldest + i) % n]!);
    return { kind: 'count', outcomes };
  }

  restore(s: WindowSnapshot): void {
    if (s.kind !== 'count') throw rangeError('snapshot.window.kind', '"count"', s.kind);
    this.reset();
    // Keep only the newest outcomes that fit (the window may have been resized).
    for (const o of s.outcomes.slice(-this.ring.length)) {
      this.record(integerIn('snapshot.window.outcomes[]', o, 0, 1) === 1);
    }
  }
}

class TimeWindow implements FailureWindow {
  readonly kind = 'time';
  private readonly calls: Float64Array;
  private readonly fails: Float64Array;
  private readonly bucketMs: number;
  private epoch = -Infinity;
  private totalCalls = 0;
  private totalFailures = 0;
  constructor(
    windowMs: number,
    buckets: number,
    private readonly minThroughput: number,
    private readonly ratio: number,
  ) {
    this.bucketMs = windowMs / buckets;
    this.calls = new Float64Array(buckets);
    this.fails = new Float64Array(buckets);
  }

  record(failure: boolean, clock: Clock): boolean {
    const i = this.advance(clock.monotonicMs());
    this.calls[i]!++;
    this.totalCalls++;
    if (!failure) return false;
    this.fails[i]!++;
    this.totalFailures++;
    return (
      this.totalCalls >= this.minThroughput && this.totalFailures / this.totalCalls >= this.ratio
    );
  }

  reset(): void {
    this.calls.fill(0);
    this.fails.fill(0);
    this.totalCalls = this.totalFailures = 0;
  }

  snapshot(clock: Clock): WindowSnapshot {
    const current = this.advance(clock.monotonicMs());
    const n = this.calls.length;
    const buckets: [number, number][] = [];
    for (let age = 0; age < n; age++) {
      const i = (current - age + n) % n;
      buckets.push([this.calls[i]!, this.fails[i]!]);
    }
    return { kind: 'time', buckets };
  }

  restore(s: WindowSnapshot, clock: Clock): void {
    if (s.kind !== 'time') throw rangeError('snapshot.window.kind', '"time"', s.kind);
    this.reset();
    const current = this.advance(clock.monotonicMs());
    const n = this.calls.length;
    s.buckets.slice(0, n).forEach(([calls, failures], age) => {
      const i = (current - age + n) % n;
      this.calls[i] = integerIn(
        'snapshot.window.buckets[].calls',
        calls,
        0,
        Number.MAX_SAFE_INTEGER,
      );
      this.fails[i] = integerIn('snapshot.window.buckets[].failures', failures, 0, calls);
      this.totalCalls += calls;
      this.totalFailures += failures;
    });
  }

  /** Moves the window to `nowMs`, clearing buckets that fell out; returns the current bucket. */
  private advance(nowMs: number): number {
    const epoch = Math.floor(nowMs / this.bucketMs);
    const n = this.calls.length;
    if (epoch !== this.epoch) {
      // On the first call every bucket is already empty.
      const stale = this.epoch === -Infinity ? 0 : Math.min(n, epoch - this.epoch);
      for (let k = 1; k <= stale; k++) {
        const i = (((this.epoch + k) % n) + n) % n;
        this.totalCalls -= this.calls[i]!;
        this.totalFailures -= this.fails[i]!;
        this.calls[i] = 0;
        this.fails[i] = 0;
      }
      this.epoch = epoch;
    }
    return ((epoch % n) + n) % n;
  }
}

/** Builds (and validates) the window of a breaker policy. */
export function createWindow(policy: BreakerPolicy): FailureWindow {
  switch (policy.kind) {
    case 'consecutive':
      return new ConsecutiveWindow(integerIn('policy.threshold', policy.threshold ?? 5, 1, 1e6));
    case 'count': {
      const size = integerIn('policy.size', policy.size ?? 20, 1, 1e5);
      const min = integerIn(
        'policy.minThroughput',
        policy.minThroughput ?? Math.min(10, size),
        1,
        size,
      );
      return new CountWindow(size, min, ratioOf(policy.failureRatio));
    }
    case 'time': {
      const windowMs = positive('policy.windowMs', policy.windowMs ?? 10_000);
      const buckets = integerIn('policy.buckets', policy.buckets ?? 10, 1, 1000);
      const min = integerIn(
        'policy.minThroughput',
        policy.minThroughput ?? 10,
        1,
        Number.MAX_SAFE_INTEGER,
      );
      return new TimeWindow(windowMs, buckets, min, ratioOf(policy.failureRatio));
    }
    default:
      throw rangeError(
        'policy.kind',
        '"consecutive", "count" or "time"',
        (policy as { kind: unknown }).kind,
      );
  }
}

function ratioOf(value: number | undefined): number {
  const ratio = numberIn('policy.failureRatio', value ?? 0.5, 0, 1);
  if (ratio === 0) throw rangeError('policy.failureRatio', 'a number in (0, 1]', ratio);
  return ratio;
}

/**
 * The phi accrual failure detector of Hayashibara, Défago, Yared and Katayama ("The φ Accrual
 * Failure Detector", SRDS 2004), with the parameters and arithmetic of Akka's
 * `PhiAccrualFailureDetector` (documented at doc.akka.io, akka.remote.PhiAccrualFailureDetector).
 *
 * Instead of a yes/no verdict it outputs φ = -log10(1 - F(t)), where t is the time since the last
 * heartbeat and F the normal CDF fitted to recent inter-arrival times: φ = 1 means a 10% chance
 * the suspicion is wrong, φ = 8 a 10⁻⁸ chance.
 *
 * @module
 */
import { assert } from '../core/assert.js';
import type { Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { integerIn, nonNegative, positive } from '../core/validate.js';
import type { FailureDetector } from './detector.js';

/**
 * φ for a heartbeat `timeDiffMs` late when inter-arrival times are normal with `meanMs` and
 * `stdDeviationMs`, using the logistic approximation of the normal CDF that Akka uses:
 * `y = (t - mean) / sd; e = exp(-y (1.5976 + 0.070566 y²))`; φ = `-log10(e / (1 + e))` when
 * `t > mean`, else `-log10(1 - 1 / (1 + e))`. It is +Infinity once `e` underflows.
 */
export function phiOf(timeDiffMs: number, meanMs: number, stdDeviationMs: number): number {
  const y = (timeDiffMs - meanMs) / stdDeviationMs;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  if (timeDiffMs > meanMs) return -Math.log10(e / (1 + e));
  return -Math.log10(1 - 1 / (1 + e));
}

/** Options of a {@link PhiAccrualDetector}. Defaults are Akka Cluster's. */
export interface PhiAccrualDetectorOptions {
  /**
   * φ at or above which the process is suspected (default 8). Low values detect crashes sooner
   * but suspect live processes more often; each +1 divides the false-suspicion probability by 10
   * in theory (the fitted distribution is only an approximation of real jitter).
   */
  threshold?: number;
  /**
   * Inter-arrival samples kept for the mean and standard deviation (default 1000). Memory is
   * this many numbers. Fewer adapts faster to changing networks, more gives steadier estimates.
   */
  maxSampleSize?: number;
  /**
   * Floor of the standard deviation, in ms (default 100). Perfectly regular heartbeats would
   * otherwise give a tiny deviation and make φ explode on the first slightly late beat.
   */
  minStdDeviationMs?: number;
  /**
   * Extra silence tolerated before φ rises, in ms (default 3000): added to the mean. It absorbs
   * GC pauses and transient network stalls at the price of slower detection.
   */
  acceptableHeartbeatPauseMs?: number;
  /**
   * Expected heartbeat interval before any is observed, in ms (default 1000). The history starts
   * with two samples, `estimate ± estimate/4`, so φ is meaningful from the second heartbeat.
   */
  firstHeartbeatEstimateMs?: number;
  /** Source of monotonic time. Default: the system runtime. */
  runtime?: Runtime;
}

/** A fixed-capacity window of inter-arrival times with running sums (Akka's HeartbeatHistory). */
class IntervalHistory {
  private readonly ring: number[] = [];
  private next = 0;
  private sum = 0;
  private squaredSum = 0;

  constructor(private readonly capacity: number) {}

  add(intervalMs: number): void {
    if (this.ring.length === this.capacity) {
      const evicted = this.ring[this.next] as number;
      this.sum -= evicted;
      this.squaredSum -= evicted * evicted;
      this.ring[this.next] = intervalMs;
    } else {
      this.ring.push(intervalMs);
    }
    this.next = (this.next + 1) % this.capacity;
    this.sum += intervalMs;
    this.squaredSum += intervalMs * intervalMs;
  }

  get mean(): number {
    return this.sum / this.ring.length;
  }

  /** Population standard deviation; clamped at 0 against rounding in the running sums. */
  get stdDeviation(): number {
    const mean = this.mean;
    return Math.sqrt(Math.max(0, this.squaredSum / this.ring.length - mean * mean));
  }

  get size(): number {
    return this.ring.length;
  }
}

/**
 * Phi accrual failure detector for one monitored process.
 *
 * An interval is added to the history only if the process was still considered available when
 * the heartbeat arrived, so the long silence of a process that was suspected (and came back)
 * does not inflate the estimates.
 *
 * @example
 * const detector = new PhiAccrualDetector({ threshold: 8, acceptableHeartbeatPauseMs: 3000 });
 * onHeartbeat(() => detector.heartbeat());
 * metrics.gauge('phi', detector.phi());
 * if (!detector.isAvailable()) markUnreachable();
 */
export class PhiAccrualDetector implements FailureDetector {
  /** The configured suspicion threshold. */
  readonly threshold: number;
  /** The configured floor of the standard deviation, in ms. */
  readonly minStdDeviationMs: number;
  /** The configured pause allowance added to the mean, in ms. */
  readonly acceptableHeartbeatPauseMs: number;
  private readonly runtime: Runtime;
  private readonly history: IntervalHistory;
  private lastMs: number | undefined;

  constructor(options: PhiAccrualDetectorOptions = {}) {
    this.threshold = positive('threshold', options.threshold ?? 8);
    const maxSampleSize = integerIn('maxSampleSize', options.maxSampleSize ?? 1000, 1, 1_000_000);
    this.minStdDeviationMs = positive('minStdDeviationMs', options.minStdDeviationMs ?? 100);
    this.acceptableHeartbeatPauseMs = nonNegative(
      'acceptableHeartbeatPauseMs',
      options.acceptableHeartbeatPauseMs ?? 3000,
    );
    const estimate = positive('firstHeartbeatEstimateMs', options.firstHeartbeatEstimateMs ?? 1000);
    this.runtime = options.runtime ?? systemRuntime();
    this.history = new IntervalHistory(maxSampleSize);
    // Akka divides whole milliseconds here (a Long), hence the truncation.
    const spread = Math.trunc(estimate / 4);
    this.history.add(estimate - spread);
    this.history.add(estimate + spread);
  }

  get isMonitoring(): boolean {
    return this.lastMs !== undefined;
  }

  /** Inter-arrival samples currently in the history (the two primed ones included). */
  get sampleCount(): number {
    return this.history.size;
  }

  /** Mean of the inter-arrival history, in ms. */
  get meanIntervalMs(): number {
    return this.history.mean;
  }

  /** Standard deviation used by φ: the history's, floored at `minStdDeviationMs`. */
  get stdDeviationMs(): number {
    return Math.max(this.history.stdDeviation, this.minStdDeviationMs);
  }

  heartbeat(): void {
    const now = this.runtime.clock.monotonicMs();
    if (this.lastMs !== undefined) {
      const interval = now - this.lastMs;
      assert(interval >= 0, 'monotonic time never decreases');
      if (this.isAvailableAt(now)) this.history.add(interval);
    }
    this.lastMs = now;
  }

  /** The current suspicion level φ (0 before the first heartbeat). */
  phi(): number {
    return this.phiAt(this.runtime.clock.monotonicMs());
  }

  isAvailable(): boolean {
    return this.isAvailableAt(this.runtime.clock.monotonicMs());
  }

  private isAvailableAt(nowMs: number): boolean {
    return this.phiAt(nowMs) < this.threshold;
  }

  private phiAt(nowMs: number): number {
    if (this.lastMs === undefined) return 0;
    return phiOf(
      nowMs - this.lastMs,
      this.history.mean + this.acceptableHeartbeatPauseMs,
      this.stdDeviationMs,
    );
  }
}

/**
 * A timeout that follows observed latency: a high quantile (P99 by default) of recent latencies,
 * times a safety multiplier, clamped between a floor and a ceiling, with a fixed default until
 * enough samples arrived.
 *
 * @module
 */
import type { Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { integerIn, numberIn, positive, rangeError } from '../core/validate.js';
import type { FailureDetector } from './detector.js';
import { LatencyQuantiles } from './quantile.js';

/** Options of an {@link AdaptiveTimeout}. */
export interface AdaptiveTimeoutOptions {
  /** Quantile of recent latencies the timeout tracks (default 0.99), in (0, 1]. */
  quantile?: number;
  /**
   * Factor applied to the quantile (default 2). Higher values give up less often on slow but
   * healthy calls; lower values fail (or hedge) sooner.
   */
  multiplier?: number;
  /** Smallest timeout returned, in ms (default 10): guards against a burst of tiny latencies. */
  floorMs?: number;
  /** Largest timeout returned, in ms (default 30,000): bounds how long a caller can hang. */
  ceilingMs?: number;
  /** Timeout used until `minSamples` latencies were recorded, in ms (default 1000). */
  coldStartMs?: number;
  /** Samples needed before the quantile is trusted (default 20). */
  minSamples?: number;
  /** Recent samples remembered (default 1024); see {@link LatencyQuantiles}. */
  windowSize?: number;
}

/**
 * An adaptive timeout backed by a bounded {@link LatencyQuantiles}.
 *
 * @example
 * const timeout = new AdaptiveTimeout({ multiplier: 1.5, floorMs: 50, ceilingMs: 5000 });
 * const started = runtime.clock.monotonicMs();
 * try {
 *   await callWithTimeout(timeout.timeoutMs());
 *   timeout.record(runtime.clock.monotonicMs() - started);
 * } catch {
 *   timeout.recordTimeout();
 * }
 */
export class AdaptiveTimeout {
  /** The tracked quantile, in (0, 1]. */
  readonly quantile: number;
  /** The factor applied to the quantile. */
  readonly multiplier: number;
  /** The smallest timeout returned, in ms. */
  readonly floorMs: number;
  /** The largest timeout returned, in ms. */
  readonly ceilingMs: number;
  /** The timeout before `minSamples` samples, in ms. */
  readonly coldStartMs: number;
  /** Samples needed before the quantile is used. */
  readonly minSamples: number;
  private readonly latencies: LatencyQuantiles;

  constructor(options: AdaptiveTimeoutOptions = {}) {
    this.quantile = numberIn('quantile', options.quantile ?? 0.99, Number.MIN_VALUE, 1);
    this.multiplier = positive('multiplier', options.multiplier ?? 2);
    this.floorMs = positive('floorMs', options.floorMs ?? 10);
    this.ceilingMs = positive('ceilingMs', options.ceilingMs ?? 30_000);
    if (this.ceilingMs < this.floorMs)
      throw rangeError('ceilingMs', `>= floorMs (${this.floorMs})`, this.ceilingMs);
    this.coldStartMs = numberIn(
      'coldStartMs',
      options.coldStartMs ?? 1000,
      this.floorMs,
      this.ceilingMs,
    );
    this.latencies = new LatencyQuantiles(
      options.windowSize === undefined ? {} : { windowSize: options.windowSize },
    );
    this.minSamples = integerIn(
      'minSamples',
      options.minSamples ?? 20,
      1,
      this.latencies.windowSize,
    );
  }

  /** Samples in the window. */
  get count(): number {
    return this.latencies.count;
  }

  /** Records the latency of a call that completed, in ms. */
  record(latencyMs: number): void {
    this.latencies.record(latencyMs);
  }

  /**
   * Records a call that timed out. Its true latency is unknown but at least the timeout, so the
   * timeout itself is recorded (a censored sample); otherwise timeouts would drag the estimate
   * down and make the next timeout shorter exactly when the dependency slows.
   */
  recordTimeout(): void {
    this.latencies.record(this.timeoutMs());
  }

  /** The timeout to use now, in ms. */
  timeoutMs(): number {
    if (this.latencies.count < this.minSamples) return this.coldStartMs;
    const q = this.latencies.quantile(this.quantile) as number;
    return Math.min(this.ceilingMs, Math.max(this.floorMs, q * this.multiplier));
  }
}

/** Options of an {@link AdaptiveTimeoutDetector}. */
export interface AdaptiveTimeoutDetectorOptions extends AdaptiveTimeoutOptions {
  /** Source of monotonic time. Default: the system runtime. */
  runtime?: Runtime;
}

/**
 * A heartbeat failure detector whose timeout is an {@link AdaptiveTimeout} over the observed
 * inter-arrival times: the process is suspected once the silence since the last heartbeat exceeds
 * P99 (by default) of recent intervals times the multiplier, clamped. Unlike a fixed timeout it
 * follows the network's jitter; unlike phi accrual it assumes no distribution. Every interval is
 * recorded, so a long silence that ends (a GC pause) lengthens the timeout for the next window.
 *
 * @example
 * const detector = new AdaptiveTimeoutDetector({ multiplier: 1.5, floorMs: 500, coldStartMs: 3000 });
 * onHeartbeat(() => detector.heartbeat());
 * if (!detector.isAvailable()) markUnreachable();
 */
export class AdaptiveTimeoutDetector implements FailureDetector {
  /** The adaptive timeout fed with inter-arrival times. */
  readonly timeout: AdaptiveTimeout;
  private readonly runtime: Runtime;
  private lastMs: number | undefined;

  constructor(options: AdaptiveTimeoutDetectorOptions = {}) {
    const { runtime, ...timeoutOptions } = options;
    this.timeout = new AdaptiveTimeout(timeoutOptions);
    this.runtime = runtime ?? systemRuntime();
  }

  get isMonitoring(): boolean {
    return this.lastMs !== undefined;
  }

  heartbeat(): void {
    const now = this.runtime.clock.monotonicMs();
    if (this.lastMs !== undefined) this.timeout.record(now - this.lastMs);
    this.lastMs = now;
  }

  isAvailable(): boolean {
    if (this.lastMs === undefined) return true;
    return this.runtime.clock.monotonicMs() - this.lastMs <= this.timeout.timeoutMs();
  }
}

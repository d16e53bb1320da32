/**
 * The simplest failure detector: suspect a process when no heartbeat arrived within a fixed
 * timeout. Also a heartbeat sender that beats on the runtime's timers.
 *
 * @module
 */
import type { Runtime } from '../core/runtime.js';
import type { Cancel } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { positive, rangeError } from '../core/validate.js';
import type { FailureDetector } from './detector.js';

/** Options of a {@link TimeoutDetector}. */
export interface TimeoutDetectorOptions {
  /**
   * Silence, in ms, after which the process is suspected (required). Short timeouts detect
   * crashes quickly but suspect live processes whose heartbeats are merely late (jitter, GC
   * pauses); long ones are the reverse. Phi accrual adapts this trade-off to the observed jitter.
   */
  timeoutMs: number;
  /** Source of monotonic time. Default: the system runtime. */
  runtime?: Runtime;
}

/**
 * Heartbeat with a fixed timeout: available while the last heartbeat is at most `timeoutMs` old.
 *
 * @example
 * const detector = new TimeoutDetector({ timeoutMs: 3000 });
 * onHeartbeat(() => detector.heartbeat());
 * if (!detector.isAvailable()) failover();
 */
export class TimeoutDetector implements FailureDetector {
  /** The configured timeout, in ms. */
  readonly timeoutMs: number;
  private readonly runtime: Runtime;
  private lastMs: number | undefined;

  constructor(options: TimeoutDetectorOptions) {
    this.timeoutMs = positive('timeoutMs', options.timeoutMs);
    this.runtime = options.runtime ?? systemRuntime();
  }

  get isMonitoring(): boolean {
    return this.lastMs !== undefined;
  }

  heartbeat(): void {
    this.lastMs = this.runtime.clock.monotonicMs();
  }

  isAvailable(): boolean {
    return this.lastMs === undefined || this.sinceLastHeartbeatMs() <= this.timeoutMs;
  }

  /** Milliseconds since the last heartbeat (0 before the first). */
  sinceLastHeartbeatMs(): number {
    return this.lastMs === undefined ? 0 : this.runtime.clock.monotonicMs() - this.lastMs;
  }
}

/** Options of a {@link HeartbeatSender}. */
export interface HeartbeatSenderOptions {
  /** Interval between heartbeats, in ms (required). Shorter detects faster and costs more messages. */
  intervalMs: number;
  /** Sends one heartbeat. A throw is reported to `onError` and does not stop the sender. */
  send: () => void;
  /** Called with whatever `send` throws (default: ignore). */
  onError?: (error: unknown) => void;
  /** Timers to beat on. Default: the system runtime. */
  runtime?: Runtime;
}

/**
 * Calls `send` every `intervalMs` on the runtime's timers until closed (the first beat is
 * immediate). Each beat is scheduled after the previous one ran, so beats never pile up.
 */
export class HeartbeatSender {
  private readonly options: HeartbeatSenderOptions;
  private readonly runtime: Runtime;
  private cancel: Cancel | undefined;
  private closed = false;

  constructor(options: HeartbeatSenderOptions) {
    positive('intervalMs', options.intervalMs);
    if (typeof options.send !== 'function') throw rangeError('send', 'a function', options.send);
    if (options.onError !== undefined && typeof options.onError !== 'function') {
      throw rangeError('onError', 'a function', options.onError);
    }
    this.options = options;
    this.runtime = options.runtime ?? systemRuntime();
    this.beat();
  }

  /** Stops beating; no timer is left behind. Idempotent. */
  close(): void {
    this.closed = true;
    this.cancel?.();
    this.cancel = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private beat(): void {
    if (this.closed) return;
    try {
      this.options.send();
    } catch (error) {
      this.options.onError?.(error);
    }
    if (!this.closed)
      this.cancel = this.runtime.timers.setTimer(this.options.intervalMs, () => this.beat());
  }
}

/**
 * Interval time in the style of Spanner's TrueTime (Corbett et al., "Spanner: Google's
 * Globally-Distributed Database", OSDI 2012): the clock answers with an interval that contains
 * true time, provided the configured uncertainty bound holds.
 *
 * @module
 */
import { raceAbort, throwIfAborted } from '../core/abort.js';
import type { Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { nonNegative, rangeError } from '../core/validate.js';

/** An interval `[earliestMs, latestMs]` of Unix ms that contains true time. */
export interface TimeInterval {
  readonly earliestMs: number;
  readonly latestMs: number;
}

/** Options of an {@link IntervalClock}. */
export interface IntervalClockOptions {
  /**
   * Uncertainty bound ε in ms (required): true time is assumed within ±ε of the local wall clock.
   * Everything this clock promises rests on it. A larger ε is safer but makes
   * {@link IntervalClock.commitWait} wait longer (about 2ε per commit).
   */
  epsilonMs: number;
  /** Source of wall time and timers. Default: the system runtime. */
  runtime?: Runtime;
}

/**
 * A TrueTime-like clock. It does not measure its uncertainty (Spanner derives ε from GPS and
 * atomic clocks); it trusts the configured bound.
 *
 * @example
 * const tt = new IntervalClock({ epsilonMs: 7 });
 * const commitTs = tt.now().latestMs;
 * await tt.commitWait(commitTs);      // afterwards every node's now().earliestMs > commitTs
 */
export class IntervalClock {
  /** The uncertainty bound ε, in ms. */
  readonly epsilonMs: number;
  private readonly runtime: Runtime;

  constructor(options: IntervalClockOptions) {
    this.epsilonMs = nonNegative('epsilonMs', options.epsilonMs);
    this.runtime = options.runtime ?? systemRuntime();
  }

  /** The interval that contains true time now: local wall time ± ε. */
  now(): TimeInterval {
    const wall = this.runtime.clock.wallMs();
    return { earliestMs: wall - this.epsilonMs, latestMs: wall + this.epsilonMs };
  }

  /** True when `tMs` has definitely passed (`tMs < now().earliestMs`). */
  after(tMs: number): boolean {
    return tMs < this.now().earliestMs;
  }

  /** True when `tMs` has definitely not arrived yet (`tMs > now().latestMs`). */
  before(tMs: number): boolean {
    return tMs > this.now().latestMs;
  }

  /**
   * Sleeps on the runtime's timers until `after(tsMs)` holds — Spanner's commit wait, which makes
   * a transaction's timestamp smaller than the start time of every transaction that begins after
   * it commits. If the wall clock steps backwards meanwhile, it keeps waiting. Rejects with the
   * signal's reason when `signal` aborts.
   */
  async commitWait(tsMs: number, signal?: AbortSignal): Promise<void> {
    if (!Number.isFinite(tsMs)) throw rangeError('tsMs', 'a finite number', tsMs);
    throwIfAborted(signal);
    for (let remaining = tsMs - this.now().earliestMs; !this.after(tsMs);) {
      // Sleep at least 1 ms past the boundary: `after` is strict, so waking exactly on it would spin.
      await raceAbort(this.runtime.timers.sleep(Math.max(remaining, 0) + 1, signal), signal);
      remaining = tsMs - this.now().earliestMs;
    }
  }
}

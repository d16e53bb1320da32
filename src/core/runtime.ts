/**
 * The runtime seam. Every faultline component takes time, timers and randomness from a
 * {@link Runtime} instead of reading globals, so the same production code runs under the real
 * system runtime and under the deterministic simulator.
 *
 * @module
 */

/** A source of time. */
export interface Clock {
  /**
   * Milliseconds from an arbitrary origin that never decreases (may have a fractional part).
   * Use it for durations, deadlines and timeouts.
   */
  monotonicMs(): number;
  /**
   * Milliseconds since the Unix epoch as the node's wall clock reads it. It may jump forwards or
   * backwards (NTP steps, operator changes, skew between nodes); never use it for durations.
   */
  wallMs(): number;
}

/** Cancels a timer; calling it more than once, or after the timer fired, does nothing. */
export type Cancel = () => void;

/** Timers driven by the runtime's clock. */
export interface Timers {
  /**
   * Resolves after `ms` milliseconds of monotonic time. Rejects with the signal's reason (an
   * `AbortError`-like value) as soon as `signal` aborts, and clears its timer when it does.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Calls `fn` once after `ms` milliseconds; returns a function that cancels it. With
   * `{ keepAlive: false }` the timer does not keep the process alive (Node's `unref()`); a
   * simulated runtime, which has no process, ignores the option.
   */
  setTimer(ms: number, fn: () => void, options?: TimerOptions): Cancel;
}

/** Options of {@link Timers.setTimer}. */
export interface TimerOptions {
  /**
   * `false`: the pending timer alone does not keep the process running (for housekeeping timers
   * that outlive the work they guard). Default `true`.
   */
  readonly keepAlive?: boolean;
}

/**
 * A source of randomness. In the system runtime `bytes()` is cryptographically secure; in a
 * simulation every method derives from the run's seed.
 */
export interface Random {
  /** A uniformly distributed float in [0, 1). */
  next(): number;
  /** A uniformly distributed integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** A uniformly distributed float in [min, max). */
  float(min: number, max: number): number;
  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[];
  /** A sample of the exponential distribution with the given mean. */
  exponential(mean: number): number;
  /** `n` random bytes: cryptographically secure in the system runtime, seeded in simulation. */
  bytes(n: number): Uint8Array;
  /**
   * Fills `target` as `bytes(target.length)` would and returns it, allocating nothing (optional:
   * callers fall back to `bytes`).
   */
  fillBytes?(target: Uint8Array): Uint8Array;
  /**
   * An independent generator derived from this one and `label`. Forking with the same label from
   * the same state gives the same stream, so components can own their randomness without
   * disturbing each other's sequences.
   */
  fork(label: string): Random;
}

/** Everything a component needs from its environment. */
export interface Runtime {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: Random;
}

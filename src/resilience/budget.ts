/**
 * A retry budget shared across calls, after gRPC's retry throttling and Finagle's `RetryBudget`:
 * successes deposit a fraction of a token, each retry (or hedge) withdraws a whole one, and a small
 * reserve refilled at a fixed rate keeps a trickle of retries possible when traffic is light.
 * Under a full outage retries stop growing the load: they are capped at about `ratio` times the
 * successful traffic plus `minPerSecond`.
 *
 * @module
 */
import type { Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { nonNegative, numberIn, positive } from '../core/validate.js';

/** Options of a {@link RetryBudget}. */
export interface RetryBudgetOptions {
  /**
   * Tokens deposited per successful call (default 0.1, i.e. at most one retry per ten successes).
   * Higher recovers more transient failures but lets retries amplify load more in an outage.
   */
  ratio?: number;
  /** Retries per second always allowed through the reserve (default 10; 0 disables the reserve). */
  minPerSecond?: number;
  /** Upper bound on deposited tokens (default 100): bounds the retry burst after a quiet healthy period. */
  maxTokens?: number;
  /** Clock for the reserve's refill (default: the system runtime). */
  runtime?: Runtime;
}

/**
 * A token bucket of retries, shared by every retry (or hedging) policy that holds it.
 *
 * @example
 * const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 5 });
 * const a = new Retry({ budget });
 * const b = new Retry({ budget }); // a and b draw on the same budget
 */
export class RetryBudget {
  /** Tokens per success. */
  readonly ratio: number;
  /** Reserve refill rate, retries per second. */
  readonly minPerSecond: number;
  /** Cap of deposited tokens. */
  readonly maxTokens: number;
  private readonly runtime: Runtime;
  private balance = 0;
  private reserve: number;
  private readonly reserveCapacity: number;
  private reserveAtMs: number;

  constructor(options: RetryBudgetOptions = {}) {
    this.ratio = numberIn('ratio', options.ratio ?? 0.1, 0, 1000);
    this.minPerSecond = nonNegative('minPerSecond', options.minPerSecond ?? 10);
    this.maxTokens = positive('maxTokens', options.maxTokens ?? 100);
    this.runtime = options.runtime ?? systemRuntime();
    // The reserve holds at least one token, so a rate below 1/s still allows an occasional retry.
    this.reserveCapacity = this.minPerSecond > 0 ? Math.max(1, this.minPerSecond) : 0;
    this.reserve = this.reserveCapacity;
    this.reserveAtMs = this.runtime.clock.monotonicMs();
  }

  /** Records a successful call: adds `ratio` tokens, up to `maxTokens`. */
  deposit(): void {
    const b = this.balance + this.ratio;
    this.balance = b > this.maxTokens ? this.maxTokens : b;
  }

  /** Takes one token for a retry; false (and nothing taken) when the budget is empty. */
  tryWithdraw(): boolean {
    if (this.balance >= 1) {
      this.balance -= 1;
      return true;
    }
    this.refillReserve();
    if (this.reserve >= 1) {
      this.reserve -= 1;
      return true;
    }
    return false;
  }

  /** Whole retries available now (deposits plus reserve). */
  get available(): number {
    this.refillReserve();
    return Math.floor(this.balance) + Math.floor(this.reserve);
  }

  private refillReserve(): void {
    if (this.minPerSecond === 0) return;
    const now = this.runtime.clock.monotonicMs();
    const refilled = this.reserve + ((now - this.reserveAtMs) * this.minPerSecond) / 1000;
    this.reserve = refilled > this.reserveCapacity ? this.reserveCapacity : refilled;
    this.reserveAtMs = now;
  }
}

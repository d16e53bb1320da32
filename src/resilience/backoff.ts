/**
 * Backoff delays with the jitter variants of Marc Brooker, "Exponential Backoff And Jitter" (AWS
 * Architecture Blog, 2015). With `t = min(cap, base * factor^n)` for the n-th retry (n from 0):
 *
 * - `none`:         t
 * - `full`:         random(0, t)
 * - `equal`:        t/2 + random(0, t/2)
 * - `decorrelated`: min(cap, random(base, previous * 3)), starting from previous = base
 *
 * @module
 */
import type { Random } from '../core/runtime.js';
import { positive, rangeError } from '../core/validate.js';

/** How the delay grows with the attempt number. */
export type BackoffKind = 'constant' | 'exponential';

/** How randomness spreads the delays of contending clients (see the module comment). */
export type Jitter = 'none' | 'full' | 'equal' | 'decorrelated';

/** Options of a {@link Backoff}. */
export interface BackoffOptions {
  /** `exponential` (default) doubles (times `factor`) per retry; `constant` always uses `baseMs`. */
  kind?: BackoffKind;
  /** First delay, in ms (default 100). Smaller retries sooner but adds load while a dependency recovers. */
  baseMs?: number;
  /** Upper bound on any delay, in ms (default 30,000); must be >= `baseMs`. */
  capMs?: number;
  /** Growth per retry of the exponential kind (default 2, must be >= 1). */
  factor?: number;
  /**
   * Jitter variant (default `full`). AWS's simulation found `full` and `decorrelated` do the least
   * work under contention; `none` synchronises clients into waves.
   */
  jitter?: Jitter;
}

/**
 * A backoff schedule. Stateless: the caller carries the previous delay (used by decorrelated
 * jitter), so one instance serves every call.
 *
 * @example
 * const backoff = new Backoff({ baseMs: 5, capMs: 2000, jitter: 'decorrelated' });
 * let previous = backoff.initialPreviousMs;
 * for (let n = 0; n < 5; n++) previous = backoff.delayMs(n, previous, runtime.random);
 */
export class Backoff {
  /** The delay kind. */
  readonly kind: BackoffKind;
  /** First delay in ms. */
  readonly baseMs: number;
  /** Largest delay in ms. */
  readonly capMs: number;
  /** Exponential growth factor. */
  readonly factor: number;
  /** The jitter variant. */
  readonly jitter: Jitter;

  constructor(options: BackoffOptions = {}) {
    this.kind = options.kind ?? 'exponential';
    if (this.kind !== 'constant' && this.kind !== 'exponential') {
      throw rangeError('kind', '"constant" or "exponential"', this.kind);
    }
    this.baseMs = positive('baseMs', options.baseMs ?? 100);
    this.capMs = positive('capMs', options.capMs ?? Math.max(30_000, this.baseMs));
    if (this.capMs < this.baseMs)
      throw rangeError('capMs', `>= baseMs (${this.baseMs})`, this.capMs);
    this.factor = options.factor ?? 2;
    if (!(this.factor >= 1) || !Number.isFinite(this.factor)) {
      throw rangeError('factor', 'a finite number >= 1', this.factor);
    }
    this.jitter = options.jitter ?? 'full';
    if (!['none', 'full', 'equal', 'decorrelated'].includes(this.jitter)) {
      throw rangeError('jitter', '"none", "full", "equal" or "decorrelated"', this.jitter);
    }
  }

  /** The `previous` value to pass for the first retry (decorrelated jitter starts from `baseMs`). */
  get initialPreviousMs(): number {
    return this.baseMs;
  }

  /** The un-jittered delay `t = min(cap, base * factor^n)` of the n-th retry (n from 0). */
  ceilingMs(n: number): number {
    if (this.kind === 'constant') return this.baseMs;
    return Math.min(this.capMs, this.baseMs * this.factor ** n);
  }

  /**
   * The delay before the n-th retry (n from 0), in ms.
   *
   * @param previousMs the delay returned for the previous retry, or {@link Backoff.initialPreviousMs}.
   */
  delayMs(n: number, previousMs: number, random: Random): number {
    switch (this.jitter) {
      case 'none':
        return this.ceilingMs(n);
      case 'full':
        return random.next() * this.ceilingMs(n);
      case 'equal': {
        const half = this.ceilingMs(n) / 2;
        return half + random.next() * half;
      }
      case 'decorrelated': {
        const high = Math.max(this.baseMs, previousMs * 3);
        // Clamping to `high` as well keeps rounding from ever leaving [base, previous * 3].
        return Math.min(this.capMs, high, this.baseMs + random.next() * (high - this.baseMs));
      }
    }
  }
}

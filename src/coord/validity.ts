/**
 * The drift-validity rule, written once: how long the client may believe in a lease the server
 * granted (or renewed) for `ttlMs`, counted from when the request was sent.
 *
 * `validity = ttlMs × (1 − driftFactor) − driftMarginMs`, capped by `maxValidityMs` when given
 * (an election's `renewDeadlineMs`). The factor covers the client's and the server's clocks running
 * at different rates, the margin covers timer granularity (Redlock's rule, with its drift factor).
 *
 * @module
 */
import { rangeError } from '../core/validate.js';

/** The two drift settings of a client (see `ClientOptions`). */
export interface Drift {
  readonly driftFactor: number;
  readonly driftMarginMs: number;
}

/** Milliseconds of client-side validity of a grant of `ttlMs` (may be ≤ 0: no validity). */
export function validityMs(drift: Drift, ttlMs: number, maxValidityMs?: number): number {
  const v = ttlMs * (1 - drift.driftFactor) - drift.driftMarginMs;
  return maxValidityMs === undefined ? v : Math.min(v, maxValidityMs);
}

/** The smallest TTL with any validity left: anything at or below it is refused. */
export function minimumTtlMs(drift: Drift): number {
  return drift.driftMarginMs / (1 - drift.driftFactor);
}

/**
 * Refuses a TTL that leaves no validity after the drift allowance (`ttlMs: 1` with the default
 * 2 ms margin, or any `driftMarginMs` ≥ `ttlMs`): such a lease would end before it began, and an
 * acquire would grant, discard and retry without end. Throws a `RangeError` naming `field`.
 */
export function checkValidity(field: string, drift: Drift, ttlMs: number): number {
  if (!(validityMs(drift, ttlMs) > 0)) {
    const min = minimumTtlMs(drift);
    throw rangeError(
      field,
      `greater than ${min} (driftMarginMs ${drift.driftMarginMs} / (1 − driftFactor ${drift.driftFactor})), or the lease has no validity left`,
      ttlMs,
    );
  }
  return ttlMs;
}

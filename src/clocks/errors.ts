/**
 * Typed failures of the logical clocks.
 *
 * @module
 */
import { errorGuard, FaultlineError } from '../core/errors.js';

/**
 * A remote hybrid-logical-clock timestamp is further ahead of the local physical clock than the
 * configured `maxOffsetMs`. Accepting it would drag this node's clock into the future (and every
 * node it talks to after it), so the message carrying it must be rejected.
 */
export class ClockOffsetError extends FaultlineError {
  override name = 'ClockOffsetError';
  /** The remote timestamp's physical component, in Unix ms. */
  readonly remoteWallMs: number;
  /** The local physical clock when the timestamp was received, in Unix ms. */
  readonly localWallMs: number;
  /** The bound that was exceeded, in ms. */
  readonly maxOffsetMs: number;

  constructor(remoteWallMs: number, localWallMs: number, maxOffsetMs: number) {
    super(
      'FAULTLINE_CLOCK_OFFSET',
      `remote timestamp ${remoteWallMs} is ${remoteWallMs - localWallMs} ms ahead of the local clock ` +
        `${localWallMs}, more than maxOffsetMs ${maxOffsetMs}`,
    );
    this.remoteWallMs = remoteWallMs;
    this.localWallMs = localWallMs;
    this.maxOffsetMs = maxOffsetMs;
  }
}

/** True when `e` is a {@link ClockOffsetError}. */
export const isClockOffsetError = errorGuard(ClockOffsetError);

/**
 * A clock's logical counter would exceed its bound. The counter never wraps, because a wrapped
 * counter would order a later event before an earlier one.
 */
export class ClockCounterOverflowError extends FaultlineError {
  override name = 'ClockCounterOverflowError';
  /** The bound that would have been exceeded. */
  readonly maxCounter: number;

  constructor(maxCounter: number) {
    super(
      'FAULTLINE_CLOCK_COUNTER_OVERFLOW',
      `the logical counter would exceed ${maxCounter}; the physical clock is not advancing ` +
        'or a peer sent an extreme counter',
    );
    this.maxCounter = maxCounter;
  }
}

/** True when `e` is a {@link ClockCounterOverflowError}. */
export const isClockCounterOverflowError = errorGuard(ClockCounterOverflowError);

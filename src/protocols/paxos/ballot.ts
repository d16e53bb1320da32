/**
 * Ballots and the options Paxos proposers share.
 *
 * @module
 */
import type { Random } from '../../core/runtime.js';
import { integerIn, rangeError } from '../../core/validate.js';

/** Proposers at most: a ballot is `round × MAX_PROPOSERS + proposer index`, unique per proposer. */
export const MAX_PROPOSERS = 1024;

/** The ballot of `round` for the proposer at `index`. */
export function ballotOf(round: number, index: number): number {
  return round * MAX_PROPOSERS + index;
}

/** The round of `ballot`. */
export function roundOf(ballot: number): number {
  return Math.floor(ballot / MAX_PROPOSERS);
}

/** How a proposer that lost a ballot retries. */
export type Backoff =
  /** At once, with a higher ballot: duelling proposers can pre-empt each other forever (FLP). */
  | 'none'
  /** After a random wait that doubles with every failed attempt (partial synchrony decides). */
  | 'randomized';

/** Retry timing of a proposer, in ticks. */
export interface RetryOptions {
  /** Ticks a ballot may take before the proposer gives it up (default 30). */
  retryTicks?: number;
  /** `randomized` (default) or `none`. */
  backoff?: Backoff;
  /** First back-off window in ticks; the wait is uniform in [0, window), the window doubles (default 10). */
  backoffTicks?: number;
  /** The window stops doubling here (default 320). */
  backoffTicksMax?: number;
}

/** Validated retry timing. */
export interface RetryTiming {
  readonly retryTicks: number;
  readonly backoff: Backoff;
  readonly backoffTicks: number;
  readonly backoffTicksMax: number;
}

/** Validates `options` (a RangeError names the field and value). */
export function retryTiming(options: RetryOptions): RetryTiming {
  const backoff = options.backoff ?? 'randomized';
  if (backoff !== 'none' && backoff !== 'randomized')
    throw rangeError('backoff', "'none' or 'randomized'", backoff);
  const backoffTicks = integerIn('backoffTicks', options.backoffTicks ?? 10, 1, 1_000_000);
  return {
    retryTicks: integerIn('retryTicks', options.retryTicks ?? 30, 1, 1_000_000),
    backoff,
    backoffTicks,
    backoffTicksMax: integerIn(
      'backoffTicksMax',
      options.backoffTicksMax ?? 320,
      backoffTicks,
      1_000_000,
    ),
  };
}

/** Ticks to wait before attempt number `failures` (0 with no back-off). */
export function backoffDelay(timing: RetryTiming, failures: number, random: Random): number {
  if (timing.backoff === 'none') return 0;
  const window = Math.min(
    timing.backoffTicksMax,
    timing.backoffTicks * 2 ** Math.min(failures, 20),
  );
  return random.int(window);
}

/** Validates a peer list: non-empty, unique names, at most {@link MAX_PROPOSERS}, containing `id`. */
export function peerIndex(id: string, peers: readonly string[]): number {
  integerIn('peers.length', peers.length, 1, MAX_PROPOSERS);
  if (new Set(peers).size !== peers.length) throw rangeError('peers', 'unique names', peers.join());
  const index = peers.indexOf(id);
  if (index < 0) throw rangeError('id', `one of peers (${peers.join(', ')})`, id);
  return index;
}

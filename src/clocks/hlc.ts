/**
 * Hybrid logical clocks after Kulkarni, Demirbas, Madappa, Avva and Leone, "Logical Physical
 * Clocks" (OPODIS 2014). A timestamp `(l, c)` pairs `l`, the largest physical time the node has
 * heard of, with a counter `c` that orders events sharing the same `l`. HLC timestamps respect
 * causality like a Lamport clock, stay within the clock offset of physical time, and fit in 64 bits.
 *
 * The update rules are exactly those of the paper's Figure 5 ("HLC algorithm"): a send or local
 * event sets `l := max(l, pt)` and increments `c` only when `l` did not move; a receive sets
 * `l := max(l, l_m, pt)` and picks `c` from whichever of the local and remote timestamps supplied
 * the new `l` (both: the larger counter), plus one; if physical time alone supplied it, `c := 0`.
 *
 * @module
 */
import type { Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { integerIn, nonEmptyString, nonNegative, rangeError } from '../core/validate.js';
import { ClockCounterOverflowError, ClockOffsetError } from './errors.js';

/** The largest counter an encoded timestamp can carry: the counter has 16 bits. */
export const HLC_MAX_COUNTER = 0xffff;
const MAX_L = 2 ** 48 - 1;

/** A hybrid logical clock timestamp. */
export interface HlcTimestamp {
  /** `l`: the largest physical time known when the event happened, in whole Unix ms. */
  readonly wallMs: number;
  /** `c`: orders events that share `wallMs`; an integer in [0, maxCounter]. */
  readonly logical: number;
  /** Id of the node that produced the timestamp; breaks the remaining ties. */
  readonly node: string;
}

/** Orders timestamps by `(wallMs, logical, node)`; negative, 0 or positive. */
export function compareHlc(a: HlcTimestamp, b: HlcTimestamp): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  if (a.node === b.node) return 0;
  return a.node < b.node ? -1 : 1;
}

/**
 * Encodes a timestamp as a string whose code-unit order equals {@link compareHlc}'s order:
 * 15 decimal digits of `wallMs`, 5 of `logical`, then the node id, joined by `-`.
 */
export function encodeHlc(ts: HlcTimestamp): string {
  checkTimestamp(ts);
  return `${String(ts.wallMs).padStart(15, '0')}-${String(ts.logical).padStart(5, '0')}-${ts.node}`;
}

/** Decodes {@link encodeHlc}'s format; throws a `RangeError` naming the text when malformed. */
export function decodeHlc(text: string): HlcTimestamp {
  const match = /^(\d{15})-(\d{5})-(.+)$/s.exec(text);
  if (match === null)
    throw rangeError('hlc', 'a string of the form <15 digits>-<5 digits>-<node>', text);
  const ts = { wallMs: Number(match[1]), logical: Number(match[2]), node: match[3] as string };
  checkTimestamp(ts);
  return ts;
}

/**
 * Packs `(wallMs, logical)` into an unsigned 64-bit integer, `wallMs << 16 | logical`, whose
 * numeric order is the timestamp order (the node id is not included: store it beside the number
 * if ties between nodes matter). `wallMs` must fit in 48 bits (until the year 10889).
 */
export function hlcToBigInt(ts: HlcTimestamp): bigint {
  checkTimestamp(ts);
  return (BigInt(ts.wallMs) << 16n) | BigInt(ts.logical);
}

/** Unpacks {@link hlcToBigInt}; the node id, which the number does not carry, is given separately. */
export function hlcFromBigInt(value: bigint, node: string): HlcTimestamp {
  if (value < 0n || value >= 1n << 64n)
    throw rangeError('value', 'an unsigned 64-bit integer', value);
  const ts = { wallMs: Number(value >> 16n), logical: Number(value & 0xffffn), node };
  checkTimestamp(ts);
  return ts;
}

function checkTimestamp(ts: HlcTimestamp): void {
  integerIn('wallMs', ts.wallMs, 0, MAX_L);
  integerIn('logical', ts.logical, 0, HLC_MAX_COUNTER);
  nonEmptyString('node', ts.node);
}

/** Options of a {@link HybridLogicalClock}. */
export interface HybridLogicalClockOptions {
  /** This node's id (required, non-empty). */
  nodeId: string;
  /**
   * Largest amount, in ms, by which a received timestamp may lead the local physical clock
   * (default 500, as CockroachDB's default maximum offset). Larger leads throw
   * {@link ClockOffsetError} and leave the clock unchanged. Too small rejects honest messages
   * from slightly fast peers; too large lets one bad clock drag every node into the future.
   * `Infinity` disables the check.
   */
  maxOffsetMs?: number;
  /**
   * Bound of the logical counter (default and maximum {@link HLC_MAX_COUNTER}, 16 bits). Exceeding
   * it throws {@link ClockCounterOverflowError}; the counter never wraps.
   */
  maxCounter?: number;
  /** Source of physical time (`runtime.clock.wallMs()`, floored to whole ms). Default: the system runtime. */
  runtime?: Runtime;
}

/**
 * A hybrid logical clock owned by one node (mutable: each call advances it).
 *
 * @example
 * const hlc = new HybridLogicalClock({ nodeId: 'a', maxOffsetMs: 250 });
 * const stamp = hlc.now();            // stamp a local event or an outgoing message
 * other.receive(stamp);               // on the peer: throws ClockOffsetError if stamp is too far ahead
 * encodeHlc(stamp);                   // '001700000000000-00000-a'
 */
export class HybridLogicalClock {
  /** This node's id. */
  readonly nodeId: string;
  /** The configured maximum offset, in ms. */
  readonly maxOffsetMs: number;
  /** The configured counter bound. */
  readonly maxCounter: number;
  private readonly runtime: Runtime;
  private l = 0;
  private c = 0;

  constructor(options: HybridLogicalClockOptions) {
    this.nodeId = nonEmptyString('nodeId', options.nodeId);
    const maxOffsetMs = options.maxOffsetMs ?? 500;
    if (maxOffsetMs !== Number.POSITIVE_INFINITY) nonNegative('maxOffsetMs', maxOffsetMs);
    this.maxOffsetMs = maxOffsetMs;
    this.maxCounter = integerIn(
      'maxCounter',
      options.maxCounter ?? HLC_MAX_COUNTER,
      1,
      HLC_MAX_COUNTER,
    );
    this.runtime = options.runtime ?? systemRuntime();
  }

  /** The last timestamp issued or observed, without advancing the clock. */
  peek(): HlcTimestamp {
    return { wallMs: this.l, logical: this.c, node: this.nodeId };
  }

  /** A send or local event (Figure 5, first rule). Returns the event's timestamp. */
  now(): HlcTimestamp {
    const pt = this.physicalMs();
    const lOld = this.l;
    const l = Math.max(lOld, pt);
    const c = l === lOld ? this.bump(this.c) : 0;
    return this.set(l, c);
  }

  /** Alias of {@link HybridLogicalClock.now} for stamping an outgoing message. */
  send(): HlcTimestamp {
    return this.now();
  }

  /**
   * Receipt of a message stamped `remote` (Figure 5, second rule). Throws
   * {@link ClockOffsetError} — without changing the clock — when `remote.wallMs` leads the local
   * physical clock by more than `maxOffsetMs`. Returns the receive event's timestamp.
   */
  receive(remote: HlcTimestamp): HlcTimestamp {
    checkTimestamp(remote);
    const pt = this.physicalMs();
    if (remote.wallMs - pt > this.maxOffsetMs)
      throw new ClockOffsetError(remote.wallMs, pt, this.maxOffsetMs);
    const lOld = this.l;
    const l = Math.max(lOld, remote.wallMs, pt);
    let c: number;
    if (l === lOld && l === remote.wallMs) c = this.bump(Math.max(this.c, remote.logical));
    else if (l === lOld) c = this.bump(this.c);
    else if (l === remote.wallMs) c = this.bump(remote.logical);
    else c = 0;
    return this.set(l, c);
  }

  private physicalMs(): number {
    const pt = Math.floor(this.runtime.clock.wallMs());
    if (!(pt >= 0 && pt <= MAX_L)) throw rangeError('runtime.clock.wallMs()', `in [0, 2^48)`, pt);
    return pt;
  }

  private bump(counter: number): number {
    if (counter >= this.maxCounter) throw new ClockCounterOverflowError(this.maxCounter);
    return counter + 1;
  }

  private set(l: number, c: number): HlcTimestamp {
    this.l = l;
    this.c = c;
    return { wallMs: l, logical: c, node: this.nodeId };
  }
}

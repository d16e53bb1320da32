/**
 * Lamport's logical clock ("Time, Clocks, and the Ordering of Events in a Distributed System",
 * CACM 1978): a counter that every event increments and every receive pushes past the sender's.
 *
 * @module
 */
import { ClockCounterOverflowError } from './errors.js';
import { nonEmptyString, rangeError } from '../core/validate.js';

/** A Lamport timestamp: the counter value and the node that produced it (the tie-breaker). */
export interface LamportTimestamp {
  /** The logical time, an integer >= 1. */
  readonly time: number;
  /** The id of the node whose clock produced the timestamp. */
  readonly node: string;
}

/**
 * The total order of Lamport timestamps: by `time`, then by `node` id (code-unit order).
 * Returns a negative number, 0 or a positive number. If `a` happened before `b` then
 * `compareLamport(a, b) < 0`; the converse does not hold (concurrent events are ordered too).
 */
export function compareLamport(a: LamportTimestamp, b: LamportTimestamp): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  if (a.node === b.node) return 0;
  return a.node < b.node ? -1 : 1;
}

/** Options of a {@link LamportClock}. */
export interface LamportClockOptions {
  /** This node's id, used to break ties between equal times (required, non-empty). */
  nodeId: string;
  /** The starting time (default 0), e.g. restored from storage; an integer >= 0. */
  initialTime?: number;
}

/**
 * A Lamport clock. It is a small mutable object owned by one node: `tick()` for a local event,
 * `send()` to stamp an outgoing message, `receive(ts)` when a message arrives.
 *
 * @example
 * const a = new LamportClock({ nodeId: 'a' });
 * const b = new LamportClock({ nodeId: 'b' });
 * const stamp = a.send();       // { time: 1, node: 'a' }
 * b.receive(stamp);             // { time: 2, node: 'b' }
 */
export class LamportClock {
  /** This node's id. */
  readonly nodeId: string;
  private current: number;

  constructor(options: LamportClockOptions) {
    this.nodeId = nonEmptyString('nodeId', options.nodeId);
    this.current = checkTime('initialTime', options.initialTime ?? 0);
  }

  /** The last time issued or observed (0 before any event). */
  get time(): number {
    return this.current;
  }

  /** Records a local event and returns its timestamp. */
  tick(): LamportTimestamp {
    this.current = advance(this.current);
    return { time: this.current, node: this.nodeId };
  }

  /** Stamps an outgoing message (a send is a local event). */
  send(): LamportTimestamp {
    return this.tick();
  }

  /**
   * Records the receipt of a message stamped `remote` (a timestamp or a bare time): the clock
   * moves past both its own time and the sender's. Returns the receive event's timestamp.
   */
  receive(remote: LamportTimestamp | number): LamportTimestamp {
    const time = checkTime('remote.time', typeof remote === 'number' ? remote : remote.time);
    this.current = advance(Math.max(this.current, time));
    return { time: this.current, node: this.nodeId };
  }
}

function checkTime(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw rangeError(field, 'a safe integer >= 0', value);
  return value;
}

function advance(time: number): number {
  if (time >= Number.MAX_SAFE_INTEGER) throw new ClockCounterOverflowError(Number.MAX_SAFE_INTEGER);
  return time + 1;
}

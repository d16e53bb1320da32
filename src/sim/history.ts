/**
 * A Jepsen-style operation history recorded in virtual time, ready for a linearizability checker:
 * each operation is an `invoke` event followed by exactly one completion — `ok` (it took effect),
 * `fail` (it certainly did not) or `info` (unknown: a timeout, a crash).
 *
 * @module
 */
import { assert } from '../core/assert.js';
import { integerIn, rangeError } from '../core/validate.js';
import type { Trace } from './trace.js';

/** The type of a history event, as in Jepsen. */
export type OpType = 'invoke' | 'ok' | 'fail' | 'info';

/** One history event. */
export interface OpEvent {
  /** Position in the history (0-based). */
  readonly index: number;
  readonly type: OpType;
  /** The logical process (client) that performed the operation; one operation at a time each. */
  readonly process: string;
  /** The operation's function, e.g. `read`, `write`, `cas`. */
  readonly f: string;
  /** The argument on invoke; the observed result on ok (a read's value). */
  readonly value: unknown;
  /** Virtual time in ms. */
  readonly timeMs: number;
  /** Optional error text of a fail or info. */
  readonly error?: string;
}

/** A pending operation returned by {@link History.invoke}; complete it exactly once. */
export interface PendingOp {
  readonly process: string;
  readonly f: string;
  readonly invokeIndex: number;
}

/**
 * Records operations. A process may have only one pending operation (Jepsen's model); a second
 * invoke before completion is a programmer error and throws.
 *
 * @example
 * const op = history.invoke('c1', 'write', 3);
 * history.complete(op, 'ok', 3);
 */
export class History {
  private readonly events: OpEvent[] = [];
  private readonly pendingByProcess = new Map<string, PendingOp>();
  private readonly now: () => number;
  private readonly trace: Trace | undefined;
  /** Per history position, the index of its `op` event in the trace (when the trace is active). */
  private readonly traceIndexes: number[] = [];
  private readonly maxEvents: number;

  /**
   * @param now the virtual clock (true time).
   * @param trace where `op` trace events go, if any.
   * @param maxEvents bound on recorded events (default 1,000,000); more throws a RangeError.
   */
  constructor(now: () => number, trace?: Trace, maxEvents = 1_000_000) {
    this.now = now;
    this.trace = trace;
    this.maxEvents = integerIn('maxEvents', maxEvents, 0, 2 ** 31);
  }

  /** Every event, in order. */
  get ops(): readonly OpEvent[] {
    return this.events;
  }

  /** Operations invoked and not completed yet. */
  get pending(): number {
    return this.pendingByProcess.size;
  }

  /** Records the invocation of `f(value)` by `process`. */
  invoke(process: string, f: string, value: unknown): PendingOp {
    assert(
      !this.pendingByProcess.has(process),
      `process ${process} already has a pending operation`,
    );
    const invokeIndex = this.append('invoke', process, f, value, undefined);
    const op: PendingOp = { process, f, invokeIndex };
    this.pendingByProcess.set(process, op);
    return op;
  }

  /** Records the completion of `op`: `ok` with the result, `fail` or `info` with an optional error. */
  complete(op: PendingOp, type: Exclude<OpType, 'invoke'>, value?: unknown, error?: string): void {
    assert(
      this.pendingByProcess.get(op.process) === op,
      `operation of ${op.process} is not pending`,
    );
    this.pendingByProcess.delete(op.process);
    this.append(type, op.process, op.f, value, error);
  }

  /** The index in the trace of the `op` event recorded for history position `position`, if any. */
  traceIndexOf(position: number): number | undefined {
    return this.traceIndexes[position];
  }

  /** Plain JSON data (the event list). */
  toJSON(): readonly OpEvent[] {
    return this.events;
  }

  private append(
    type: OpType,
    process: string,
    f: string,
    value: unknown,
    error: string | undefined,
  ): number {
    if (this.events.length >= this.maxEvents) {
      throw rangeError('history length', `at most ${this.maxEvents}`, this.events.length + 1);
    }
    const index = this.events.length;
    const timeMs = this.now();
    const event: OpEvent =
      error === undefined
        ? { index, type, process, f, value, timeMs }
        : { index, type, process, f, value, timeMs, error };
    this.events.push(event);
    const traceIndex = this.trace?.add(timeMs, 'op', process, undefined, undefined, undefined, {
      type,
      f,
      value: value ?? null,
    });
    if (traceIndex !== undefined) this.traceIndexes[index] = traceIndex;
    return index;
  }
}

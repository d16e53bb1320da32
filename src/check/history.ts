/**
 * The history model, as Jepsen defines it: each process invokes an operation (`invoke`), and the
 * operation completes with `ok` (it took effect and returned), `fail` (it did not take effect, or
 * the model gives `fail` a meaning of its own such as "the compare-and-set returned false") or `info`
 * (indeterminate: it may or may not have taken effect, and it never returns). This module pairs the
 * events of a history into {@link Operation}s.
 *
 * @module
 */
import { FaultlineError } from '../core/errors.js';

/** The four event types of a history. */
export type EventType = 'invoke' | 'ok' | 'fail' | 'info';

/** A process identifier: Jepsen uses integers, other recorders use names. */
export type ProcessId = number | string;

/**
 * One event of a history. `value` is the operation's argument on `invoke` and its result on
 * completion (`ok`, `fail`, `info`), as in Jepsen: a read invokes with `null` and completes with
 * the value it read.
 */
export interface HistoryEvent {
  /** Which process (client) the event belongs to; a process runs one operation at a time. */
  readonly process: ProcessId;
  /** The event type. */
  readonly type: EventType;
  /** The operation's function, such as `read`, `write`, `cas`, `get`, `append`. */
  readonly f: string;
  /** Argument (on invoke) or result (on completion); `null` when there is none. */
  readonly value?: unknown;
  /** The key the operation touches, for keyed models (key-value store). */
  readonly key?: string;
  /**
   * When the event happened, in any monotonic unit. Events without a time are ordered by their
   * position in the history, which is the normal case for recorded logs.
   */
  readonly time?: number;
  /** The 1-based line of the source file the event was read from, for error messages. */
  readonly line?: number;
}

/** How an operation completed. */
export type Status = 'ok' | 'fail' | 'info';

/** An operation: an invocation paired with its completion. */
export interface Operation {
  /** Index of the operation in its history, 0-based, in invocation order. */
  readonly id: number;
  readonly process: ProcessId;
  readonly f: string;
  readonly key?: string;
  /** The invocation's value (the argument). */
  readonly input: unknown;
  /** The completion's value (the result); `null` for an `info` operation. */
  readonly output: unknown;
  readonly status: Status;
  /** Invocation time. */
  readonly call: number;
  /** Completion time; `Infinity` for an indeterminate (`info`) operation, which never returns. */
  readonly ret: number;
  /** Source line of the invocation, when known. */
  readonly line?: number;
}

/** Raised for a history that cannot be read: a bad line, an unmatched completion, a bad value. */
export class HistoryError extends FaultlineError {
  override name = 'HistoryError';
  /** The 1-based line of the input where the problem is, when it comes from a file. */
  readonly line: number | undefined;

  constructor(message: string, line?: number) {
    super('FAULTLINE_HISTORY_INVALID', line === undefined ? message : `line ${line}: ${message}`);
    this.line = line;
  }
}

/** True when `e` is a {@link HistoryError}. */
export function isHistoryError(e: unknown): e is HistoryError {
  return e instanceof HistoryError;
}

const eventTypes: ReadonlySet<string> = new Set(['invoke', 'ok', 'fail', 'info']);

/** Checks the shape of one event; throws a {@link HistoryError} naming its line or index. */
export function validateEvent(
  event: unknown,
  where: { line?: number; index: number },
): HistoryEvent {
  const at = where.line;
  const fail = (msg: string): never => {
    throw new HistoryError(at === undefined ? `event ${where.index}: ${msg}` : msg, at);
  };
  if (typeof event !== 'object' || event === null || Array.isArray(event))
    fail('an event must be an object');
  const e = event as Record<string, unknown>;
  const p = e['process'];
  if (!(typeof p === 'string' || (typeof p === 'number' && Number.isFinite(p)))) {
    fail(`process must be a number or a string (got ${JSON.stringify(p)})`);
  }
  if (typeof e['type'] !== 'string' || !eventTypes.has(e['type'])) {
    fail(`type must be invoke, ok, fail or info (got ${JSON.stringify(e['type'])})`);
  }
  if (typeof e['f'] !== 'string' || e['f'].length === 0)
    fail(`f must be a non-empty string (got ${JSON.stringify(e['f'])})`);
  if (e['key'] !== undefined && typeof e['key'] !== 'string') fail('key must be a string');
  const time = e['time'];
  if (time !== undefined && (typeof time !== 'number' || !Number.isFinite(time)))
    fail('time must be a finite number');
  return event as HistoryEvent;
}

interface Pending {
  readonly event: HistoryEvent;
  readonly id: number;
  readonly call: number;
}

/**
 * Pairs the events of a history into operations. Every completion must follow an invocation of the
 * same process and function; a process invokes one operation at a time. An invocation that never
 * completes is indeterminate, like an `info` completion. Times default to event positions; when
 * events carry `time`, it must not decrease.
 *
 * @example
 * const ops = toOperations([
 *   { process: 0, type: 'invoke', f: 'write', value: 1 },
 *   { process: 0, type: 'ok', f: 'write', value: 1 },
 * ]);
 */
export function toOperations(events: readonly HistoryEvent[]): Operation[] {
  const pending = new Map<ProcessId, Pending>();
  const ops: (Operation | undefined)[] = [];
  let lastTime = -Infinity;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as HistoryEvent;
    const time = event.time ?? i;
    if (time < lastTime)
      throw new HistoryError(`time ${time} goes backwards (previous ${lastTime})`, event.line);
    lastTime = time;
    const open = pending.get(event.process);
    if (event.type === 'invoke') {
      if (open !== undefined) {
        throw new HistoryError(
          `process ${String(event.process)} invokes while its ${open.event.f} is pending`,
          event.line,
        );
      }
      pending.set(event.process, { event, id: ops.length, call: time });
      ops.push(undefined);
      continue;
    }
    if (open === undefined) {
      throw new HistoryError(
        `${event.type} ${event.f} of process ${String(event.process)} has no invocation`,
        event.line,
      );
    }
    if (open.event.f !== event.f) {
      throw new HistoryError(
        `${event.type} ${event.f} completes an invocation of ${open.event.f}`,
        event.line,
      );
    }
    pending.delete(event.process);
    const ret = event.type === 'info' ? Infinity : time;
    ops[open.id] = makeOperation(
      open,
      event.type,
      event.type === 'info' ? null : (event.value ?? null),
      ret,
    );
  }
  for (const open of pending.values()) ops[open.id] = makeOperation(open, 'info', null, Infinity);
  return ops as Operation[];
}

function makeOperation(open: Pending, status: Status, output: unknown, ret: number): Operation {
  const e = open.event;
  const op: { -readonly [K in keyof Operation]: Operation[K] } = {
    id: open.id,
    process: e.process,
    f: e.f,
    input: e.value ?? null,
    output,
    status,
    call: open.call,
    ret,
  };
  if (e.key !== undefined) op.key = e.key;
  if (e.line !== undefined) op.line = e.line;
  return op;
}

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

/**
 * A process identifier: Jepsen uses integers, other recorders use names. Integers a double cannot
 * hold exactly (beyond 2^53) are `bigint`s, so two different processes never share an id.
 */
export type ProcessId = number | string | bigint;

/**
 * How deeply values may nest (arrays, objects, sets, maps) in a history: the readers and
 * {@link validateEvent} reject deeper ones with a {@link HistoryError}, so that nothing downstream
 * (hashing, equality, reports) recurses deeper than this.
 */
export const maxValueDepth = 100;

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
   * position in the history, which is the normal case for recorded logs. A `bigint` keeps a
   * timestamp beyond 2^53 (nanoseconds since the epoch) exact.
   */
  readonly time?: number | bigint;
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
const statuses: ReadonlySet<string> = new Set(['ok', 'fail', 'info']);

/** Shows a value in an error message, briefly, whatever it is. */
function brief(value: unknown): string {
  if (typeof value === 'bigint') return `${value}`;
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object' && value !== null)
    return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

function isProcessId(p: unknown): p is ProcessId {
  return (
    typeof p === 'string' || typeof p === 'bigint' || (typeof p === 'number' && Number.isFinite(p))
  );
}

/**
 * What is wrong with a history value, or `undefined` when nothing is: values are null, booleans,
 * numbers, bigints, strings, and arrays, plain objects, Sets and Maps of values, acyclic and at
 * most {@link maxValueDepth} deep. Walks the value with an explicit stack, never recursing.
 */
export function valueProblem(value: unknown): string | undefined {
  const onPath = new Set<object>();
  const todo: { v: unknown; depth: number; leave: boolean }[] = [
    { v: value, depth: 0, leave: false },
  ];
  for (let item = todo.pop(); item !== undefined; item = todo.pop()) {
    const { v, depth } = item;
    if (item.leave) {
      onPath.delete(v as object);
      continue;
    }
    if (typeof v === 'function' || typeof v === 'symbol') return `a ${typeof v} is not a value`;
    if (typeof v !== 'object' || v === null) continue;
    if (onPath.has(v)) return 'the value is cyclic (it contains itself)';
    if (depth >= maxValueDepth) return `the value is nested deeper than ${maxValueDepth} levels`;
    onPath.add(v);
    todo.push({ v, depth, leave: true });
    const children =
      v instanceof Map
        ? [...v.keys(), ...v.values()]
        : v instanceof Set
          ? [...v]
          : Array.isArray(v)
            ? v
            : Object.values(v);
    for (const child of children) todo.push({ v: child, depth: depth + 1, leave: false });
  }
  return undefined;
}

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
  if (!isProcessId(e['process']))
    fail(`process must be a number or a string (got ${brief(e['process'])})`);
  if (typeof e['type'] !== 'string' || !eventTypes.has(e['type'])) {
    fail(`type must be invoke, ok, fail or info (got ${brief(e['type'])})`);
  }
  if (typeof e['f'] !== 'string' || e['f'].length === 0)
    fail(`f must be a non-empty string (got ${brief(e['f'])})`);
  if (e['key'] !== undefined && typeof e['key'] !== 'string') fail('key must be a string');
  const time = e['time'];
  if (
    time !== undefined &&
    typeof time !== 'bigint' &&
    (typeof time !== 'number' || !Number.isFinite(time))
  )
    fail(`time must be a finite number (got ${brief(time)})`);
  const problem = valueProblem(e['value']);
  if (problem !== undefined) fail(`value: ${problem}`);
  return event as HistoryEvent;
}

/**
 * Checks the shape of one operation passed to the checker directly; throws a {@link HistoryError}
 * naming its index.
 */
export function validateOperation(op: unknown, index: number): Operation {
  const fail = (msg: string): never => {
    throw new HistoryError(`operation ${index}: ${msg}`);
  };
  if (typeof op !== 'object' || op === null || Array.isArray(op))
    fail('an operation must be an object');
  const o = op as Record<string, unknown>;
  if (!Number.isSafeInteger(o['id'])) fail(`id must be an integer (got ${brief(o['id'])})`);
  if (!isProcessId(o['process']))
    fail(`process must be a number or a string (got ${brief(o['process'])})`);
  if (typeof o['f'] !== 'string' || o['f'].length === 0)
    fail(`f must be a non-empty string (got ${brief(o['f'])})`);
  if (typeof o['status'] !== 'string' || !statuses.has(o['status']))
    fail(`status must be ok, fail or info (got ${brief(o['status'])})`);
  if (o['key'] !== undefined && typeof o['key'] !== 'string') fail('key must be a string');
  const call = o['call'];
  const ret = o['ret'];
  if (typeof call !== 'number' || !Number.isFinite(call))
    fail(`call must be a finite number (got ${brief(call)})`);
  if (typeof ret !== 'number' || Number.isNaN(ret) || (ret as number) < (call as number))
    fail(`ret must be a number >= call (got ${brief(ret)})`);
  for (const field of ['input', 'output'] as const) {
    const problem = valueProblem(o[field]);
    if (problem !== undefined) fail(`${field}: ${problem}`);
  }
  return op as Operation;
}

/**
 * The time of each event as a number. Times that are `bigint`s (beyond 2^53) become their dense
 * rank among all the history's times: only their order matters to the checker, and ranks keep it
 * exactly, ties included.
 */
function eventTimes(events: readonly HistoryEvent[]): number[] {
  const raw = events.map((e, i) => e.time ?? i);
  if (!raw.some((t) => typeof t === 'bigint')) return raw as number[];
  const sorted = [...new Set(raw)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const rank = new Map<number | bigint, number>();
  let r = -1;
  let previous: number | bigint | undefined;
  for (const t of sorted) {
    // 5 and 5n are the same instant; a Set keeps both, so ties are merged here.
    if (previous === undefined || previous < t) r++;
    rank.set(t, r);
    previous = t;
  }
  return raw.map((t) => rank.get(t) as number);
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
  if (!Array.isArray(events))
    throw new HistoryError(`a history must be an array of events (got ${brief(events)})`);
  events.forEach((event, index) =>
    validateEvent(event, event?.line === undefined ? { index } : { line: event.line, index }),
  );
  const times = eventTimes(events);
  const pending = new Map<ProcessId, Pending>();
  const ops: (Operation | undefined)[] = [];
  let lastTime = -Infinity;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as HistoryEvent;
    const time = times[i] as number;
    if (time < lastTime)
      throw new HistoryError(
        `time ${String(event.time)} goes backwards (previous ${String(events[i - 1]?.time)})`,
        event.line,
      );
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

/**
 * Operations as the model sees them and as people read them, shared by the checker, the text
 * report, the HTML visualisation and the command line.
 *
 * @module
 */
import type { Operation } from './history.js';
import type { Model, ModelInput, ModelOutput } from './model.js';

/**
 * A value as JSON-like text; unlike `JSON.stringify` it shows `bigint`s (as their digits), Sets
 * and Maps, and never throws. Values from the readers are at most `maxValueDepth` deep.
 *
 * @example
 * showValue({ a: [1, 9007199254740993n] }); // '{"a":[1,9007199254740993]}'
 */
export function showValue(value: unknown): string {
  switch (typeof value) {
    case 'bigint':
      return `${value}`;
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : `"${value}"`;
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map(showValue).join(',')}]`;
      if (value instanceof Set) return `#{${[...value].map(showValue).join(',')}}`;
      if (value instanceof Map)
        return `{${[...value].map(([k, v]) => `${showValue(k)}:${showValue(v)}`).join(',')}}`;
      return `{${Object.entries(value)
        .map(([k, v]) => `${JSON.stringify(k)}:${showValue(v)}`)
        .join(',')}}`;
    default:
      return String(value);
  }
}

/** The model input of an operation: its function, process, key and argument. */
export function inputOf(op: Operation): ModelInput {
  return op.key === undefined
    ? { f: op.f, process: op.process, value: op.input }
    : { f: op.f, process: op.process, key: op.key, value: op.input };
}

/** The model output of an operation: its status and result. */
export function outputOf(op: Operation): ModelOutput {
  return { status: op.status, value: op.output };
}

/**
 * One operation in words, through the model's `describe.operation` when it has one, else as
 * `f key input → output` (`?` for an indeterminate result).
 */
export function operationText<S>(model: Model<S>, op: Operation): string {
  const custom = model.describe?.operation;
  if (custom !== undefined) return custom(inputOf(op), outputOf(op));
  const key = op.key === undefined ? '' : ` ${op.key}`;
  const output = op.status === 'info' ? '?' : showValue(op.output);
  return `${op.f}${key} ${showValue(op.input)} → ${output}`;
}

/**
 * The model state (as text) after each operation of `order`, replayed from the initial state;
 * a keyed state is prefixed by its key. Partitions of `all` are replayed separately, since a
 * sequential-consistency counterexample spans all of them. A step the model rejects keeps the
 * previous state and shows it marked `(illegal)`.
 */
export function statesAlong<S>(
  model: Model<S>,
  all: readonly Operation[],
  order: readonly Operation[],
): string[] {
  const show = model.describe?.state ?? ((s: S) => showValue(s));
  const partOf = new Map<Operation, number>();
  (model.partition?.(all) ?? [all]).forEach((part, i) => part.forEach((op) => partOf.set(op, i)));
  const states = new Map<number, S>();
  return order.map((op) => {
    const part = partOf.get(op) ?? 0;
    const state = states.get(part) ?? model.init();
    const result = model.step(state, inputOf(op), outputOf(op));
    const next = result.ok ? result.next : state;
    states.set(part, next);
    const text = result.ok ? show(next) : `${show(next)} (illegal)`;
    return op.key === undefined ? text : `${op.key}: ${text}`;
  });
}

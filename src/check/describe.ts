/**
 * Operations as the model sees them and as people read them, shared by the checker, the text
 * report, the HTML visualisation and the command line.
 *
 * @module
 */
import type { Operation } from './history.js';
import type { Model, ModelInput, ModelOutput } from './model.js';

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
  const output = op.status === 'info' ? '?' : JSON.stringify(op.output);
  return `${op.f}${key} ${JSON.stringify(op.input)} → ${output}`;
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
  const show = model.describe?.state ?? ((s: S) => JSON.stringify(s) ?? String(s));
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

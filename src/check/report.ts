/**
 * Plain-text explanation of a verdict, for test failure messages and command-line output: the
 * verdict, and for an illegal history the end of the partial linearization with the model state
 * after each step, then the operation that could not be placed.
 *
 * @module
 */
import { integerIn } from '../core/validate.js';
import type { CheckResult } from './checker.js';
import type { Operation } from './history.js';
import { operationText, statesAlong } from './describe.js';
import type { Model } from './model.js';

/** Options of {@link explainResult}. */
export interface ExplainOptions {
  /**
   * Steps of the partial linearization shown, counted from its end, where the violation is
   * (default 20). More shows more context and longer messages.
   */
  readonly maxSteps?: number;
  /** Extra text per operation, such as its virtual time (default none). */
  readonly annotate?: (op: Operation) => string;
}

function describeOp<S>(
  model: Model<S>,
  op: Operation,
  annotate: ExplainOptions['annotate'],
): string {
  const text = operationText(model, op);
  const extra = annotate === undefined ? '' : ` ${annotate(op)}`;
  return `#${op.id} process ${String(op.process)}: ${text}${extra}`;
}

/**
 * Explains a verdict in a few lines of text.
 *
 * @example
 * const result = check(history, register());
 * if (result.kind !== 'legal') throw new Error(`seed ${seed}: ${explainResult(result, register())}`);
 */
export function explainResult<S>(
  result: CheckResult,
  model: Model<S>,
  options: ExplainOptions = {},
): string {
  const maxSteps = integerIn('maxSteps', options.maxSteps ?? 20, 0, 1_000_000);
  const name = result.criterion === 'linearizable' ? 'linearizable' : 'sequentially consistent';
  const parts = `${result.partitions} partition${result.partitions === 1 ? '' : 's'}`;
  const head = `${model.name}, ${result.operations} operations, ${parts}`;
  if (result.kind === 'legal') return `${name} (${head})`;
  if (result.kind === 'unknown') return `unknown: ${result.reason} (${head})`;
  const cx = result.counterexample;
  const lines = [`NOT ${name} (${head})`];
  const shown = cx.linearized.slice(Math.max(0, cx.linearized.length - maxSteps));
  const first = cx.linearized.length - shown.length;
  lines.push(
    `  partial linearization: ${cx.linearized.length} of ${cx.operations.length} operations of partition ${cx.partition}` +
      (first > 0 ? ` (last ${shown.length} shown)` : ''),
  );
  const states = statesAlong(model, cx.operations, cx.linearized).slice(first);
  shown.forEach((op, i) => {
    const step = String(first + i + 1).padStart(5);
    lines.push(`  ${step}. ${describeOp(model, op, options.annotate)}  ⇒ ${states[i] ?? '?'}`);
  });
  if (cx.failing !== undefined)
    lines.push(`  cannot place: ${describeOp(model, cx.failing, options.annotate)}`);
  for (const op of cx.pending.slice(0, 5))
    lines.push(`  nor:          ${describeOp(model, op, options.annotate)}`);
  return lines.join('\n');
}

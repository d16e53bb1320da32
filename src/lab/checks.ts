/**
 * Checkers the lab's scenarios share: a linearizability (or sequential consistency) verdict on a
 * simulated history, turned into the lab's evidence.
 *
 * @module
 */
import { check } from '../check/checker.js';
import type { CheckResult, Criterion } from '../check/checker.js';
import { operationText } from '../check/describe.js';
import type { Operation } from '../check/history.js';
import type { Model } from '../check/model.js';
import type { History, OpEvent } from '../sim/history.js';
import type { Evidence } from './types.js';

/** A checker's verdict on a history, with the lab's evidence when it is violated. */
export interface HistoryVerdict {
  readonly violated: boolean;
  readonly evidence?: Evidence;
  readonly result: CheckResult;
}

/** Upper bound on the checker's work per run, so that no seed can hang the lab. */
const CHECK_TIMEOUT_MS = 10_000;

/**
 * Checks a simulation's `recorded` history against `model` under `criterion` (default
 * linearizable). `unknown` (the search gave up) counts as violated: the lab must never claim a
 * property it did not prove. The evidence points at the trace's `op` event of the failing
 * operation's invocation, so the page and `--seed` can show where it happened.
 */
export function historyVerdict<S>(
  recorded: History,
  model: Model<S>,
  criterion: Criterion = 'linearizable',
): HistoryVerdict {
  const history = recorded.ops;
  const result = check(history, model, { criterion, timeoutMs: CHECK_TIMEOUT_MS });
  switch (result.kind) {
    case 'legal':
      return { violated: false, result };
    case 'unknown':
      return {
        violated: true,
        result,
        evidence: { timeMs: lastTime(history), summary: `the checker gave up (${result.reason})` },
      };
    case 'illegal': {
      const { failing, linearized } = result.counterexample;
      const text = (op: Operation): string => describe(model, op, history);
      const before = linearized.slice(-2).map(text);
      const operations = failing === undefined ? before : [...before, text(failing)];
      const timeMs = failing === undefined ? lastTime(history) : timeOf(history, failing.call);
      const traceIndex = failing === undefined ? undefined : recorded.traceIndexOf(failing.call);
      const what = criterion === 'linearizable' ? 'linearizable' : 'sequentially consistent';
      return {
        violated: true,
        result,
        evidence: {
          timeMs,
          summary:
            failing === undefined
              ? `the history is not ${what}`
              : `not ${what}: ${text(failing)} cannot follow any legal order of the operations before it`,
          ...(failing === undefined ? {} : { node: String(failing.process) }),
          ...(traceIndex === undefined ? {} : { traceIndex }),
          operations,
        },
      };
    }
  }
}

function describe<S>(model: Model<S>, op: Operation, history: readonly OpEvent[]): string {
  const end = Number.isFinite(op.ret) ? `${timeOf(history, op.ret).toFixed(1)}` : '…';
  return `${String(op.process)} ${operationText(model, op)} [${timeOf(history, op.call).toFixed(1)} .. ${end} ms]`;
}

/** History positions are what the checker calls times; map them back to virtual ms. */
function timeOf(history: readonly OpEvent[], position: number): number {
  return history[position]?.timeMs ?? lastTime(history);
}

function lastTime(history: readonly OpEvent[]): number {
  return history[history.length - 1]?.timeMs ?? 0;
}

/** The p-th percentile (0..100) of `values` by the nearest-rank method; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? 0;
}

/**
 * What the lab's Raft scenarios share: one run of the Raft cluster in the lab's traced simulation,
 * judged by the Raft safety checker (noted on the trace the moment it fires) and by the
 * linearizability checker on the client history.
 *
 * @module
 */
import { raftKvModel } from '../../protocols/raft/kv.js';
import { runRaftSim } from '../../protocols/raft/sim.js';
import type { RaftSimOptions, RaftSimResult } from '../../protocols/raft/sim.js';
import type { OpEvent } from '../../sim/history.js';
import type { NetworkOptions } from '../../sim/network.js';
import type { Simulation } from '../../sim/simulation.js';
import { check } from '../../check/checker.js';
import type { CheckResult } from '../../check/checker.js';
import { operationText } from '../../check/describe.js';
import type { Evidence, LabContext } from '../types.js';

/** Upper bound on the checker's work per run, so that no seed can hang the lab. */
const CHECK_TIMEOUT_MS = 10_000;

/** A judged run. */
export interface RaftLabRun {
  readonly run: RaftSimResult;
  /** The first violation: of a safety invariant, else of linearizability; undefined when safe. */
  readonly evidence: Evidence | undefined;
  /** 1 when the client history is linearizable, else 0. */
  readonly linearizable: number;
}

/**
 * The evidence of a key-value history the linearizability checker did not accept (undefined when
 * it did): the failing operation and its event in the trace, else a note now.
 */
export function historyEvidence(
  context: LabContext,
  sim: Simulation,
  history: readonly OpEvent[],
  verdict: CheckResult,
): Evidence | undefined {
  if (verdict.kind === 'legal') return undefined;
  const failing = verdict.kind === 'illegal' ? verdict.counterexample.failing : undefined;
  const what =
    failing === undefined
      ? verdict.kind === 'illegal'
        ? 'the history is not linearizable'
        : 'the linearizability checker gave up'
      : `not linearizable: ${String(failing.process)} ${operationText(raftKvModel(), failing)} cannot follow any legal order of the operations before it`;
  const at = failing === undefined ? undefined : history[failing.call];
  const node = failing === undefined ? 'n1' : String(failing.process);
  return {
    timeMs: failing === undefined ? sim.nowMs : (at?.timeMs ?? sim.nowMs),
    summary: what,
    node,
    // The failing operation's own event in the trace (its invocation), else a note now.
    traceIndex:
      (failing === undefined ? undefined : sim.history.traceIndexOf(failing.call)) ??
      context.note(node, what),
    operations: [what],
  };
}

/** Runs Raft in the lab's simulation with `options` and judges it. */
export async function runRaftLab(
  context: LabContext,
  options: Omit<RaftSimOptions, 'seed' | 'simulation' | 'note' | 'onViolation' | 'network'>,
  network: NetworkOptions = { latency: { kind: 'uniform', minMs: 1, maxMs: 10 } },
): Promise<RaftLabRun> {
  const sim = context.simulation({ network });
  let first: Evidence | undefined;
  const run = await runRaftSim({
    ...options,
    seed: context.seed,
    simulation: sim,
    note: (node, text) => void context.note(node, text),
    onViolation: (v) => {
      if (first !== undefined) return;
      const traceIndex = context.note(v.node, `${v.property} violated: ${v.summary}`);
      first = {
        timeMs: v.timeMs,
        summary: `${v.property}: ${v.summary}`,
        node: v.node,
        traceIndex,
        operations: [v.summary],
      };
    },
  });
  const model = raftKvModel();
  const verdict = check(run.history, model, { timeoutMs: CHECK_TIMEOUT_MS });
  const evidence = first ?? historyEvidence(context, sim, run.history, verdict);
  const linearizable = verdict.kind === 'legal' ? 1 : 0;
  return { run, evidence, linearizable };
}

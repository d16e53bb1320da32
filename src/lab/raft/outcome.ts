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
import type { NetworkOptions } from '../../sim/network.js';
import { historyVerdict } from '../checks.js';
import type { Evidence, LabContext } from '../types.js';

/** A judged run. */
export interface RaftLabRun {
  readonly run: RaftSimResult;
  /** The first violation: of a safety invariant, else of linearizability; undefined when safe. */
  readonly evidence: Evidence | undefined;
  /** 1 when the client history is linearizable, else 0. */
  readonly linearizable: number;
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
  const verdict = historyVerdict(run.history, raftKvModel());
  let evidence = first;
  if (evidence === undefined && verdict.evidence !== undefined) {
    const node = verdict.evidence.node ?? 'n1';
    const traceIndex = context.note(
      node,
      `not linearizable: ${verdict.evidence.operations?.at(-1) ?? ''}`,
    );
    evidence = { ...verdict.evidence, traceIndex };
  }
  return { run, evidence, linearizable: verdict.violated ? 0 : 1 };
}

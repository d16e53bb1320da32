/**
 * Raft as a {@link ProtocolSim}: `faultline sim raft --seeds N --variant NAME --nodes 5`. Each
 * seed runs a cluster serving the replicated key-value store under the Raft-aware nemesis; a
 * seed violates when a safety property of the checker breaks or the client history is not
 * linearizable (or the checker gives up: nothing unproven counts as safe).
 *
 * @module
 */
import { check } from '../../check/checker.js';
import type { ProtocolRunResult, ProtocolSim } from '../contract.js';
import { raftKvModel } from './kv.js';
import { raftVariants, runRaftSim } from './sim.js';
import type { RaftVariant } from './sim.js';

/** Upper bound on the linearizability check of one seed's history. */
const CHECK_TIMEOUT_MS = 10_000;

/** Runs one seed of one variant and judges it. */
export async function runRaftSeed(
  seed: number,
  variant: RaftVariant,
  nodes?: number,
): Promise<ProtocolRunResult> {
  const run = await runRaftSim({ seed, variant, ...(nodes === undefined ? {} : { nodes }) });
  const verdict = check(run.history, raftKvModel(), { timeoutMs: CHECK_TIMEOUT_MS });
  const history =
    verdict.kind === 'legal'
      ? 'linearizable'
      : verdict.kind === 'illegal'
        ? 'not-linearizable'
        : 'unknown';
  const first = run.violations[0];
  const linearizable = verdict.kind === 'legal';
  const failing = verdict.kind === 'illegal' ? verdict.counterexample.failing : undefined;
  const firstViolation =
    first !== undefined
      ? { timeMs: first.timeMs, summary: `${first.property}: ${first.summary}` }
      : linearizable
        ? undefined
        : {
            timeMs: failing === undefined ? 0 : (run.rawHistory[failing.call]?.timeMs ?? 0),
            summary:
              verdict.kind === 'illegal'
                ? 'the client history is not linearizable'
                : 'the linearizability checker gave up',
          };
  return {
    violations: run.violationCount + (linearizable ? 0 : 1),
    ...(firstViolation === undefined ? {} : { firstViolation }),
    figures: {
      operations: verdict.operations,
      elections: run.elections,
      committed: run.committed,
      events: run.events,
    },
    history,
  };
}

/** `faultline sim raft`. */
export const raftProtocol: ProtocolSim = {
  name: 'raft',
  summary:
    'Raft serving a replicated key-value store under a Raft-aware nemesis: safety invariants + linearizability',
  variants: raftVariants,
  nodes: { min: 1, max: 9, default: 5 },
  run: ({ seed, variant, nodes }) => runRaftSeed(seed, variant as RaftVariant, nodes),
};

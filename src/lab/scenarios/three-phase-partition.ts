/**
 * Three-phase commit under a network partition: the coordinator's PreCommit reaches one
 * participant and a partition cuts the other two off before theirs arrives. 3PC's timeout rule
 * makes each side decide alone — the pre-committed side commits, the uncertain side aborts — and
 * the transaction is decided both ways. 2PC's rule (a participant that voted yes waits for the
 * coordinator, presumed abort) blocks the cut-off side until the partition heals, and stays atomic.
 *
 * @module
 */
import type { ThreePhaseTermination } from '../../txn/three-phase.js';
import { PARTICIPANTS, runThreePhase } from '../txn/three-phase-sim.js';
import type { LabContext, Scenario, VariantOutcome } from '../types.js';

const WORKLOAD_MS = 1_000;
const HORIZON_MS = 1_600;

async function run(
  context: LabContext,
  termination: ThreePhaseTermination,
): Promise<VariantOutcome> {
  const sim = context.simulation({ network: { latency: { kind: 'uniform', minMs: 1, maxMs: 5 } } });
  const random = sim.random.fork('three-phase-partition');
  const outcome = await runThreePhase({
    sim,
    termination,
    noVoteProbability: 0.05,
    workloadMs: WORKLOAD_MS,
    horizonMs: HORIZON_MS,
    targeted: {
      kind: 'partition-at-pre-commit',
      txn: 3 + random.int(10),
      durationMs: context.knobs['partitionMs'] ?? 300,
    },
    note: (node, text) => context.note(node, text),
  });
  const figures = {
    inconsistentTxns: outcome.inconsistent,
    blockedMaxMs: outcome.blockedMaxMs,
    committed: outcome.committed,
    transactions: outcome.transactions,
    undecidedLeft: outcome.undecidedLeft,
  };
  const b = outcome.breach;
  if (b === undefined) return { violated: false, figures };
  return {
    violated: true,
    evidence: {
      timeMs: b.timeMs,
      summary: `transaction ${b.txn} committed at ${b.committedAt.join(', ')} and aborted at ${b.abortedAt.join(', ')}`,
      node: b.abortedAt[b.abortedAt.length - 1] ?? PARTICIPANTS[1],
      traceIndex: b.traceIndex,
      operations: [
        `transaction ${b.txn} committed at ${b.committedAt.join(', ')}`,
        `transaction ${b.txn} aborted at ${b.abortedAt.join(', ')}`,
      ],
    },
    figures,
  };
}

/** The three-phase-commit partition scenario. */
export const threePhasePartition: Scenario = {
  name: 'three-phase-partition',
  title: '3PC under a partition (inconsistent decision)',
  problem:
    'Three-phase commit lets a participant that voted yes decide alone on a timeout: commit if it ' +
    'got the PreCommit, abort if not. That is sound when sites crash, but a partition that cuts ' +
    'the PreCommit off from some participants leaves each side deciding differently: the ' +
    'transaction commits on one side of the partition and aborts on the other.',
  reference:
    'Skeen, “Nonblocking commit protocols” (SIGMOD 1981); Bernstein, Hadzilacos & Goodman, ' +
    'Concurrency Control and Recovery in Database Systems (1987), ch. 7; Keidar & Dolev, ' +
    '“Increasing the resilience of atomic commit, at no additional cost” (PODS 1995)',
  property:
    'Atomicity: no transaction is committed at one node and aborted at another (every decision of ' +
    'the coordinator and the participants is recorded outside the machines).',
  api: [
    "import { ThreePhaseCoordinator, ThreePhaseParticipant } from 'faultline/txn';",
    "const p = new ThreePhaseParticipant({ id: 'p2', coordinator: 'c', termination: 'blocking' }, saved);",
    '// drive it with tick()/step(); send ready().messages after persisting ready().persist',
  ].join('\n'),
  figures: [
    {
      name: 'inconsistentTxns',
      label: 'transactions committed on one side, aborted on the other',
      unit: 'txns',
      better: 'lower',
      key: true,
    },
    {
      name: 'blockedMaxMs',
      label: 'longest a participant waited after voting yes',
      unit: 'ms',
      better: 'lower',
      key: true,
    },
    { name: 'committed', label: 'transactions committed', unit: 'txns', better: 'higher' },
    { name: 'transactions', label: 'transactions started', unit: 'txns', better: 'none' },
    {
      name: 'undecidedLeft',
      label: 'participants undecided at the end',
      unit: '',
      better: 'lower',
    },
  ],
  knobs: [
    {
      name: 'partitionMs',
      label: 'partition lasts',
      min: 50,
      max: 500,
      step: 10,
      default: 300,
      unit: 'ms',
    },
  ],
  variants: {
    unsafe: {
      summary:
        '3PC with its timeout rule: a participant pre-committed commits on timeout, an uncertain one aborts.',
      run: (context) => run(context, 'timeout'),
    },
    safe: {
      summary:
        '2PC’s rule over the same messages (presumed abort): a participant that voted yes never decides alone; it asks the coordinator until it answers, blocking through the partition.',
      run: (context) => run(context, 'blocking'),
    },
  },
};

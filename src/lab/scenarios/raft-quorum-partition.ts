/**
 * Leader election under a partition: Raft's majority quorum lets only the side with a majority
 * elect and commit; a quorum smaller than a majority lets both sides do it (split brain).
 *
 * @module
 */
import { runRaftLab } from '../raft/outcome.js';
import type { LabContext, Scenario, VariantOutcome } from '../types.js';

const DURATION_MS = 1000;

async function run(context: LabContext, quorum: number | undefined): Promise<VariantOutcome> {
  const startMs = 300 + (context.seed % 7) * 20;
  const { run, evidence, linearizable } = await runRaftLab(context, {
    nodes: 5,
    durationMs: DURATION_MS,
    raft: { preVote: true, ...(quorum === undefined ? {} : { unsafe: { quorum } }) },
    // Two members against three, for most of the run; clients still reach every member.
    faults: [
      {
        atMs: startMs,
        fault: {
          kind: 'partition',
          groups: [
            ['n1', 'n2'],
            ['n3', 'n4', 'n5'],
          ],
          durationMs: 900,
        },
      },
    ],
  });
  return {
    violated: evidence !== undefined,
    ...(evidence === undefined ? {} : { evidence }),
    figures: {
      leadersAtOnce: run.maxLeadersAtOnce,
      acknowledgedWrites: run.acknowledgedWrites,
      elections: run.elections,
      linearizable,
    },
  };
}

/** The raft-quorum-partition scenario. */
export const raftQuorumPartition: Scenario = {
  name: 'raft-quorum-partition',
  title: 'Raft: leader election under a partition',
  problem:
    'A partition splits five members two against three. If a leader may be elected and writes ' +
    'committed by fewer than a majority, both sides do it: two leaders accept writes at once and ' +
    'the logs diverge. Only quorums that intersect keep one history.',
  reference:
    'Ongaro & Ousterhout, “In Search of an Understandable Consensus Algorithm” (USENIX ATC 2014), ' +
    '§5.2 and §5.4; Lamport, “The Part-Time Parliament”',
  property:
    'Raft’s safety invariants (election safety, log matching, leader completeness, state-machine ' +
    'safety), checked after every step by RaftSafetyChecker, and linearizability of the clients’ ' +
    'key-value history (faultline/check).',
  api: [
    "import { RaftNode } from 'faultline/raft';",
    "const node = new RaftNode({ id: 'n1', voters: ['n1', 'n2', 'n3', 'n4', 'n5'], random });",
    '// Elections and commits need a majority: 3 of 5.',
  ].join('\n'),
  figures: [
    {
      name: 'leadersAtOnce',
      label: 'leaders at once (max)',
      unit: 'nodes',
      better: 'lower',
      key: true,
    },
    { name: 'linearizable', label: 'history linearizable', unit: '', better: 'higher', key: true },
    { name: 'acknowledgedWrites', label: 'writes acknowledged', unit: 'writes', better: 'none' },
    { name: 'elections', label: 'leaders elected', unit: '', better: 'none' },
  ],
  variants: {
    unsafe: {
      summary: 'Two votes (and two replicas) of five count as a quorum: quorums do not intersect.',
      run: (context) => run(context, 2),
    },
    safe: {
      summary: 'Raft: a majority (three of five) for every vote and every commit.',
      run: (context) => run(context, undefined),
    },
  },
};

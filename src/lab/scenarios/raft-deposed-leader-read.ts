/**
 * A stale read from a deposed leader: a leader cut off from the others (and paused, or with a
 * slow clock) keeps answering reads from its own state after a new leader has taken writes.
 * ReadIndex first confirms the leadership with a quorum.
 *
 * @module
 */
import { runRaftLab } from '../raft/outcome.js';
import type { LabContext, Scenario, VariantOutcome } from '../types.js';

async function run(
  context: LabContext,
  variant: 'leader-local-reads' | 'correct',
): Promise<VariantOutcome> {
  const { run, evidence, linearizable } = await runRaftLab(context, {
    variant,
    nodes: 5,
    durationMs: 2000,
    faults: 'nemesis',
    nemesis: ['isolate-and-pause-leader', 'isolate-slow-leader'],
  });
  return {
    violated: evidence !== undefined,
    ...(evidence === undefined ? {} : { evidence }),
    figures: {
      linearizable,
      leadersAtOnce: run.maxLeadersAtOnce,
      elections: run.elections,
      acknowledgedWrites: run.acknowledgedWrites,
    },
  };
}

/** The raft-deposed-leader-read scenario. */
export const raftDeposedLeaderRead: Scenario = {
  name: 'raft-deposed-leader-read',
  title: 'Raft: stale read from a deposed leader',
  problem:
    'A leader that answers reads from its own state assumes it still leads. Cut off from the ' +
    'others and paused (or with a slow clock), it wakes up after a new leader has committed ' +
    'writes and serves reads that miss them.',
  reference:
    'Ongaro, “Consensus: Bridging Theory and Practice” (PhD thesis, 2014), §6.4; etcd-io/raft ' +
    'ReadIndex; Kingsbury, “Jepsen: etcd and Consul” (2014)',
  property:
    'Linearizability of the clients’ key-value history (faultline/check), plus Raft’s safety ' +
    'invariants after every step.',
  api: [
    "node.readIndex('read-17'); // then, from ready():",
    '// readStates: [{ context: "read-17", index }] → serve once applied ≥ index',
  ].join('\n'),
  figures: [
    { name: 'linearizable', label: 'history linearizable', unit: '', better: 'higher', key: true },
    {
      name: 'leadersAtOnce',
      label: 'leaders at once (max)',
      unit: 'nodes',
      better: 'none',
      key: true,
    },
    { name: 'elections', label: 'leaders elected', unit: '', better: 'none' },
    { name: 'acknowledgedWrites', label: 'writes acknowledged', unit: 'writes', better: 'none' },
  ],
  variants: {
    unsafe: {
      summary: 'A member that believes it leads answers reads at once from its applied state.',
      run: (context) => run(context, 'leader-local-reads'),
    },
    safe: {
      summary:
        'ReadIndex: the leader confirms with a quorum of heartbeats that it still leads, then ' +
        'answers once it has applied up to its commit index.',
      run: (context) => run(context, 'correct'),
    },
  },
};

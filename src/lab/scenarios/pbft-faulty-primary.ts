/**
 * PBFT with a faulty primary: four replicas, the primary equivocates (a different request for one
 * replica, backed by its own prepare and commit). With quorums of f + 1 the misled replica commits
 * the other request; with 2f + 1 quorums it cannot, and a view change replaces the primary.
 *
 * @module
 */
import { runPbft } from '../../protocols/byzantine/pbft-sim.js';
import type { PbftVariant } from '../../protocols/byzantine/pbft-sim.js';
import type { LabContext, Scenario, VariantOutcome } from '../types.js';

async function run(context: LabContext, variant: PbftVariant): Promise<VariantOutcome> {
  const sim = context.simulation();
  const outcome = await runPbft(sim, variant, {
    fault: 'equivocate',
    note: (node, text) => context.note(node, text),
  });
  const figures = {
    divergent: outcome.violations.filter((v) =>
      v.summary.startsWith('loyal replicas committed different'),
    ).length,
    allCommittedMs: outcome.allCommittedMs,
    views: outcome.views,
  };
  const first = outcome.violations[0];
  if (first === undefined) return { violated: false, figures };
  return {
    violated: true,
    evidence: {
      timeMs: first.timeMs,
      summary: first.summary,
      operations: [first.summary],
      ...(first.traceIndex === undefined ? {} : { traceIndex: first.traceIndex }),
    },
    figures,
  };
}

/** The pbft-faulty-primary scenario. */
export const pbftFaultyPrimary: Scenario = {
  name: 'pbft-faulty-primary',
  title: 'PBFT with a faulty primary',
  problem:
    'A Byzantine primary assigns one sequence number to different requests for different replicas. ' +
    'Replicas that commit on too small a quorum commit different requests at the same position of the log.',
  reference: 'Castro & Liskov, “Practical Byzantine Fault Tolerance” (OSDI 1999)',
  property:
    'Loyal replicas never commit different requests at one sequence number, and every request is committed by f + 1 loyal replicas after the network heals (checked outside the replicas).',
  standIn:
    'Message authentication is modelled with MACs from a shared keyring; the Byzantine primary is the simulator’s interception of its messages.',
  api: [
    "import { PbftReplica, Keyring } from 'faultline/byzantine';",
    "const replica = new PbftReplica({ id: 'r1', replicas: ['r0', 'r1', 'r2', 'r3'], keyring });",
  ].join('\n'),
  figures: [
    {
      name: 'divergent',
      label: 'sequence numbers with two requests',
      unit: '',
      better: 'lower',
      key: true,
    },
    {
      name: 'allCommittedMs',
      label: 'all requests committed at',
      unit: 'ms',
      better: 'lower',
      key: true,
    },
    { name: 'views', label: 'views', unit: '', better: 'none' },
  ],
  variants: {
    unsafe: {
      summary: 'Replicas prepare and commit on quorums of f + 1 (2 of 4).',
      run: (context) => run(context, 'small-quorum'),
    },
    safe: {
      summary: 'PBFT: quorums of 2f + 1 (3 of 4), and a view change when a request waits too long.',
      run: (context) => run(context, 'correct'),
    },
  },
};

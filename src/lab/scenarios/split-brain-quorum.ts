/**
 * Split brain under a 2 | 3 partition of a five-member cluster with the primary on the minority
 * side: without a quorum check the old primary goes on writing; checking the quorum only when the
 * failure detector reports a peer down goes on writing until then; a lease renewed with a majority
 * makes the old primary stop before anyone can elect a successor, and the storage fences terms.
 *
 * @module
 */
import { runSplitBrain } from '../../protocols/quorum/split-sim.js';
import type { SplitDesign } from '../../protocols/quorum/split-sim.js';
import type { LabContext, Scenario, VariantOutcome } from '../types.js';

/** Runs `design` and turns its outcome into the lab's verdict. */
export async function splitBrainOutcome(
  context: LabContext,
  design: SplitDesign,
  fencedStorage?: boolean,
): Promise<VariantOutcome> {
  const sim = context.simulation();
  const outcome = await runSplitBrain({
    sim,
    design,
    ...(fencedStorage === undefined ? {} : { fencedStorage }),
    note: (node, text) => context.note(node, text),
  });
  const figures = {
    staleWrites: outcome.staleWrites,
    primariesAtOnce: outcome.primariesAtOnce,
    writesAccepted: outcome.writesAccepted,
    writesRejected: outcome.writesRejected,
  };
  const first = outcome.first;
  if (first === undefined) return { violated: false, figures };
  return {
    violated: true,
    evidence: {
      timeMs: first.timeMs,
      summary: first.summary,
      node: 'storage',
      operations: [first.summary],
      ...(first.traceIndex === undefined ? {} : { traceIndex: first.traceIndex }),
    },
    figures,
  };
}

/** The figures the split-brain scenarios report. */
export const splitBrainFigures: Scenario['figures'] = [
  {
    name: 'staleWrites',
    label: 'stale writes accepted',
    unit: 'writes',
    better: 'lower',
    key: true,
  },
  {
    name: 'primariesAtOnce',
    label: 'primaries at once (max)',
    unit: 'nodes',
    better: 'lower',
    key: true,
  },
  { name: 'writesAccepted', label: 'writes accepted', unit: 'writes', better: 'none' },
  { name: 'writesRejected', label: 'writes rejected (fenced)', unit: 'writes', better: 'none' },
];

/** The split-brain-quorum scenario. */
export const splitBrainQuorum: Scenario = {
  name: 'split-brain-quorum',
  title: 'Split brain: no quorum vs majority quorum + fencing',
  problem:
    'A partition leaves the primary of a five-member cluster with one peer; the other three elect ' +
    'a new primary. A primary that does not notice it lost its majority keeps writing, and the ' +
    'storage takes writes from two primaries.',
  reference:
    'Kleppmann, Designing Data-Intensive Applications, ch. 8; etcd’s quorum and lease rules; ' +
    'Ongaro, “Consensus: Bridging Theory and Practice” (2014), §6.4 (leases)',
  property:
    'The storage never accepts a write from a member while another member already acts as primary in a newer term (checked outside the members).',
  api: [
    "import { QuorumMember } from 'faultline/quorum';",
    "const member = new QuorumMember({ id, members, check: 'lease', leaseTicks: 100, random }, saved);",
    'if (member.isPrimary) storage.write(member.term, batch); // storage refuses older terms',
  ].join('\n'),
  figures: splitBrainFigures,
  variants: {
    unsafe: {
      summary: 'The primary never checks its quorum, and the storage takes every write.',
      run: (context) => splitBrainOutcome(context, 'never', false),
    },
    textbook: {
      summary:
        'The primary re-checks its quorum when the failure detector reports a peer down; the storage refuses older terms.',
      why: 'Until the failure detector fires the old primary keeps writing, and the majority side has elected and may not yet have written, so the fenced storage still takes the old term.',
      run: (context) => splitBrainOutcome(context, 'on-event', true),
    },
    safe: {
      summary:
        'The primary holds a lease renewed by a majority and steps down when it runs out; members that acknowledged it vote for nobody else until then; the storage refuses older terms.',
      run: (context) => splitBrainOutcome(context, 'lease', true),
    },
  },
};

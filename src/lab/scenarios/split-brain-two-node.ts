/**
 * A two-node cluster split in two: each node sees its peer fall silent and takes over, so both
 * write to the shared storage. A witness (a third vote that never leads) lets only the side it
 * can reach keep or win a majority.
 *
 * @module
 */
import type { Scenario } from '../types.js';
import { splitBrainFigures, splitBrainOutcome } from './split-brain-quorum.js';

/** The split-brain-two-node scenario. */
export const splitBrainTwoNode: Scenario = {
  name: 'split-brain-two-node',
  title: 'Split brain: a 2-node cluster without and with a witness',
  problem:
    'Two nodes cannot form a majority without each other, so two-node clusters are often set up ' +
    'so that the survivor takes over when its peer is silent. When the link between them breaks ' +
    'rather than a node, both survive and both take over.',
  reference:
    'Pacemaker / corosync two-node clusters (quorum device, fencing); Kleppmann, Designing Data-Intensive Applications, ch. 8',
  property:
    'The shared storage never accepts a write from a node while the other acts as primary in a newer term (checked outside the nodes).',
  api: [
    "import { QuorumMember } from 'faultline/quorum';",
    '// members a and b, plus witness w that votes but never leads',
    "new QuorumMember({ id: 'w', members: ['a', 'b', 'w'], canLead: false, random });",
  ].join('\n'),
  figures: splitBrainFigures,
  variants: {
    unsafe: {
      summary: 'Each node takes over when its peer has been silent for an election timeout.',
      run: (context) => splitBrainOutcome(context, 'two-node'),
    },
    safe: {
      summary:
        'A witness votes: a node leads only with a majority of a, b and the witness, under a lease.',
      run: (context) => splitBrainOutcome(context, 'witness'),
    },
  },
};

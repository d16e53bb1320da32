/**
 * Gossip spread: one update must reach every member of a 30-member cluster over a lossy network,
 * while one member is cut off at the start. Flooding (each member forwards the update once to all
 * the others) is fast and costs N − 1 messages per member, and never repairs what the cut-off
 * member missed; push-pull anti-entropy costs two messages per member per round and converges.
 *
 * @module
 */
import { runGossip } from '../../protocols/gossip/sim.js';
import type { GossipMode } from '../../protocols/gossip/gossip.js';
import type { LabContext, Scenario, VariantOutcome } from '../types.js';

const MEMBERS = 30;
const ROUND_MS = 100;
const ROUNDS = 40;
const CUT_OFF = 'g7';

async function run(context: LabContext, mode: GossipMode): Promise<VariantOutcome> {
  const sim = context.simulation({
    maxNodes: 64,
    network: {
      latency: { kind: 'uniform', minMs: 1, maxMs: 10 },
      lossProbability: (context.knobs['lossPercent'] ?? 10) / 100,
    },
  });
  const isolateMs = context.knobs['isolateMs'] ?? 500;
  const result = runGossip({
    seed: context.seed,
    nodes: MEMBERS,
    mode,
    roundMs: ROUND_MS,
    rounds: ROUNDS,
    extraUpdates: 0,
    simulation: sim,
    ...(isolateMs > 0 ? { isolate: { node: CUT_OFF, untilMs: isolateMs } } : {}),
    onInformed: (node) => void context.note(node, 'holds the update'),
  });
  const missing = MEMBERS - result.informed;
  const figures = {
    missingMembers: missing,
    rounds: result.rounds,
    messagesPerMember: result.messagesPerNode,
  };
  if (missing === 0) return { violated: false, figures };
  const index = context.note(CUT_OFF, `still lacks the update after ${ROUNDS} rounds`);
  return {
    violated: true,
    evidence: {
      timeMs: sim.nowMs,
      node: CUT_OFF,
      traceIndex: index,
      summary: `${missing} of ${MEMBERS} members never received the update: flooding sends each message once and nothing repairs a loss or a member that was cut off.`,
      operations: [
        'g1 creates the update at 0 ms',
        `${CUT_OFF} cut off until ${isolateMs} ms`,
        `${missing} members without it at ${sim.nowMs.toFixed(0)} ms`,
      ],
    },
    figures,
  };
}

/** The gossip-spread scenario. */
export const gossipSpread: Scenario = {
  name: 'gossip-spread',
  title: 'Gossip spread: flooding vs push-pull anti-entropy',
  problem:
    'An update must reach every member of a cluster over a network that loses messages and ' +
    'sometimes cuts a member off. Flooding is fast but costs N − 1 messages per member and repairs ' +
    'nothing; epidemic anti-entropy reaches everyone in about log2 N rounds at a constant cost per round.',
  reference:
    'Demers et al., “Epidemic Algorithms for Replicated Database Maintenance” (PODC 1987); ' +
    'Karp et al., “Randomized Rumor Spreading” (FOCS 2000)',
  property: 'By the end of the run every member holds the update (checked on every member).',
  api: [
    "import { GossipNode } from 'faultline/swim';",
    "const node = new GossipNode({ name, peers, mode: 'push-pull', random });",
    "node.update('config', 'v2');",
    '// every round: node.tick(); per message: node.step(from, msg); send node.ready()',
  ].join('\n'),
  figures: [
    {
      name: 'missingMembers',
      label: 'members without the update',
      unit: 'members',
      better: 'lower',
      key: true,
    },
    {
      name: 'messagesPerMember',
      label: 'messages per member until all had it',
      unit: 'messages',
      better: 'lower',
      key: true,
    },
    { name: 'rounds', label: 'rounds until every member had it', unit: 'rounds', better: 'lower' },
  ],
  knobs: [
    {
      name: 'lossPercent',
      label: 'message loss',
      min: 0,
      max: 40,
      step: 1,
      default: 10,
      unit: '%',
    },
    {
      name: 'isolateMs',
      label: 'one member cut off for',
      min: 0,
      max: 2000,
      step: 100,
      default: 500,
      unit: 'ms',
    },
  ],
  variants: {
    unsafe: {
      summary: 'Flooding: each member forwards a new update once to every other member.',
      run: (context) => run(context, 'flood'),
    },
    safe: {
      summary:
        'Push-pull anti-entropy: every round each member exchanges state with one random peer.',
      run: (context) => run(context, 'push-pull'),
    },
  },
};

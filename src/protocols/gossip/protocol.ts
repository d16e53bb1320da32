/**
 * Gossip as a {@link ProtocolSim}: `faultline sim gossip --seeds N [--nodes N] [--variant V]`.
 * Each seed runs push, pull and push-pull on the same cluster size over a network that loses 10%
 * of messages, measures rounds and messages until one update reaches every member, then makes
 * concurrent updates and checks that every member ends with the newest version of every key.
 *
 * @module
 */
import type { ProtocolRunResult, ProtocolSim } from '../contract.js';
import type { GossipFlaw, GossipMode } from './gossip.js';
import { runGossip } from './sim.js';

const variants = ['correct', 'keep-arrival', 'no-relay'] as const;

const modes: readonly [GossipMode, string][] = [
  ['push', 'Push'],
  ['pull', 'Pull'],
  ['push-pull', 'PushPull'],
];

/** One seed of the three anti-entropy modes. */
export function runGossipSeed(seed: number, flaw: GossipFlaw, nodes: number): ProtocolRunResult {
  const figures: Record<string, number> = {};
  let violations = 0;
  let firstViolation: ProtocolRunResult['firstViolation'];
  for (const [mode, suffix] of modes) {
    const r = runGossip({ seed, nodes, mode, flaw, lossProbability: 0.1 });
    figures[`rounds${suffix}`] = r.rounds;
    figures[`messagesPerNode${suffix}`] = r.messagesPerNode;
    const bad = r.diverged > 0 || r.informed < nodes;
    if (!bad) continue;
    violations++;
    const ex = r.divergedExample;
    firstViolation ??= {
      timeMs: ex?.timeMs ?? 0,
      summary:
        ex === undefined
          ? `${mode}: only ${r.informed} of ${nodes} members got the first update`
          : `${mode}: at the end ${ex.node} does not hold the newest version of ${ex.key} (${r.diverged} members diverged)`,
    };
  }
  return { violations, ...(firstViolation === undefined ? {} : { firstViolation }), figures };
}

/** Push, pull and push-pull anti-entropy under 10% loss. */
export const gossipProtocol: ProtocolSim = {
  name: 'gossip',
  summary: 'push, pull and push-pull gossip under 10% loss: rounds, messages, convergence',
  variants,
  nodes: { min: 2, max: 1000, default: 100 },
  run: async ({ seed, variant, nodes }) =>
    runGossipSeed(seed, (variant === 'correct' ? 'none' : variant) as GossipFlaw, nodes ?? 100),
};

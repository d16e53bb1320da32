/**
 * SWIM as a {@link ProtocolSim}: `faultline sim swim --seeds N [--variant V] [--nodes N]`. Each
 * seed runs a cluster over a lossy network, crashes one member and pauses another (shorter than
 * the suspicion timeout), and checks: incarnations seen never go backwards, the crashed member
 * ends dead in every live view, every running member ends alive in every live view, and a member
 * falsely declared dead ends with a higher incarnation than the one declared (it refuted).
 * False positives themselves are a figure: SWIM makes them rare, not impossible.
 *
 * @module
 */
import { Simulation } from '../../sim/simulation.js';
import type { ProtocolRunResult, ProtocolSim } from '../contract.js';
import { SwimChecker, startSwimCluster } from './sim.js';
import type { SwimFlaw } from './node.js';

const variants = ['correct', 'no-incarnation-check', 'probe-never-times-out', 'no-refute'] as const;

/** The settle time after the last fault, ms: long enough for the longest Lifeguard suspicion. */
const SETTLE_MS = 60_000;

/** One seeded run of SWIM with one crash and one pause. */
export async function runSwimSeed(
  seed: number,
  flaw: SwimFlaw,
  nodes: number,
  lifeguard = true,
): Promise<ProtocolRunResult> {
  const sim = new Simulation({
    seed,
    trace: false,
    network: { latency: { kind: 'uniform', minMs: 1, maxMs: 10 }, lossProbability: 0.01 },
  });
  const random = sim.random.fork('faults');
  const names = Array.from({ length: nodes }, (_, i) => `m${i + 1}`);
  const checker = new SwimChecker();
  const cluster = startSwimCluster({ sim, names, checker, flaw, options: { lifeguard } });
  const crashed = names[1 + random.int(nodes - 1)] as string;
  const paused = names.filter((n) => n !== crashed)[random.int(nodes - 1)] as string;
  const crashAtMs = 3000 + random.int(5000);
  const pauseAtMs = 2000 + random.int(8000);
  const pauseMs = 1000 + random.int(1500);
  sim.scheduler.at(crashAtMs, () => cluster.crash(crashed));
  sim.scheduler.at(pauseAtMs, () => sim.pause(paused, pauseMs));
  const endMs = Math.max(crashAtMs, pauseAtMs + pauseMs) + SETTLE_MS;
  sim.runSync({ untilMs: endMs });
  checker.finalViews(sim.nowMs, cluster.nodes);
  const found = [...checker.violations].sort((a, b) => a.timeMs - b.timeMs);
  const first = found[0];
  return {
    violations: found.length,
    ...(first === undefined
      ? {}
      : { firstViolation: { timeMs: first.timeMs, summary: first.summary } }),
    figures: {
      detectionMs: checker.detectionMs.get(crashed) ?? endMs - crashAtMs,
      convergenceMs: checker.convergenceMs.get(crashed) ?? endMs - crashAtMs,
      falsePositives: checker.falsePositives,
      falseSuspicions: checker.falseSuspicions,
      refutations: checker.refutations,
      messagesPerMemberPerSecond: cluster.messages() / nodes / (endMs / 1000),
    },
  };
}

/** SWIM with Lifeguard under one crash, one pause and 1% loss. */
export const swimProtocol: ProtocolSim = {
  name: 'swim',
  summary: 'SWIM membership with Lifeguard: one crash, one pause, 1% loss; views, incarnations',
  variants,
  nodes: { min: 3, max: 64, default: 8 },
  run: ({ seed, variant, nodes }) =>
    runSwimSeed(seed, (variant === 'correct' ? 'none' : variant) as SwimFlaw, nodes ?? 8),
};

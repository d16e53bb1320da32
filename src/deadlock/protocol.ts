/**
 * Distributed deadlock detection as a {@link ProtocolSim}: `faultline sim deadlock --seeds N
 * [--variant V]`. Each seed runs six workers over three sites, each repeatedly locking two
 * resources in random order, with Chandy–Misra–Haas edge chasing; the checker builds the global
 * wait-for graph and requires every reported cycle to have existed at one instant, no cycle to
 * last longer than 1 s unreported, and every worker to finish. The same seed also runs the
 * workload with ordered acquisition, which must never deadlock.
 *
 * @module
 */
import { Simulation } from '../sim/simulation.js';
import type { ProtocolRunResult, ProtocolSim } from '../protocols/contract.js';
import { runDeadlockWorkload } from './sim.js';
import type { DeadlockDesign } from './sim.js';

const variants = ['correct', 'drop-remote-probes', 'no-detection'] as const;

function simulation(seed: number): Simulation {
  return new Simulation({
    seed,
    trace: false,
    network: { latency: { kind: 'uniform', minMs: 1, maxMs: 10 } },
  });
}

/** One seed of edge chasing (or a broken variant), plus ordered acquisition on the same seed. */
export function runDeadlockSeed(seed: number, variant: string): ProtocolRunResult {
  const design: DeadlockDesign = variant === 'no-detection' ? 'none' : 'edge-chasing';
  const r = runDeadlockWorkload({
    sim: simulation(seed),
    design,
    dropRemoteProbes: variant === 'drop-remote-probes',
  });
  const ordered = runDeadlockWorkload({ sim: simulation(seed), design: 'ordered' });
  const c = r.checker;
  // A release still in flight can close a cycle for a moment even with ordered locks; one that
  // lasts (missed) or leaves a worker blocked would be a real deadlock.
  const orderedStuck = ordered.checker.missed + ordered.unfinishedWorkers;
  const violations = c.phantoms + c.missed + (r.unfinishedWorkers > 0 ? 1 : 0) + orderedStuck;
  const problem =
    c.firstProblem ??
    (r.unfinishedWorkers > 0
      ? { timeMs: 5000, summary: `${r.unfinishedWorkers} workers never finished` }
      : orderedStuck > 0
        ? { timeMs: 0, summary: 'ordered acquisition deadlocked' }
        : undefined);
  const mean =
    c.detectionMs.length === 0
      ? 0
      : c.detectionMs.reduce((a, b) => a + b, 0) / c.detectionMs.length;
  return {
    violations,
    ...(problem === undefined || violations === 0 ? {} : { firstViolation: problem }),
    figures: {
      deadlocks: c.cyclesSeen,
      detected: c.detected,
      phantoms: c.phantoms,
      missed: c.missed,
      detectionMs: mean,
      probeMessages: r.detectorMessages,
      orderedDeadlocks: orderedStuck,
    },
  };
}

/** Chandy–Misra–Haas edge chasing over three simulated sites. */
export const deadlockProtocol: ProtocolSim = {
  name: 'deadlock',
  summary: 'Chandy–Misra–Haas edge chasing over 3 sites, judged against the global wait-for graph',
  variants,
  run: async ({ seed, variant }) => runDeadlockSeed(seed, variant),
};

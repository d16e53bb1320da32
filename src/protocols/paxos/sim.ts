/**
 * Single-decree Paxos in the simulator: the workload both `faultline sim paxos` and the lab run,
 * with the checkers outside the protocol (chosen values, learned values, and a decision once the
 * network heals).
 *
 * @module
 */
import { randomFaultSchedule } from '../../sim/faults.js';
import type { ScheduledFault } from '../../sim/faults.js';
import { Simulation } from '../../sim/simulation.js';
import type { ProtocolSim } from '../contract.js';
import { driveOnNode } from '../drive.js';
import { ChosenChecker } from './checker.js';
import type { PaxosViolation } from './checker.js';
import { PaxosNode } from './single.js';
import type { PaxosDurable, PaxosMessage } from './single.js';

/** The variants of `faultline sim paxos`: `correct` first, then the broken ones. */
export const paxosVariants = ['correct', 'no-durable-promise', 'duelling'] as const;

/** A variant of {@link runPaxos}. */
export type PaxosVariant = (typeof paxosVariants)[number];

/** Options of {@link runPaxos}. */
export interface PaxosRunOptions {
  /** A fresh simulation (the caller owns its seed and tracing). */
  readonly sim: Simulation;
  readonly variant: PaxosVariant;
  /** Acceptors (every node is also a learner); default 5. */
  readonly nodes?: number;
  /** How many nodes propose a value of their own, all at time 0 (default 3). */
  readonly proposers?: number;
  /**
   * `random`: a swarm-testing schedule of partitions, loss, pauses and crashes (with restarts)
   * during the first `faultWindowMs`, plus duplication and reordering throughout; `none`: only
   * latency jitter (the FLP experiment); a list: exactly those faults.
   */
  readonly faults?: 'random' | 'none' | readonly ScheduledFault[];
  /** Per proposer, ticks before its first ballot (default: 0 without faults, random within the window with). */
  readonly startTicks?: readonly number[];
  /** Faults happen before this time; the network heals at its end (default 150). */
  readonly faultWindowMs?: number;
  /** When the run ends and the liveness check is made (default 1,500). */
  readonly horizonMs?: number;
  /** Called when a node learns a value or a violation is found (the lab's trace notes). */
  readonly note?: (node: string, text: string) => number;
}

/** What a run found. */
export interface PaxosRunOutcome {
  readonly violations: readonly PaxosViolation[];
  /** True when a value was chosen and every node learned it by the horizon. */
  readonly decided: boolean;
  /** When the value was chosen (ms), or the horizon when it was not. */
  readonly decisionMs: number;
  /** Distinct values chosen (1 when safe, 0 when nothing was). */
  readonly valuesChosen: number;
  /** Phase-1 attempts (ballots started) over all proposers. */
  readonly ballots: number;
  readonly messages: number;
}

/** The name of node `i` (1-based). */
const nodeName = (i: number): string => `n${i}`;

/** Runs one seeded execution of single-decree Paxos and checks it. */
export async function runPaxos(options: PaxosRunOptions): Promise<PaxosRunOutcome> {
  const { sim, variant, note } = options;
  const n = options.nodes ?? 5;
  const horizonMs = options.horizonMs ?? 1_500;
  const windowMs = options.faultWindowMs ?? 150;
  const names = Array.from({ length: n }, (_, i) => nodeName(i + 1));
  const checker = new ChosenChecker(n, () => sim.nowMs, note && ((s) => note('checker', s)));
  const learned = new Map<string, string>();
  const machines: PaxosNode[] = [];
  let messages = 0;
  let ballotsBefore = 0;
  const faults = options.faults ?? 'random';
  const faulty = faults === 'random';
  // Under faults, proposers start at random times inside the window, so ballots race the faults.
  const startRandom = sim.random.fork('paxos-starts');
  // The worst moments for an acceptor to crash: just after it promised or accepted
  // (buggify-style, within the fault window only). Durable acceptor state survives it.
  const crashRandom = sim.random.fork('paxos-promise-crash');
  const crashSoon = (node: string): void => {
    if (sim.nowMs >= windowMs || crashRandom.next() >= 0.2) return;
    const restartAfterMs = 1 + crashRandom.int(10);
    sim.scheduler.after(crashRandom.next(), () =>
      sim.inject({ kind: 'crash', node, restartAfterMs }),
    );
  };
  const starts = options.startTicks ?? names.map(() => (faulty ? startRandom.int(windowMs) : 0));
  for (const [i, name] of names.entries()) {
    driveOnNode<PaxosMessage, PaxosDurable, PaxosNode>(sim.node(name), {
      create: (saved, random) => {
        const old = machines[i];
        if (old !== undefined) ballotsBefore += old.ballotsStarted;
        const machine = new PaxosNode(
          {
            id: name,
            peers: names,
            random,
            backoff: variant === 'duelling' ? 'none' : 'randomized',
            forgetPromises: variant === 'no-durable-promise',
            ...(i < (options.proposers ?? 3)
              ? { value: `v:${name}`, startTicks: starts[i] ?? 0 }
              : {}),
          },
          saved,
        );
        machines[i] = machine;
        return machine;
      },
      observe: (from, out) => {
        messages++;
        const m = out.message;
        if (faulty && (m.kind === 'promise' || (m.kind === 'accepted' && out.to === from)))
          crashSoon(from);
        if (m.kind === 'accepted' && out.to === from) checker.accepted(from, 0, m.ballot, m.value);
      },
      after: (machine) => {
        const value = machine.learned;
        if (value === undefined || learned.get(name) === value) return;
        learned.set(name, value);
        note?.(name, `learns ${value}`);
        checker.learned(name, 0, value);
      },
    });
  }
  if (faulty) scheduleFaults(sim, names, windowMs);
  else sim.network.configure({ latency: { kind: 'uniform', minMs: 1, maxMs: 10 } });
  if (typeof faults !== 'string') sim.schedule(faults);
  // The machines are synchronous: the fast loop (no promise turns between events) is enough.
  sim.runSync({ untilMs: horizonMs });
  const chosen = checker.chosen(0);
  const decided = chosen !== undefined && names.every((name) => learned.get(name) === chosen.value);
  if (!decided)
    checker.violate(
      chosen === undefined
        ? `no value chosen by ${horizonMs} ms (liveness after the network healed)`
        : `only ${learned.size} of ${n} nodes learned the chosen value by ${horizonMs} ms`,
      [...learned].map(([node, value]) => `${node} learned ${value}`),
    );
  let ballots = ballotsBefore;
  for (const m of machines) ballots += m.ballotsStarted;
  return {
    violations: checker.violations,
    decided,
    valuesChosen: checker.valuesChosen(0),
    decisionMs: chosen?.atMs ?? horizonMs,
    ballots,
    messages,
  };
}

function scheduleFaults(sim: Simulation, names: readonly string[], windowMs: number): void {
  const random = sim.random.fork('paxos-faults');
  sim.network.configure({
    latency: { kind: 'uniform', minMs: 1, maxMs: 10 },
    duplicateProbability: 0.05,
    reorderProbability: 0.1,
  });
  const { faults } = randomFaultSchedule(random, {
    nodes: names,
    durationMs: windowMs,
    kinds: ['partition', 'isolate', 'loss', 'pause', 'crash'],
    maxPerKind: 4,
  });
  // Besides the swarm's faults, a burst of short crashes: acceptors restart from their disk
  // while ballots are in flight, which is where lost durable state shows.
  const crashes = 2 + random.int(7);
  const burst = Array.from({ length: crashes }, () => ({
    atMs: random.int(windowMs),
    fault: { kind: 'crash' as const, node: random.pick(names), restartAfterMs: 1 + random.int(20) },
  })).sort((a, b) => a.atMs - b.atMs);
  // Crashed nodes restart within the window; the network heals at its end (GST).
  sim.schedule(
    [
      ...faults.map((f) =>
        f.fault.kind === 'crash'
          ? {
              atMs: f.atMs,
              fault: { ...f.fault, restartAfterMs: Math.min(30, windowMs - f.atMs) },
            }
          : f,
      ),
      ...burst,
    ].sort((a, b) => a.atMs - b.atMs),
  );
  sim.scheduler.at(windowMs, () => sim.network.recover());
}

/** The FLP experiment's workload: every node proposes at time 0, no faults, a 200 ms horizon. */
export function flpWorkload(
  nodes: number,
): Pick<PaxosRunOptions, 'proposers' | 'faults' | 'horizonMs'> {
  return { proposers: nodes, faults: 'none', horizonMs: FLP_HORIZON_MS };
}

/** The horizon of the FLP experiment, virtual ms. */
export const FLP_HORIZON_MS = 200;

/** What {@link flpExperiment} measured. */
export interface FlpFigures {
  readonly seeds: number;
  /** Seeds that decided by the horizon, as a share in [0, 1]. */
  readonly decidedShare: number;
  /** Decision times of the seeds that decided, ms: percentiles 50, 90, 99 and the maximum. */
  readonly decisionMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
  readonly meanBallots: number;
}

/**
 * Runs the FLP experiment on seeds `1..seeds`: five proposers at once, latency uniform 1–10 ms,
 * with back-off `none` (duelling) or `randomized` (partial synchrony).
 */
export async function flpExperiment(
  backoff: 'none' | 'randomized',
  seeds: number,
): Promise<FlpFigures> {
  const times: number[] = [];
  let ballots = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const sim = new Simulation({ seed, trace: false });
    const outcome = await runPaxos({
      sim,
      variant: backoff === 'none' ? 'duelling' : 'correct',
      ...flpWorkload(5),
    });
    ballots += outcome.ballots;
    if (outcome.decided) times.push(outcome.decisionMs);
  }
  times.sort((a, b) => a - b);
  const at = (q: number): number =>
    times.length === 0
      ? Number.NaN
      : (times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? Number.NaN);
  return {
    seeds,
    decidedShare: times.length / seeds,
    decisionMs: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) },
    meanBallots: ballots / seeds,
  };
}

/** `faultline sim paxos`. */
export const paxosProtocol: ProtocolSim = {
  name: 'paxos',
  summary:
    'single-decree Paxos under loss, partitions and crashes; one value chosen, decided after healing',
  variants: paxosVariants,
  nodes: { min: 3, max: 9, default: 5 },
  async run({ seed, variant, nodes }) {
    const sim = new Simulation({ seed, trace: false });
    const outcome = await runPaxos({
      sim,
      variant: variant as PaxosVariant,
      ...(nodes === undefined ? {} : { nodes }),
      // The duelling variant is the FLP experiment: every node proposes at once, no faults.
      ...(variant === 'duelling' ? flpWorkload(nodes ?? 5) : {}),
    });
    const first = outcome.violations[0];
    return {
      violations: outcome.violations.length,
      ...(first === undefined
        ? {}
        : { firstViolation: { timeMs: first.timeMs, summary: first.summary } }),
      figures: {
        decided: outcome.decided ? 1 : 0,
        decisionMs: outcome.decisionMs,
        ballots: outcome.ballots,
        messages: outcome.messages,
      },
    };
  },
};

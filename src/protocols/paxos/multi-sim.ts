/**
 * Multi-Paxos in the simulator (`faultline sim multi-paxos`): clients submit commands on every
 * node under loss, partitions, pauses and crashes; after the network heals the checker wants one
 * value per slot, learners that agree with it, no gaps below the highest chosen slot, and every
 * node to have learned the whole log.
 *
 * @module
 */
import { randomFaultSchedule } from '../../sim/faults.js';
import type { Node } from '../../sim/node.js';
import { Simulation } from '../../sim/simulation.js';
import type { ProtocolSim } from '../contract.js';
import { driveOnNode } from '../drive.js';
import { ChosenChecker } from './checker.js';
import type { PaxosViolation } from './checker.js';
import { MultiPaxosNode } from './multi.js';
import type { MultiPaxosDurable, MultiPaxosMessage } from './multi.js';

/** The variants of `faultline sim multi-paxos`. */
export const multiPaxosVariants = ['correct', 'no-durable-promise', 'no-recovery'] as const;

/** A variant of {@link runMultiPaxos}. */
export type MultiPaxosVariant = (typeof multiPaxosVariants)[number];

/** What a run found. */
export interface MultiPaxosOutcome {
  readonly violations: readonly PaxosViolation[];
  readonly slotsChosen: number;
  readonly leaderships: number;
  readonly phase1Rounds: number;
  readonly messages: number;
}

const WINDOW_MS = 300;
const HORIZON_MS = 1_500;

/** Runs one seeded execution and checks it. */
export async function runMultiPaxos(
  sim: Simulation,
  variant: MultiPaxosVariant,
  nodes = 5,
): Promise<MultiPaxosOutcome> {
  const names = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
  const checker = new ChosenChecker(nodes, () => sim.nowMs);
  const machines = new Map<string, MultiPaxosNode[]>();
  const seen = new Map<string, number>();
  let messages = 0;
  for (const name of names) {
    driveOnNode<MultiPaxosMessage, MultiPaxosDurable, MultiPaxosNode>(sim.node(name), {
      create: (saved, random) => {
        const m = new MultiPaxosNode(
          {
            id: name,
            peers: names,
            random,
            forgetPromises: variant === 'no-durable-promise',
            skipRecovery: variant === 'no-recovery',
          },
          saved,
        );
        machines.set(name, [...(machines.get(name) ?? []), m]);
        seen.set(name, 0);
        return m;
      },
      observe: (from, out) => {
        messages++;
        const m = out.message;
        if (m.kind === 'accepted' && out.to === from)
          checker.accepted(from, m.slot, m.ballot, m.value);
      },
      after: (machine) => {
        if (machine.learned.size === seen.get(name)) return;
        seen.set(name, machine.learned.size);
        for (const [slot, value] of machine.learned) checker.learned(name, slot, value);
      },
      started: (machine, node) => submitLoop(machine, node),
    });
  }
  scheduleFaults(sim, names);
  sim.runSync({ untilMs: HORIZON_MS });
  checkLog(checker, names, machines);
  let leaderships = 0;
  let phase1Rounds = 0;
  for (const list of machines.values())
    for (const m of list) {
      leaderships += m.leaderships;
      phase1Rounds += m.phase1Rounds;
    }
  return {
    violations: checker.violations,
    slotsChosen: checker.chosenSlots,
    leaderships,
    phase1Rounds,
    messages,
  };
}

/** No gaps below the highest chosen slot, and every node learned the whole log by the end. */
function checkLog(
  checker: ChosenChecker,
  names: readonly string[],
  machines: Map<string, MultiPaxosNode[]>,
): void {
  let top = -1;
  for (let slot = 0; slot < 100_000 && (checker.chosen(slot) !== undefined || slot <= top); slot++)
    if (checker.chosen(slot) !== undefined) top = slot;
    else {
      checker.violate(`slot ${slot} has no chosen value below chosen slot ${top + 1}`, []);
      return;
    }
  for (const name of names) {
    const current = machines.get(name)?.at(-1);
    const learned = current?.learned.size ?? 0;
    if (learned < top + 1) {
      checker.violate(`${name} learned ${learned} of ${top + 1} chosen slots by the end`, []);
      return;
    }
  }
}

/** Each node submits a command every 20–40 ms until the network heals. */
function submitLoop(machine: MultiPaxosNode, node: Node): void {
  let n = 0;
  const loop = (): void => {
    machine.submit(`${node.name}.${node.generation}.${++n}`);
    if (node.clock.monotonicMs() < WINDOW_MS)
      node.runtime.timers.setTimer(20 + node.runtime.random.int(20), loop);
  };
  node.runtime.timers.setTimer(50 + node.runtime.random.int(20), loop);
}

function scheduleFaults(sim: Simulation, names: readonly string[]): void {
  const random = sim.random.fork('multi-paxos-faults');
  sim.network.configure({
    latency: { kind: 'uniform', minMs: 1, maxMs: 10 },
    duplicateProbability: 0.05,
    reorderProbability: 0.1,
  });
  const { faults } = randomFaultSchedule(random, {
    nodes: names,
    durationMs: WINDOW_MS,
    kinds: ['partition', 'isolate', 'loss', 'pause', 'crash'],
  });
  const crashes = Array.from({ length: 2 + random.int(6) }, () => ({
    atMs: random.int(WINDOW_MS),
    fault: { kind: 'crash' as const, node: random.pick(names), restartAfterMs: 1 + random.int(30) },
  }));
  sim.schedule(
    [
      ...faults.map((f) =>
        f.fault.kind === 'crash' ? { atMs: f.atMs, fault: { ...f.fault, restartAfterMs: 30 } } : f,
      ),
      ...crashes,
    ].sort((a, b) => a.atMs - b.atMs),
  );
  sim.scheduler.at(WINDOW_MS + 50, () => sim.network.recover());
}

/** `faultline sim multi-paxos`. */
export const multiPaxosProtocol: ProtocolSim = {
  name: 'multi-paxos',
  summary:
    'Multi-Paxos with a stable leader under faults: one value per slot, no gaps, every node learns the log',
  variants: multiPaxosVariants,
  nodes: { min: 3, max: 9, default: 5 },
  async run({ seed, variant, nodes }) {
    const sim = new Simulation({ seed, trace: false });
    const o = await runMultiPaxos(sim, variant as MultiPaxosVariant, nodes ?? 5);
    const first = o.violations[0];
    return {
      violations: o.violations.length,
      ...(first === undefined
        ? {}
        : { firstViolation: { timeMs: first.timeMs, summary: first.summary } }),
      figures: {
        slotsChosen: o.slotsChosen,
        leaderships: o.leaderships,
        phase1Rounds: o.phase1Rounds,
        messagesPerSlot: o.slotsChosen === 0 ? 0 : o.messages / o.slotsChosen,
      },
    };
  },
};

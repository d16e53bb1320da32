/**
 * OM(m) driven two ways — synchronous rounds in memory (exhaustive tests) and the simulator
 * (`faultline sim om`, the lab) — and the checker of the interactive consistency conditions,
 * outside the protocol.
 *
 * @module
 */
import type { Random } from '../../core/runtime.js';
import { Simulation } from '../../sim/simulation.js';
import type { ProtocolSim } from '../contract.js';
import { driveOnNode } from '../drive.js';
import type { StateMachine } from '../machine.js';
import { lieStrategy, namedStrategies, TraitorGeneral } from './adversary.js';
import type { LieStrategy, NamedStrategy } from './adversary.js';
import { OmGeneral } from './om.js';
import type { OmMessage, OmRule, Order } from './om.js';

/** One run's generals and traitors. */
export interface OmSetup {
  /** Every general; the first is the commander. */
  readonly generals: readonly string[];
  /** Traitors OM is run for: its relay rounds. */
  readonly m: number;
  readonly rule: OmRule;
  readonly order: Order;
  /** The traitors and how each lies. */
  readonly traitors: ReadonlyMap<string, LieStrategy>;
}

/** What the checker found. */
export interface OmVerdict {
  /** Each loyal lieutenant's decision (`null`: none reached, `undefined`: never decided). */
  readonly decisions: ReadonlyMap<string, Order | null | undefined>;
  /** Broken conditions, one sentence each (empty: IC1, IC2 and termination held). */
  readonly violations: readonly string[];
}

/**
 * The interactive consistency conditions (LSP 1982): every loyal lieutenant decides (termination),
 * all loyal lieutenants decide the same order (IC1), and if the commander is loyal they decide
 * its order (IC2).
 */
export function checkInteractiveConsistency(
  setup: OmSetup,
  decisions: ReadonlyMap<string, Order | null | undefined>,
): OmVerdict {
  const violations: string[] = [];
  const loyal = [...decisions.entries()];
  const undecided = loyal.filter(([, d]) => d === null || d === undefined).map(([g]) => g);
  if (undecided.length > 0) violations.push(`loyal ${undecided.join(', ')} reached no decision`);
  const orders = new Set(loyal.map(([, d]) => d).filter((d) => d !== null && d !== undefined));
  if (orders.size > 1)
    violations.push(
      `loyal lieutenants disagree: ${loyal.map(([g, d]) => `${g} ${String(d)}`).join(', ')}`,
    );
  const commander = setup.generals[0] as string;
  if (!setup.traitors.has(commander)) {
    const off = loyal.filter(([, d]) => d !== null && d !== undefined && d !== setup.order);
    if (off.length > 0)
      violations.push(
        `loyal commander ordered ${setup.order}, but ${off.map(([g, d]) => `${g} decided ${String(d)}`).join(', ')}`,
      );
  }
  return { decisions, violations };
}

/** Relay rounds of `rule` for `m`. */
function relayRounds(rule: OmRule, m: number): number {
  return rule.kind === 'om' ? m : rule.kind === 'majority-of-received' ? 1 : 0;
}

/** The machine of each general of `setup`. */
function machines(setup: OmSetup, roundTicks: number): Map<string, StateMachine<OmMessage, never>> {
  const out = new Map<string, StateMachine<OmMessage, never>>();
  for (const id of setup.generals) {
    const lie = setup.traitors.get(id);
    out.set(
      id,
      lie !== undefined
        ? new TraitorGeneral(id, setup.generals, relayRounds(setup.rule, setup.m), setup.rule, lie)
        : new OmGeneral({
            id,
            generals: setup.generals,
            m: setup.m,
            rule: setup.rule,
            roundTicks,
            ...(id === setup.generals[0] ? { order: setup.order } : {}),
          }),
    );
  }
  return out;
}

/** Loyal lieutenants' decisions. */
function decisionsOf(
  setup: OmSetup,
  all: ReadonlyMap<string, StateMachine<OmMessage, never>>,
): Map<string, Order | null | undefined> {
  const decisions = new Map<string, Order | null | undefined>();
  for (const id of setup.generals.slice(1)) {
    const m = all.get(id);
    if (m instanceof OmGeneral) decisions.set(id, m.decision);
  }
  return decisions;
}

/**
 * Runs `setup` in lock-step synchronous rounds in memory (every message of a round is delivered
 * before the next tick) and checks it: the engine of the exhaustive tests.
 */
export function runOmRounds(setup: OmSetup): OmVerdict & { readonly messages: number } {
  const all = machines(setup, 1);
  let messages = 0;
  const deliver = (): void => {
    for (let guard = 0; guard < 1_000; guard++) {
      let sent = 0;
      for (const [from, machine] of all) {
        const batch = [...machine.ready().messages];
        machine.advance();
        for (const { to, message } of batch) {
          sent++;
          all.get(to)?.step(from, message);
        }
      }
      messages += sent;
      if (sent === 0) return;
    }
  };
  deliver();
  for (let t = 0; t <= relayRounds(setup.rule, setup.m) + 1; t++) {
    for (const machine of all.values()) machine.tick();
    deliver();
  }
  return { ...checkInteractiveConsistency(setup, decisionsOf(setup, all)), messages };
}

/** The variants of `faultline sim om`. */
export const omVariants = ['correct', 'majority-vote', 'two-thirds-direct', 'n-equals-3m'] as const;

/** A variant of {@link runOmSim}. */
export type OmVariant = (typeof omVariants)[number];

/** Options of {@link runOmSim}. */
export interface OmSimOptions {
  readonly sim: Simulation;
  readonly variant: OmVariant;
  /** Generals for `correct` (default 7: m = 2); `n-equals-3m` runs 3m of them. */
  readonly generals?: number;
  /** Traitors (default m). */
  readonly traitors?: number;
  /** An explicit setup instead of one drawn from the seed (the lab's fixed adversaries). */
  readonly setup?: OmSetup;
  readonly note?: (node: string, text: string) => number;
}

/** What {@link runOmSim} found. */
export interface OmSimOutcome extends OmVerdict {
  readonly setup: OmSetup;
  readonly messages: number;
  /** When the last loyal lieutenant decided, ms. */
  readonly decisionMs: number;
  /** The index of the trace note of the first violation, when a note callback was given. */
  readonly traceIndex?: number;
}

/** The setup a seed draws: traitor placement, their strategies, the commander's order. */
export function drawSetup(
  random: Random,
  variant: OmVariant,
  generals = 7,
  traitorCount?: number,
): OmSetup {
  const m = Math.floor((generals - 1) / 3);
  const n = variant === 'n-equals-3m' ? 3 * m : generals;
  const names = Array.from({ length: n }, (_, i) => (i === 0 ? 'C' : `L${i}`));
  const rule: OmRule =
    variant === 'majority-vote'
      ? { kind: 'majority-of-received' }
      : variant === 'two-thirds-direct'
        ? { kind: 'two-thirds-direct' }
        : { kind: 'om' };
  const placed = random.shuffle([...names]).slice(0, traitorCount ?? m);
  const traitors = new Map<string, LieStrategy>();
  for (const t of placed) {
    // `split` twice as likely: it is the lie that divides loyal lieutenants.
    const name: NamedStrategy = random.pick(['split', ...namedStrategies]);
    traitors.set(t, lieStrategy(name, names, random.fork(`lie:${t}`)));
  }
  return { generals: names, m, rule, order: random.next() < 0.5 ? 'attack' : 'retreat', traitors };
}

/** Runs one seeded execution in the simulator (latency 1–5 ms, rounds of 10 ms) and checks it. */
export async function runOmSim(options: OmSimOptions): Promise<OmSimOutcome> {
  const { sim, note } = options;
  const setup =
    options.setup ??
    drawSetup(sim.random.fork('om-setup'), options.variant, options.generals, options.traitors);
  sim.network.configure({ latency: { kind: 'uniform', minMs: 1, maxMs: 5 } });
  const all = new Map<string, StateMachine<OmMessage, never>>();
  const built = machines(setup, 10);
  let messages = 0;
  let decisionMs = 0;
  for (const id of setup.generals) {
    driveOnNode<OmMessage, never, StateMachine<OmMessage, never>>(sim.node(id), {
      create: () => {
        const machine = built.get(id) as StateMachine<OmMessage, never>;
        all.set(id, machine);
        if (setup.traitors.has(id)) note?.(id, 'is a traitor');
        return machine;
      },
      tickMs: 1,
      observe: () => void messages++,
      after: (machine) => {
        if (
          machine instanceof OmGeneral &&
          machine.decision !== undefined &&
          decisionMs < sim.nowMs
        )
          if (id !== setup.generals[0]) decisionMs = sim.nowMs;
      },
    });
  }
  sim.runSync({ untilMs: (relayRounds(setup.rule, setup.m) + 2) * 10 });
  const verdict = checkInteractiveConsistency(setup, decisionsOf(setup, all));
  const first = verdict.violations[0];
  const traceIndex = first === undefined ? undefined : note?.('C', first);
  return {
    ...verdict,
    setup,
    messages,
    decisionMs,
    ...(traceIndex === undefined ? {} : { traceIndex }),
  };
}

/** `faultline sim om`. */
export const omProtocol: ProtocolSim = {
  name: 'om',
  summary:
    'OM(m) Byzantine generals with random traitors and lies; interactive consistency checked',
  variants: omVariants,
  nodes: { min: 4, max: 10, default: 7 },
  async run({ seed, variant, nodes }) {
    const sim = new Simulation({ seed, trace: false });
    const outcome = await runOmSim({
      sim,
      variant: variant as OmVariant,
      ...(nodes === undefined ? {} : { generals: nodes }),
    });
    const first = outcome.violations[0];
    let decided = 0;
    for (const d of outcome.decisions.values()) if (d !== null && d !== undefined) decided++;
    return {
      violations: outcome.violations.length,
      ...(first === undefined ? {} : { firstViolation: { timeMs: sim.nowMs, summary: first } }),
      figures: {
        messages: outcome.messages,
        rounds: relayRounds(outcome.setup.rule, outcome.setup.m) + 1,
        decidedShare: outcome.decisions.size === 0 ? 1 : decided / outcome.decisions.size,
        decisionMs: outcome.decisionMs,
      },
    };
  },
};

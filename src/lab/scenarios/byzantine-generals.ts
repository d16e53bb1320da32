/**
 * The Byzantine generals: seven generals, a commander and six lieutenants, with traitors sending
 * conflicting orders. A majority of the values received in one relay round, and the textbook rule
 * "take an order once two thirds of the votes received agree", both fail; OM(m) with m = 2 relay
 * rounds makes every loyal lieutenant decide the same order.
 *
 * @module
 */
import type { Random } from '../../core/runtime.js';
import { lieStrategy } from '../../protocols/byzantine/adversary.js';
import type { LieStrategy } from '../../protocols/byzantine/adversary.js';
import { runOmSim } from '../../protocols/byzantine/om-sim.js';
import type { OmSetup, OmVariant } from '../../protocols/byzantine/om-sim.js';
import type { OmRule } from '../../protocols/byzantine/om.js';
import type { LabContext, Scenario, VariantOutcome } from '../types.js';

const GENERALS = ['C', 'L1', 'L2', 'L3', 'L4', 'L5', 'L6'];

/**
 * The adversary: with two traitors, the commander and one lieutenant (drawn from the seed) split
 * the lieutenants in halves; with one, a lieutenant (drawn from the seed) contradicts everything.
 */
function adversary(context: LabContext, random: Random, rule: OmRule): OmSetup {
  const traitorCount = context.knobs['traitors'] ?? 2;
  const lieutenant = random.pick(GENERALS.slice(1));
  const traitors = new Map<string, LieStrategy>();
  const strategy = traitorCount === 2 ? 'split' : 'flip';
  if (traitorCount === 2) traitors.set('C', lieStrategy('split', GENERALS, random));
  traitors.set(lieutenant, lieStrategy(strategy, GENERALS, random));
  return { generals: GENERALS, m: 2, rule, order: 'attack', traitors };
}

async function run(context: LabContext, variant: OmVariant): Promise<VariantOutcome> {
  const sim = context.simulation();
  const rule: OmRule =
    variant === 'majority-vote'
      ? { kind: 'majority-of-received' }
      : variant === 'two-thirds-direct'
        ? { kind: 'two-thirds-direct' }
        : { kind: 'om' };
  const setup = adversary(context, sim.random.fork('byzantine-generals'), rule);
  const outcome = await runOmSim({
    sim,
    variant,
    setup,
    note: (node, text) => context.note(node, text),
  });
  const decisions = [...outcome.decisions.values()];
  const attack = decisions.filter((d) => d === 'attack').length;
  const retreat = decisions.filter((d) => d === 'retreat').length;
  const figures = {
    undecided: decisions.length - attack - retreat,
    split: Math.min(attack, retreat),
    messages: outcome.messages,
  };
  const first = outcome.violations[0];
  if (first === undefined) return { violated: false, figures };
  return {
    violated: true,
    evidence: {
      timeMs: sim.nowMs,
      summary: first,
      operations: [...outcome.decisions].map(([g, d]) => `${g} decides ${String(d ?? 'nothing')}`),
      ...(outcome.traceIndex === undefined ? {} : { traceIndex: outcome.traceIndex }),
    },
    figures,
  };
}

/** The byzantine-generals scenario. */
export const byzantineGenerals: Scenario = {
  name: 'byzantine-generals',
  title: 'Byzantine generals: majority vote vs OM(m)',
  problem:
    'Seven generals must agree on attack or retreat while traitors send different orders to ' +
    'different generals. Counting the orders received — by simple majority after one round of ' +
    'relays, or by a two-thirds threshold over direct messages — lets traitors split the loyal ' +
    'generals or stall them.',
  reference:
    'Lamport, Shostak & Pease, “The Byzantine Generals Problem” (TOPLAS 1982): OM(m) and n ≥ 3m + 1',
  property:
    'Interactive consistency, checked outside the protocol: every loyal lieutenant decides, all ' +
    'decide the same order, and a loyal commander’s order is followed.',
  api: [
    "import { OmGeneral } from 'faultline/byzantine';",
    "const general = new OmGeneral({ id: 'L1', generals, m: 2 }); // n >= 3m + 1",
    '// drive step()/tick()/ready() in synchronous rounds; then general.decision',
  ].join('\n'),
  figures: [
    { name: 'split', label: 'loyal in the minority', unit: 'generals', better: 'lower', key: true },
    { name: 'undecided', label: 'loyal undecided', unit: 'generals', better: 'lower', key: true },
    { name: 'messages', label: 'messages sent', unit: 'messages', better: 'none' },
  ],
  knobs: [{ name: 'traitors', label: 'traitors', min: 1, max: 2, step: 1, default: 2, unit: '' }],
  variants: {
    unsafe: {
      summary:
        'Each lieutenant relays the order it got once, then takes the majority of the values it holds.',
      run: (context) => run(context, 'majority-vote'),
    },
    textbook: {
      summary:
        'Each general takes an order once two thirds of the votes it received directly agree.',
      why: 'Traitors choose what each general receives: a split commander makes the thresholds pass for opposite orders, and one contradicting traitor keeps every loyal general at one vote in two, below two thirds.',
      run: (context) => run(context, 'two-thirds-direct'),
    },
    safe: {
      summary: 'OM(2): two relay rounds and a recursive majority, with n = 7 ≥ 3m + 1.',
      run: (context) => run(context, 'correct'),
    },
  },
};

/**
 * Why OM(m) needs n ≥ 3m + 1 generals: with three generals and one traitorous lieutenant, a loyal
 * lieutenant cannot tell a lying lieutenant from a lying commander and fails to follow the loyal
 * commander; with four generals the same traitor is outvoted.
 *
 * @module
 */
import { lieStrategy } from '../../protocols/byzantine/adversary.js';
import { runOmSim } from '../../protocols/byzantine/om-sim.js';
import type { LabContext, Scenario, VariantOutcome } from '../types.js';

async function run(context: LabContext, n: 3 | 4): Promise<VariantOutcome> {
  const sim = context.simulation();
  const random = sim.random.fork('byzantine-3m');
  const generals = ['C', 'L1', 'L2', 'L3'].slice(0, n);
  const traitor = random.pick(generals.slice(1));
  const outcome = await runOmSim({
    sim,
    variant: 'correct',
    setup: {
      generals,
      m: 1,
      rule: { kind: 'om' },
      order: 'attack',
      traitors: new Map([[traitor, lieStrategy('flip', generals, random)]]),
    },
    note: (node, text) => context.note(node, text),
  });
  const followed = [...outcome.decisions.values()].filter((d) => d === 'attack').length;
  const figures = {
    notFollowing: outcome.decisions.size - followed,
    messages: outcome.messages,
  };
  const first = outcome.violations[0];
  if (first === undefined) return { violated: false, figures };
  return {
    violated: true,
    evidence: {
      timeMs: sim.nowMs,
      summary: first,
      operations: [
        `${traitor} (traitor) relays “retreat”`,
        ...[...outcome.decisions].map(([g, d]) => `${g} decides ${String(d)}`),
      ],
      ...(outcome.traceIndex === undefined ? {} : { traceIndex: outcome.traceIndex }),
    },
    figures,
  };
}

/** The byzantine-3m scenario. */
export const byzantine3m: Scenario = {
  name: 'byzantine-3m',
  title: 'Byzantine generals: n = 3m vs 3m + 1',
  problem:
    'With three generals and one traitor, a lieutenant hears “attack” from the commander and ' +
    '“the commander said retreat” from the other lieutenant, and cannot know which one lies. No ' +
    'oral-messages algorithm tolerates m traitors among 3m generals.',
  reference: 'Lamport, Shostak & Pease, “The Byzantine Generals Problem” (TOPLAS 1982), theorem 1',
  property:
    'Interactive consistency: loyal lieutenants agree and follow the loyal commander (who orders attack).',
  api: [
    "import { OmGeneral } from 'faultline/byzantine';",
    '// tolerate m traitors with at least 3m + 1 generals',
    "new OmGeneral({ id, generals: ['C', 'L1', 'L2', 'L3'], m: 1 });",
  ].join('\n'),
  figures: [
    {
      name: 'notFollowing',
      label: 'loyal not following the commander',
      unit: 'generals',
      better: 'lower',
      key: true,
    },
    { name: 'messages', label: 'messages sent', unit: 'messages', better: 'none' },
  ],
  variants: {
    unsafe: {
      summary: 'OM(1) among 3 generals (n = 3m) with one traitorous lieutenant.',
      run: (context) => run(context, 3),
    },
    safe: {
      summary: 'OM(1) among 4 generals (n = 3m + 1) with one traitorous lieutenant.',
      run: (context) => run(context, 4),
    },
  },
};

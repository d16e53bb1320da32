import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../core/random.js';
import { lieStrategy, namedStrategies, TraitorGeneral } from './adversary.js';
import type { LieStrategy } from './adversary.js';
import { omProtocol, runOmRounds } from './om-sim.js';
import type { OmSetup } from './om-sim.js';
import { majority, OmGeneral } from './om.js';
import type { OmRule, Order } from './om.js';

const om: OmRule = { kind: 'om' };
const names = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => (i === 0 ? 'C' : `L${i}`));

/** A strategy that answers the k-th lie with bit k of `mask` (every strategy, as k ranges). */
function maskStrategy(mask: number): LieStrategy {
  let k = 0;
  return () => ((mask >> k++) & 1 ? 'attack' : 'retreat');
}

/** How many values a traitor at `traitor` sends in a run of `setup` (to size the masks). */
function liesOf(setup: Omit<OmSetup, 'traitors'>, traitor: string): number {
  let count = 0;
  runOmRounds({
    ...setup,
    traitors: new Map([[traitor, () => (count++, 'attack' as Order)]]),
  });
  return count;
}

function combinations<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  return items.flatMap((x, i) => combinations(items.slice(i + 1), k - 1).map((c) => [x, ...c]));
}

describe('OmGeneral', () => {
  it('rejects bad options naming the field', () => {
    expect(() => new OmGeneral({ id: 'X', generals: ['C', 'L1'], m: 0 })).toThrow(/id/);
    expect(() => new OmGeneral({ id: 'C', generals: ['C', 'L1'], m: 0 })).toThrow(/order/);
    expect(() => new OmGeneral({ id: 'L1', generals: ['C', 'L1'], m: 5 })).toThrow(/m/);
  });

  it('drops forged paths: a sender must be the last on the path, and paths start at the commander', () => {
    const g = new OmGeneral({ id: 'L1', generals: names(4), m: 1, roundTicks: 1 });
    g.step('L2', { kind: 'om', path: ['C'], order: 'retreat' }); // L2 claims to be the commander
    g.step('L3', { kind: 'om', path: ['L2', 'L3'], order: 'retreat' });
    expect(g.ready().messages).toEqual([]);
    g.step('C', { kind: 'om', path: ['C'], order: 'attack' });
    expect(g.ready().messages.map((m) => m.to)).toEqual(['L2', 'L3']);
  });

  it('takes the majority, ties going to retreat', () => {
    expect(majority(['attack', 'attack', 'retreat'])).toBe('attack');
    expect(majority(['attack', 'retreat'])).toBe('retreat');
  });
});

describe('OM(m), exhaustively', () => {
  it('n = 4, m = 1: every traitor placement and every lie of it keeps interactive consistency', () => {
    let runs = 0;
    for (const order of ['attack', 'retreat'] as const) {
      const base = { generals: names(4), m: 1, rule: om, order };
      for (const traitor of base.generals) {
        const lies = liesOf(base, traitor);
        for (let mask = 0; mask < 2 ** lies; mask++) {
          const verdict = runOmRounds({
            ...base,
            traitors: new Map([[traitor, maskStrategy(mask)]]),
          });
          expect(verdict.violations, `${order} ${traitor} ${mask}`).toEqual([]);
          runs++;
        }
      }
    }
    // Two orders × (a commander's 2^3 lies + three lieutenants' 2^2 relays each).
    expect(runs).toBe(2 * (8 + 3 * 4));
  });

  it('n = 7, m = 2: every placement of two traitors with every pair of named strategies', () => {
    const generals = names(7);
    let runs = 0;
    for (const order of ['attack', 'retreat'] as const)
      for (const pair of combinations(generals, 2))
        for (const s1 of namedStrategies)
          for (const s2 of namedStrategies) {
            const random = new SeededRandom(runs);
            const traitors = new Map<string, LieStrategy>([
              [pair[0] as string, lieStrategy(s1, generals, random)],
              [pair[1] as string, lieStrategy(s2, generals, random)],
            ]);
            const verdict = runOmRounds({ generals, m: 2, rule: om, order, traitors });
            expect(verdict.violations, `${pair.join()} ${s1} ${s2}`).toEqual([]);
            runs++;
          }
    expect(runs).toBe(2 * 21 * namedStrategies.length ** 2);
  });

  it('n = 3, m = 1: a lying lieutenant makes the other one abandon the loyal commander', () => {
    const verdict = runOmRounds({
      generals: names(3),
      m: 1,
      rule: om,
      order: 'attack',
      traitors: new Map([['L2', lieStrategy('flip', names(3), new SeededRandom(1))]]),
    });
    expect(verdict.violations).toEqual(['loyal commander ordered attack, but L1 decided retreat']);
  });

  it('n = 6, m = 2 (n = 3m): some placement and strategy of two traitors breaks agreement', () => {
    const generals = names(6);
    const broken: string[] = [];
    for (const pair of combinations(generals, 2))
      for (const s1 of namedStrategies)
        for (const s2 of namedStrategies) {
          const random = new SeededRandom(7);
          const verdict = runOmRounds({
            generals,
            m: 2,
            rule: om,
            order: 'attack',
            traitors: new Map<string, LieStrategy>([
              [pair[0] as string, lieStrategy(s1, generals, random)],
              [pair[1] as string, lieStrategy(s2, generals, random)],
            ]),
          });
          if (verdict.violations.some((v) => v.startsWith('loyal lieutenants disagree')))
            broken.push(`${pair.join('+')} ${s1}/${s2}`);
        }
    expect(broken.length).toBeGreaterThan(0);
  });

  it('the textbook two-thirds rule: one contradicting traitor among seven leaves every loyal general undecided', () => {
    const generals = names(7);
    const verdict = runOmRounds({
      generals,
      m: 2,
      rule: { kind: 'two-thirds-direct' },
      order: 'attack',
      traitors: new Map([['L3', lieStrategy('flip', generals, new SeededRandom(1))]]),
    });
    expect([...verdict.decisions.values()]).toEqual([null, null, null, null, null]);
  });

  it('a traitor machine relays only along valid paths', () => {
    const t = new TraitorGeneral('L1', names(4), 1, om, () => 'retreat');
    t.step('C', { kind: 'om', path: ['C'], order: 'attack' });
    expect(t.ready().messages.map((m) => [m.to, m.message.order])).toEqual([
      ['L2', 'retreat'],
      ['L3', 'retreat'],
    ]);
  });
});

describe('OM(m) in the simulator', () => {
  async function violating(variant: string, seeds: number): Promise<number[]> {
    const failing: number[] = [];
    for (let seed = 1; seed <= seeds; seed++)
      if ((await omProtocol.run({ seed, variant })).violations > 0) failing.push(seed);
    return failing;
  }

  it('holds on seeds 1..300 with random traitors and lies', async () => {
    expect(await violating('correct', 300)).toEqual([]);
  });

  it('catches every broken variant within 200 seeds', async () => {
    for (const variant of ['majority-vote', 'two-thirds-direct', 'n-equals-3m'])
      expect((await violating(variant, 200)).length, variant).toBeGreaterThan(0);
  });
});

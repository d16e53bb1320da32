import { describe, expect, it } from 'vitest';
import { threePhaseProtocol } from './three-phase-sim.js';

async function runs(variant: string, seeds: number) {
  const out = [];
  for (let seed = 1; seed <= seeds; seed++)
    out.push(await threePhaseProtocol.run({ seed, variant }));
  return out;
}

describe('faultline sim 3pc', () => {
  it('lists correct first, then the partition run and the broken variants', () => {
    expect(threePhaseProtocol.variants).toEqual([
      'correct',
      'partition',
      'amnesiac-participant',
      'uncertain-commits',
    ]);
  });

  it('the correct variant stays atomic under crashes on seeds 1..60 and leaves nobody undecided', async () => {
    const results = await runs('correct', 60);
    expect(results.filter((r) => r.violations > 0)).toEqual([]);
    for (const r of results) expect(r.figures['undecidedLeft']).toBe(0);
    expect(results.reduce((s, r) => s + (r.figures['committed'] ?? 0), 0)).toBeGreaterThan(60 * 10);
  });

  it('a partition makes 3PC decide both ways, and the figure says on how many seeds', async () => {
    const results = await runs('partition', 40);
    const violating = results.filter((r) => r.violations > 0);
    expect(violating.length).toBeGreaterThanOrEqual(4);
    for (const r of results)
      expect(r.figures['inconsistentSeedsPercent']).toBe(r.violations > 0 ? 100 : 0);
    expect(violating[0]?.firstViolation?.summary).toMatch(/committed at .* and aborted at /);
  });

  it('catches the participant that times out after a restart and the uncertain timeout that commits', async () => {
    for (const variant of ['amnesiac-participant', 'uncertain-commits']) {
      const results = await runs(variant, 20);
      expect(results.filter((r) => r.violations > 0).length, variant).toBeGreaterThanOrEqual(4);
    }
  });

  it('replays a seed with the same result', async () => {
    const a = await threePhaseProtocol.run({ seed: 9, variant: 'partition' });
    expect(await threePhaseProtocol.run({ seed: 9, variant: 'partition' })).toEqual(a);
  });
});

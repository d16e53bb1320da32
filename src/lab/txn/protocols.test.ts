import { describe, expect, it } from 'vitest';
import { twoPhaseProtocol } from './protocols.js';

async function failingSeeds(variant: string, seeds: number): Promise<number[]> {
  const out: number[] = [];
  for (let seed = 1; seed <= seeds; seed++)
    if ((await twoPhaseProtocol.run({ seed, variant })).violations > 0) out.push(seed);
  return out;
}

describe('faultline sim 2pc', () => {
  it('lists correct first', () => {
    expect(twoPhaseProtocol.variants[0]).toBe('correct');
  });

  it('the correct variant keeps atomicity under crashes on seeds 1..60', async () => {
    expect(await failingSeeds('correct', 60)).toEqual([]);
  });

  it('catches the coordinator that forgets its decision and the participant that commits early', async () => {
    expect((await failingSeeds('forgetful-coordinator', 20)).length).toBeGreaterThanOrEqual(5);
    expect((await failingSeeds('eager-participant', 20)).length).toBeGreaterThanOrEqual(10);
  });

  it('replays a seed with the same figures', async () => {
    const a = await twoPhaseProtocol.run({ seed: 7, variant: 'correct' });
    const b = await twoPhaseProtocol.run({ seed: 7, variant: 'correct' });
    expect(b).toEqual(a);
    expect(a.figures['inDoubtLeft']).toBe(0);
  });
});

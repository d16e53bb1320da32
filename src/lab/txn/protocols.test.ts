import { describe, expect, it } from 'vitest';
import { sagaProtocol, twoPhaseProtocol } from './protocols.js';
import type { ProtocolSim } from '../../protocols/contract.js';

async function failingSeeds(
  variant: string,
  seeds: number,
  protocol: ProtocolSim = twoPhaseProtocol,
): Promise<number[]> {
  const out: number[] = [];
  for (let seed = 1; seed <= seeds; seed++)
    if ((await protocol.run({ seed, variant })).violations > 0) out.push(seed);
  return out;
}

describe('faultline sim 2pc', () => {
  it('lists correct first', () => {
    expect(twoPhaseProtocol.variants[0]).toBe('correct');
  });

  it('the correct variant keeps atomicity under crashes on seeds 1..60', async () => {
    expect(await failingSeeds('correct', 60)).toEqual([]);
  });

  it('keeps a decision record while a recovery pass skipped one of its branches as in flight (seed 257)', async () => {
    // Seed 257 (found by the 1,000-seed soak): a recovery pass skipped rm-a's prepared branch
    // because its transaction was still in phase 2, the transaction then finished with rm-a left
    // to recovery, and the same pass forgot the commit record; the next pass rolled rm-a back.
    const result = await twoPhaseProtocol.run({ seed: 257, variant: 'correct' });
    expect(result.violations).toBe(0);
    expect(result.figures['inDoubtLeft']).toBe(0);
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

describe('faultline sim saga', () => {
  it('the correct variant ends every saga all or nothing under crashes on seeds 1..40', async () => {
    expect(await failingSeeds('correct', 40, sagaProtocol)).toEqual([]);
  });

  it('catches the saga without compensation and the one whose log dies with it', async () => {
    expect((await failingSeeds('no-compensation', 10, sagaProtocol)).length).toBe(10);
    expect((await failingSeeds('volatile-log', 40, sagaProtocol)).length).toBeGreaterThanOrEqual(4);
  });
});

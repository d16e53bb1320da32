import { describe, expect, it } from 'vitest';
import { tccProtocol } from './tcc-protocol.js';

async function failingSeeds(variant: string, seeds: number): Promise<number[]> {
  const out: number[] = [];
  for (let seed = 1; seed <= seeds; seed++)
    if ((await tccProtocol.run({ seed, variant })).violations > 0) out.push(seed);
  return out;
}

describe('faultline sim tcc', () => {
  it('lists correct first, then the broken variants', () => {
    expect(tccProtocol.variants).toEqual(['correct', 'no-fence', 'non-idempotent-confirm']);
  });

  it('the correct variant leaves no reservation and confirms once under crashes on seeds 1..40', async () => {
    expect(await failingSeeds('correct', 40)).toEqual([]);
  });

  it('catches the services without a fence table and the non-idempotent Confirm', async () => {
    expect((await failingSeeds('no-fence', 10)).length).toBeGreaterThanOrEqual(6);
    expect((await failingSeeds('non-idempotent-confirm', 10)).length).toBeGreaterThanOrEqual(6);
  });

  it('the fence refuses hanging Tries in the correct variant and they reserve in no-fence', async () => {
    let refused = 0;
    let stuck = 0;
    for (let seed = 1; seed <= 10; seed++) {
      refused +=
        (await tccProtocol.run({ seed, variant: 'correct' })).figures['hangingTriesRefused'] ?? 0;
      stuck +=
        (await tccProtocol.run({ seed, variant: 'no-fence' })).figures['stuckReservations'] ?? 0;
    }
    expect(refused).toBeGreaterThan(0);
    expect(stuck).toBeGreaterThan(0);
  });

  it('replays a seed with the same figures, and refuses an unknown variant', async () => {
    const a = await tccProtocol.run({ seed: 7, variant: 'correct' });
    expect(await tccProtocol.run({ seed: 7, variant: 'correct' })).toEqual(a);
    await expect(tccProtocol.run({ seed: 1, variant: 'nope' })).rejects.toThrow(/variant/);
  });
});

import { describe, expect, it } from 'vitest';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../testing.js';
import { flpDuelling } from './flp-duelling.js';

describe('the flp-duelling scenario', () => {
  it('fails to decide in time on some seeds 1..10 without back-off', async () => {
    const runs = await runSeeds(flpDuelling, 'unsafe', 1, 10);
    expect(runs.filter((r) => r.violated).length).toBeGreaterThan(0);
    expect(meanOf(runs, 'decided')).toBeLessThan(1);
  });

  it('decides on every seed 1..200 with randomized back-off, sooner and with fewer ballots', async () => {
    const safe = await runSeeds(flpDuelling, 'safe', 1, 200);
    expect(safe.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
    const unsafe = await runSeeds(flpDuelling, 'unsafe', 1, 200);
    expect(meanOf(safe, 'ballots')).toBeLessThan(meanOf(unsafe, 'ballots'));
    expect(meanOf(safe, 'decisionMs')).toBeLessThan(meanOf(unsafe, 'decisionMs'));
  });

  it('replays a seed and points its evidence at a note', async () => {
    for (const variant of ['unsafe', 'safe'] as const)
      expect(await replayDifferences(flpDuelling, variant, 3)).toEqual([]);
    const failing = (await runSeeds(flpDuelling, 'unsafe', 1, 10)).find((r) => r.violated);
    expect(await evidenceProblems(flpDuelling, 'unsafe', failing?.seed ?? 1)).toEqual([]);
  });
});

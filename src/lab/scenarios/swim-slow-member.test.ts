import { describe, expect, it } from 'vitest';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../testing.js';
import { swimSlowMember } from './swim-slow-member.js';

describe('the swim-slow-member scenario', () => {
  it('violates in the unsafe variant on many seeds 1..50', { timeout: 300_000 }, async () => {
    const runs = await runSeeds(swimSlowMember, 'unsafe', 1, 50);
    expect(runs.filter((r) => r.violated).length).toBeGreaterThanOrEqual(20);
  });

  it('holds in the safe variant on every seed 1..100', { timeout: 300_000 }, async () => {
    const runs = await runSeeds(swimSlowMember, 'safe', 1, 100);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
  });

  it('replays a seed and points its evidence at a note', { timeout: 120_000 }, async () => {
    expect(await replayDifferences(swimSlowMember, 'unsafe', 3)).toEqual([]);
    expect(await replayDifferences(swimSlowMember, 'safe', 3)).toEqual([]);
    const seed =
      (await runSeeds(swimSlowMember, 'unsafe', 1, 10)).find((r) => r.violated)?.seed ?? 1;
    expect(await evidenceProblems(swimSlowMember, 'unsafe', seed)).toEqual([]);
  });

  it(
    'Lifeguard removes the false positives and still detects the crash',
    { timeout: 300_000 },
    async () => {
      const unsafe = await runSeeds(swimSlowMember, 'unsafe', 1, 10);
      const safe = await runSeeds(swimSlowMember, 'safe', 1, 10);
      expect(meanOf(unsafe, 'healthyDeclaredDead')).toBeGreaterThan(1);
      expect(meanOf(safe, 'healthyDeclaredDead')).toBe(0);
      expect(meanOf(safe, 'falseSuspicions')).toBeLessThan(meanOf(unsafe, 'falseSuspicions'));
      expect(meanOf(safe, 'detectionMs')).toBeLessThan(30_000);
    },
  );
});

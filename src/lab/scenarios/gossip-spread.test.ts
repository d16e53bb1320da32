import { describe, expect, it } from 'vitest';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../testing.js';
import { gossipSpread } from './gossip-spread.js';

describe('the gossip-spread scenario', () => {
  it('violates in the unsafe variant on most seeds 1..20', { timeout: 300_000 }, async () => {
    const runs = await runSeeds(gossipSpread, 'unsafe', 1, 20);
    expect(runs.filter((r) => r.violated).length).toBeGreaterThanOrEqual(15);
  });

  it('holds in the safe variant on every seed 1..100', { timeout: 300_000 }, async () => {
    const runs = await runSeeds(gossipSpread, 'safe', 1, 100);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
  });

  it('replays a seed and points its evidence at a note', { timeout: 120_000 }, async () => {
    expect(await replayDifferences(gossipSpread, 'unsafe', 3)).toEqual([]);
    expect(await replayDifferences(gossipSpread, 'safe', 3)).toEqual([]);
    const seed = (await runSeeds(gossipSpread, 'unsafe', 1, 10)).find((r) => r.violated)?.seed ?? 1;
    expect(await evidenceProblems(gossipSpread, 'unsafe', seed)).toEqual([]);
  });

  it(
    'flooding costs N − 1 messages per member; push-pull a few, and reaches everyone',
    { timeout: 300_000 },
    async () => {
      const unsafe = await runSeeds(gossipSpread, 'unsafe', 1, 10);
      const safe = await runSeeds(gossipSpread, 'safe', 1, 10);
      expect(meanOf(unsafe, 'messagesPerMember')).toBeGreaterThan(20);
      expect(meanOf(safe, 'messagesPerMember')).toBeLessThan(
        meanOf(unsafe, 'messagesPerMember') / 2,
      );
      expect(meanOf(safe, 'missingMembers')).toBe(0);
      expect(meanOf(unsafe, 'missingMembers')).toBeGreaterThan(0);
    },
  );
});

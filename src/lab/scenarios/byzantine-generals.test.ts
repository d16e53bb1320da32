import { describe, expect, it } from 'vitest';
import { runVariant } from '../run.js';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../testing.js';
import { byzantineGenerals } from './byzantine-generals.js';

describe('the byzantine-generals scenario', () => {
  it('splits the loyal generals under majority vote and the textbook rule on seeds 1..10', async () => {
    const unsafe = await runSeeds(byzantineGenerals, 'unsafe', 1, 10);
    const textbook = await runSeeds(byzantineGenerals, 'textbook', 1, 10);
    expect(unsafe.filter((r) => r.violated).length).toBeGreaterThan(0);
    expect(textbook.filter((r) => r.violated)).toHaveLength(10);
    expect(meanOf(textbook, 'split')).toBeGreaterThan(0);
  });

  it('holds with OM(2) on every seed 1..200', async () => {
    const safe = await runSeeds(byzantineGenerals, 'safe', 1, 200);
    expect(safe.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
  });

  it('with one traitor: no loyal general reaches two thirds, while OM(2) decides and agrees', async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const textbook = await runVariant(byzantineGenerals, 'textbook', {
        seed,
        knobs: { traitors: 1 },
      });
      expect(textbook.violated).toBe(true);
      expect(textbook.figures['undecided']).toBe(5);
      const safe = await runVariant(byzantineGenerals, 'safe', { seed, knobs: { traitors: 1 } });
      expect(safe.violated).toBe(false);
      expect(safe.figures['undecided']).toBe(0);
    }
  });

  it('replays a seed and points its evidence at a note', async () => {
    for (const variant of ['unsafe', 'textbook', 'safe'] as const)
      expect(await replayDifferences(byzantineGenerals, variant, 3)).toEqual([]);
    expect(await evidenceProblems(byzantineGenerals, 'textbook', 1)).toEqual([]);
  });
});

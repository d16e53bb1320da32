import { describe, expect, it } from 'vitest';
import { runVariant } from '../run.js';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../testing.js';
import { sagaCompensation } from './saga-compensation.js';

describe('lab: saga compensation', () => {
  it('plain steps leave half-done sagas on every seed 1..10', async () => {
    const runs = await runSeeds(sagaCompensation, 'unsafe', 1, 10);
    expect(runs.filter((r) => r.violated).length).toBe(10);
    expect(meanOf(runs, 'partialSagas')).toBeGreaterThan(1);
  });

  it('the orchestrator with compensations and a durable log ends every saga all or nothing on seeds 1..100', async () => {
    const runs = await runSeeds(sagaCompensation, 'safe', 1, 100);
    expect(runs.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
    expect(meanOf(runs, 'completed')).toBeGreaterThan(10);
  });

  it('shows the price: a half-done saga is visible while it runs, in the safe variant too', async () => {
    const runs = await runSeeds(sagaCompensation, 'safe', 1, 5);
    for (const r of runs) expect(r.figures['intermediateVisiblePercent']).toBeGreaterThan(5);
  });

  it('with no declined card the crash alone still breaks the plain steps on some seed', async () => {
    let violated = 0;
    for (let seed = 1; seed <= 20; seed++)
      if (
        (await runVariant(sagaCompensation, 'unsafe', { seed, knobs: { declinePercent: 0 } }))
          .violated
      )
        violated++;
    expect(violated).toBeGreaterThan(0);
    expect(violated).toBeLessThan(20);
  });

  it('replays a seed and points its evidence at a note', async () => {
    for (const variant of ['unsafe', 'safe'] as const)
      expect(await replayDifferences(sagaCompensation, variant, 4)).toEqual([]);
    expect(await evidenceProblems(sagaCompensation, 'unsafe', 1)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { runVariant } from '../run.js';
import type { VariantName } from '../types.js';
import { twoGenerals } from './two-generals.js';

async function violatedSeeds(variant: VariantName, seeds: number): Promise<number> {
  let violated = 0;
  for (let seed = 1; seed <= seeds; seed++)
    if ((await runVariant(twoGenerals, variant, { seed })).violated) violated++;
  return violated;
}

async function meanFigure(variant: VariantName, name: string): Promise<number> {
  let sum = 0;
  for (let seed = 1; seed <= 10; seed++)
    sum += (await runVariant(twoGenerals, variant, { seed })).figures[name] ?? Number.NaN;
  return sum / 10;
}

describe('the two-generals scenario', () => {
  it('violates in the unsafe and textbook variants on most seeds 1..10', async () => {
    expect(await violatedSeeds('unsafe', 10)).toBeGreaterThanOrEqual(8);
    expect(await violatedSeeds('textbook', 10)).toBeGreaterThanOrEqual(9);
  });

  it('holds in the safe variant on every seed 1..200', async () => {
    expect(await violatedSeeds('safe', 200)).toBe(0);
  });

  it('replays a seed: same trace hash and figures', async () => {
    for (const variant of ['unsafe', 'textbook', 'safe'] as const) {
      const a = await runVariant(twoGenerals, variant, { seed: 3 });
      const b = await runVariant(twoGenerals, variant, { seed: 3 });
      expect(b.traceHash).toBe(a.traceHash);
      expect(b.figures).toEqual(a.figures);
    }
  });

  it('points its evidence at a note of the trace', async () => {
    for (const variant of ['unsafe', 'textbook'] as const) {
      const run = await runVariant(twoGenerals, variant, { seed: 1, record: true });
      expect(run.violated).toBe(true);
      const evidence = run.evidence;
      expect(Number.isFinite(evidence?.timeMs)).toBe(true);
      expect(evidence?.operations?.length).toBeGreaterThan(0);
      const event = run.trace?.events.find((e) => e.index === evidence?.traceIndex);
      expect(event?.kind).toBe('note');
      expect(event?.timeMs).toBeCloseTo(evidence?.timeMs ?? Number.NaN, 6);
    }
  });

  it('loses orders without acknowledgement and duplicates them without de-duplication', async () => {
    expect(await meanFigure('unsafe', 'lostOrders')).toBeGreaterThan(1);
    expect(await meanFigure('textbook', 'lostOrders')).toBe(0);
    expect(await meanFigure('textbook', 'duplicatedOrders')).toBeGreaterThan(1);
    expect(await meanFigure('safe', 'duplicatedOrders')).toBe(0);
    expect(await meanFigure('safe', 'messages')).toBeGreaterThan(
      2 * (await meanFigure('unsafe', 'messages')),
    );
  });
});

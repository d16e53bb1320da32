import { describe, expect, it } from 'vitest';
import { runVariant } from '../run.js';
import { lwwClockSkew } from './lww-clock-skew.js';

const seeds = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('lab scenario lww-clock-skew', () => {
  it('points its evidence at the note of the lost write', async () => {
    const run = await runVariant(lwwClockSkew, 'unsafe', { seed: 1, record: true });
    expect(run.violated).toBe(true);
    const evidence = run.evidence;
    expect(Number.isFinite(evidence?.timeMs)).toBe(true);
    const event = run.trace?.events.find((e) => e.index === evidence?.traceIndex);
    expect(event?.kind).toBe('note');
    expect(String(event?.detail)).toMatch(/^accepts k\d+=\d+\.2 /);
    expect(evidence?.operations?.length).toBeGreaterThanOrEqual(2);
  });

  it('loses writes only with wall clocks, and keeps concurrent writes as siblings only with DVV', async () => {
    const unsafe = await runVariant(lwwClockSkew, 'unsafe', { seed: 3 });
    const safe = await runVariant(lwwClockSkew, 'safe', { seed: 3 });
    expect(unsafe.figures['lostWrites']).toBeGreaterThan(0);
    expect(safe.figures['lostWrites']).toBe(0);
    expect(unsafe.figures['siblingsKept']).toBe(0);
    expect(safe.figures['siblingsKept']).toBe(3);
  });

  it('holds for the wall clock too when the clocks agree', async () => {
    const run = await runVariant(lwwClockSkew, 'unsafe', { seed: 1, knobs: { skewMs: 0 } });
    expect(run.figures['lostWrites']).toBe(0);
  });

  it('a backwards step of a wall clock loses writes too; the HLC keeps them', async () => {
    const knobs = { skewMs: 0, stepBackMs: 100 };
    let lost = 0;
    for (const seed of seeds(10)) {
      lost +=
        (await runVariant(lwwClockSkew, 'unsafe', { seed, knobs })).figures['lostWrites'] ?? 0;
      expect((await runVariant(lwwClockSkew, 'safe', { seed, knobs })).violated).toBe(false);
    }
    expect(lost).toBeGreaterThan(0);
  });
});

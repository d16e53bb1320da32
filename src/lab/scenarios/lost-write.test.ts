import { describe, expect, it } from 'vitest';
import { runVariant } from '../run.js';
import { lostWrite } from './lost-write.js';

const seeds = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('lab: lost write', () => {
  it('names the operations of the lost write and crashes the server as often as asked', async () => {
    const run = await runVariant(lostWrite, 'unsafe', { seed: 1, record: true });
    expect(run.violated).toBe(true);
    expect(run.evidence?.operations?.length).toBeGreaterThan(0);
    expect(run.trace?.events.filter((e) => e.kind === 'crash').length).toBe(3);
  });

  it('with no crash the lossy server loses nothing (the crash is what bites)', async () => {
    for (const seed of seeds(1, 10))
      expect(
        (await runVariant(lostWrite, 'unsafe', { seed, knobs: { crashes: 0 } })).violated,
      ).toBe(false);
  });
});

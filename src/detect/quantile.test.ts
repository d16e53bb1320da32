import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencyQuantiles } from './quantile.js';

/** Reference: nearest-rank quantile of the last `window` samples, by sorting. */
function reference(samples: number[], window: number, q: number): number | undefined {
  const recent = samples.slice(-window).sort((a, b) => a - b);
  if (recent.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * recent.length));
  return recent[Math.min(rank, recent.length) - 1];
}

describe('LatencyQuantiles', () => {
  it('returns undefined while empty and exact order statistics after', () => {
    const lq = new LatencyQuantiles({ windowSize: 100 });
    expect(lq.quantile(0.5)).toBeUndefined();
    for (let i = 1; i <= 100; i++) lq.record(i);
    expect(lq.count).toBe(100);
    expect(lq.quantile(0)).toBe(1);
    expect(lq.quantile(0.5)).toBe(50);
    expect(lq.quantile(0.99)).toBe(99);
    expect(lq.quantile(1)).toBe(100);
  });

  it('forgets samples that leave the window', () => {
    const lq = new LatencyQuantiles({ windowSize: 4 });
    for (const v of [1000, 1000, 1000, 1000, 1, 2, 3, 4]) lq.record(v);
    expect(lq.count).toBe(4);
    expect(lq.quantile(1)).toBe(4);
    lq.reset();
    expect(lq.count).toBe(0);
  });

  it('validates options and inputs', () => {
    expect(() => new LatencyQuantiles({ windowSize: 0 })).toThrow(/windowSize/);
    const lq = new LatencyQuantiles();
    expect(() => lq.record(-1)).toThrow(/ms/);
    expect(() => lq.record(Number.NaN)).toThrow(/ms/);
    expect(() => lq.quantile(1.5)).toThrow(/q/);
  });

  it('matches a sorting reference (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 80 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (window, samples, q) => {
          const lq = new LatencyQuantiles({ windowSize: window });
          for (const s of samples) lq.record(s);
          expect(lq.quantile(q)).toBe(reference(samples, window, q));
        },
      ),
    );
  });
});

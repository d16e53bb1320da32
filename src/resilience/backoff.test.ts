import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../core/random.js';
import type { Random } from '../core/runtime.js';
import { Backoff } from './backoff.js';
import type { Jitter } from './backoff.js';

/** A Random whose next() returns a fixed value, to hit the exact ends of each jitter range. */
function fixed(u: number): Random {
  const r = new SeededRandom(1);
  r.next = () => u;
  return r;
}

const arbConfig = fc.record({
  baseMs: fc.double({ min: 0.5, max: 1000, noNaN: true }),
  capFactor: fc.double({ min: 1, max: 1e4, noNaN: true }),
  n: fc.integer({ min: 0, max: 80 }),
  u: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
});

describe('Backoff', () => {
  it('without jitter follows min(cap, base * 2^n) exactly', () => {
    const b = new Backoff({ baseMs: 5, capMs: 2000, jitter: 'none' });
    const delays = [0, 1, 2, 3, 8, 9, 30].map((n) => b.delayMs(n, 0, fixed(0.5)));
    expect(delays).toEqual([5, 10, 20, 40, 1280, 2000, 2000]);
  });

  it('constant backoff is always the base', () => {
    const b = new Backoff({ kind: 'constant', baseMs: 7, jitter: 'none' });
    expect([0, 1, 10].map((n) => b.delayMs(n, 0, fixed(0)))).toEqual([7, 7, 7]);
  });

  it('full jitter is random(0, t): bounds hit exactly at u = 0 and u -> 1', () => {
    fc.assert(
      fc.property(arbConfig, ({ baseMs, capFactor, n, u }) => {
        const b = new Backoff({ baseMs, capMs: baseMs * capFactor, jitter: 'full' });
        const t = Math.min(baseMs * capFactor, baseMs * 2 ** n);
        const d = b.delayMs(n, baseMs, fixed(u));
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(t === 0 ? 1 : t + 1e-9);
        expect(d).toBeCloseTo(u * t, 6);
      }),
    );
    expect(new Backoff({ baseMs: 10, capMs: 100, jitter: 'full' }).delayMs(3, 0, fixed(0))).toBe(0);
  });

  it('equal jitter is t/2 + random(0, t/2)', () => {
    fc.assert(
      fc.property(arbConfig, ({ baseMs, capFactor, n, u }) => {
        const b = new Backoff({ baseMs, capMs: baseMs * capFactor, jitter: 'equal' });
        const t = Math.min(baseMs * capFactor, baseMs * 2 ** n);
        const d = b.delayMs(n, baseMs, fixed(u));
        expect(d).toBeGreaterThanOrEqual(t / 2);
        expect(d).toBeLessThanOrEqual(t);
        expect(d).toBeCloseTo(t / 2 + (u * t) / 2, 6);
      }),
    );
    expect(new Backoff({ baseMs: 10, capMs: 100, jitter: 'equal' }).delayMs(2, 0, fixed(0))).toBe(
      20,
    );
  });

  it('decorrelated jitter is min(cap, random(base, previous * 3))', () => {
    fc.assert(
      fc.property(
        arbConfig,
        fc.double({ min: 0, max: 1e5, noNaN: true }),
        ({ baseMs, capFactor, u }, prevExtra) => {
          const capMs = baseMs * capFactor;
          const previous = baseMs + prevExtra;
          const b = new Backoff({ baseMs, capMs, jitter: 'decorrelated' });
          const d = b.delayMs(0, previous, fixed(u));
          expect(d).toBeGreaterThanOrEqual(baseMs);
          expect(d).toBeLessThanOrEqual(Math.min(capMs, previous * 3));
          expect(d).toBeCloseTo(Math.min(capMs, baseMs + u * (previous * 3 - baseMs)), 6);
        },
      ),
    );
    const b = new Backoff({ baseMs: 5, capMs: 2000, jitter: 'decorrelated' });
    expect(b.delayMs(0, b.initialPreviousMs, fixed(0))).toBe(5);
    expect(b.delayMs(0, 100, fixed(0.999999999))).toBeCloseTo(300, 3);
    expect(b.delayMs(0, 1000, fixed(0.999999999))).toBe(2000);
  });

  it('distributions: full jitter averages t/2, equal jitter 3t/4 (seeded)', () => {
    const random = new SeededRandom(42);
    const mean = (jitter: Jitter): number => {
      const b = new Backoff({ baseMs: 100, capMs: 100_000, jitter });
      let sum = 0;
      for (let i = 0; i < 20_000; i++) sum += b.delayMs(3, 100, random);
      return sum / 20_000;
    };
    // t = 800: uniform on [0, 800] has mean 400, on [400, 800] mean 600 (standard error ~1.6).
    expect(mean('full')).toBeGreaterThan(390);
    expect(mean('full')).toBeLessThan(410);
    expect(mean('equal')).toBeGreaterThan(595);
    expect(mean('equal')).toBeLessThan(605);
  });

  it('distributions: decorrelated jitter averages (base + 3 * previous) / 2 below the cap (seeded)', () => {
    const random = new SeededRandom(11);
    const b = new Backoff({ baseMs: 10, capMs: 100_000, jitter: 'decorrelated' });
    let sum = 0;
    for (let i = 0; i < 20_000; i++) sum += b.delayMs(0, 100, random);
    // Uniform on [10, 300]: mean 155, standard error ~0.6.
    expect(sum / 20_000).toBeGreaterThan(152);
    expect(sum / 20_000).toBeLessThan(158);
  });

  it('full jitter fills its range uniformly (chi-square over 10 bins, seeded)', () => {
    const random = new SeededRandom(7);
    const b = new Backoff({ baseMs: 10, capMs: 10_000, jitter: 'full' });
    const bins = new Array<number>(10).fill(0);
    const n = 10_000;
    for (let i = 0; i < n; i++) bins[Math.floor(b.delayMs(4, 10, random) / 16)]!++;
    const expected = n / 10;
    const chi2 = bins.reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(27.88); // p = 0.001 with 9 degrees of freedom
  });

  it('the cap bounds every variant, however many retries', () => {
    const random = new SeededRandom(3);
    for (const jitter of ['none', 'full', 'equal', 'decorrelated'] as const) {
      const b = new Backoff({ baseMs: 5, capMs: 2000, jitter });
      let previous = b.initialPreviousMs;
      for (let n = 0; n < 2000; n++) {
        previous = b.delayMs(n, previous, random);
        expect(previous).toBeLessThanOrEqual(2000);
        expect(Number.isFinite(previous)).toBe(true);
      }
    }
  });

  it('validates its options, naming the field', () => {
    expect(() => new Backoff({ baseMs: 0 })).toThrow(/baseMs/);
    expect(() => new Backoff({ baseMs: 10, capMs: 5 })).toThrow(/capMs/);
    expect(() => new Backoff({ factor: 0.5 })).toThrow(/factor/);
    expect(() => new Backoff({ jitter: 'half' as Jitter })).toThrow(/jitter/);
    expect(() => new Backoff({ kind: 'linear' as 'constant' })).toThrow(/kind/);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VectorClock } from './vector.js';

const node = fc.constantFrom('a', 'b', 'c', 'd');
/** A random clock: a random sequence of increments. */
const clockArb = fc
  .array(fc.tuple(node, fc.integer({ min: 0, max: 1000 })), { maxLength: 12 })
  .map((incs) => incs.reduce((vc, [n, t]) => vc.increment(n, t), VectorClock.empty()));

describe('VectorClock', () => {
  it('increments, merges and compares', () => {
    const a1 = VectorClock.empty().increment('a', 100);
    const b1 = a1.increment('b', 200);
    const a2 = a1.increment('a', 300);
    expect(a1.get('a')).toBe(1);
    expect(a1.get('b')).toBe(0);
    expect(b1.compare(a1)).toBe('after');
    expect(a1.compare(b1)).toBe('before');
    expect(a2.compare(b1)).toBe('concurrent');
    expect(a1.compare(VectorClock.from({ a: 1 }))).toBe('equal');
    const m = a2.merge(b1);
    expect(m.toString()).toBe('{a:2,b:1}');
    expect(m.descends(a2) && m.descends(b1)).toBe(true);
    expect(m.dominates(a2)).toBe(true);
    expect(m.dominates(m)).toBe(false);
    expect(a1.toString()).toBe('{a:1}'); // values are immutable
  });

  it('round-trips through JSON and keeps the later timestamp on equal counters', () => {
    const x = VectorClock.from({ a: { counter: 2, timestampMs: 5 } });
    const y = VectorClock.from({ a: { counter: 2, timestampMs: 9 }, b: 0 });
    expect(y.size).toBe(1);
    expect(x.merge(y).entry('a')).toEqual({ counter: 2, timestampMs: 9 });
    const round = VectorClock.from(
      JSON.parse(JSON.stringify(x.merge(y))) as Record<
        string,
        { counter: number; timestampMs: number }
      >,
    );
    expect(round.equals(x.merge(y))).toBe(true);
    expect(() => VectorClock.from({ a: -1 })).toThrow(/a.counter/);
  });

  describe('pruning (Riak vclock:prune semantics)', () => {
    // Five entries with timestamps 1000..5000 ms.
    const five = ['n1', 'n2', 'n3', 'n4', 'n5'].reduce(
      (vc, n, i) => vc.increment(n, (i + 1) * 1000),
      VectorClock.empty(),
    );

    it('keeps clocks at or below smallSize', () => {
      expect(five.prune(1e9, { smallSize: 5, bigSize: 5 })).toBe(five);
    });

    it('drops oldest entries beyond bigSize unless they are young', () => {
      const pruned = five.prune(100_000, { smallSize: 2, bigSize: 3, youngMs: 10_000, oldMs: 1e9 });
      expect(pruned.nodes()).toEqual(['n3', 'n4', 'n5']);
      // At now = 12,500 ms only n1 and n2 are older than youngMs, so pruning stops at n3.
      const young = five.prune(12_500, { smallSize: 1, bigSize: 1, youngMs: 10_000, oldMs: 1e9 });
      expect(young.nodes()).toEqual(['n3', 'n4', 'n5']);
    });

    it('drops entries older than oldMs down to smallSize', () => {
      const pruned = five.prune(4_500, { smallSize: 1, bigSize: 10, youngMs: 0, oldMs: 2_000 });
      // Ages: 3500, 2500, 1500, 500, -500: n1 and n2 are old.
      expect(pruned.nodes()).toEqual(['n3', 'n4', 'n5']);
      expect(five.prune(1e9, { smallSize: 2, bigSize: 10, youngMs: 0, oldMs: 0 }).nodes()).toEqual([
        'n4',
        'n5',
      ]);
    });

    it('validates thresholds', () => {
      expect(() => five.prune(0, { smallSize: 10, bigSize: 5 })).toThrow(/bigSize/);
      expect(() => five.prune(0, { youngMs: -1 })).toThrow(/youngMs/);
    });
  });

  describe('algebra (property)', () => {
    it('merge is commutative, associative and idempotent', () => {
      fc.assert(
        fc.property(clockArb, clockArb, clockArb, (x, y, z) => {
          expect(x.merge(y).equals(y.merge(x))).toBe(true);
          expect(
            x
              .merge(y)
              .merge(z)
              .equals(x.merge(y.merge(z))),
          ).toBe(true);
          expect(x.merge(x).equals(x)).toBe(true);
          expect(x.merge(y).toJSON()).toEqual(y.merge(x).toJSON());
        }),
      );
    });

    it('compare is consistent with descends and dominates', () => {
      fc.assert(
        fc.property(clockArb, clockArb, (x, y) => {
          const order = x.compare(y);
          const mirror = {
            before: 'after',
            after: 'before',
            equal: 'equal',
            concurrent: 'concurrent',
          } as const;
          expect(y.compare(x)).toBe(mirror[order]);
          expect(order === 'after' || order === 'equal').toBe(x.descends(y));
          expect(order === 'after').toBe(x.dominates(y));
          expect(x.merge(y).descends(x) && x.merge(y).descends(y)).toBe(true);
          const next = x.increment('a');
          expect(next.dominates(x)).toBe(true);
        }),
      );
    });
  });
});

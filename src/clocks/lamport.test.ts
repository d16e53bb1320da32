import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isClockCounterOverflowError } from './errors.js';
import { LamportClock, compareLamport } from './lamport.js';

describe('LamportClock', () => {
  it('ticks, sends and receives past the sender', () => {
    const a = new LamportClock({ nodeId: 'a' });
    const b = new LamportClock({ nodeId: 'b', initialTime: 10 });
    expect(a.tick()).toEqual({ time: 1, node: 'a' });
    const m = a.send();
    expect(m.time).toBe(2);
    expect(b.receive(m)).toEqual({ time: 11, node: 'b' });
    expect(a.receive(b.send())).toEqual({ time: 13, node: 'a' });
    expect(a.receive(5).time).toBe(14);
  });

  it('orders timestamps totally, breaking ties by node id', () => {
    const stamps = [
      { time: 2, node: 'b' },
      { time: 1, node: 'z' },
      { time: 2, node: 'a' },
    ];
    expect([...stamps].sort(compareLamport)).toEqual([
      { time: 1, node: 'z' },
      { time: 2, node: 'a' },
      { time: 2, node: 'b' },
    ]);
    expect(compareLamport({ time: 3, node: 'x' }, { time: 3, node: 'x' })).toBe(0);
  });

  it('validates options and refuses to overflow', () => {
    expect(() => new LamportClock({ nodeId: '' })).toThrow(/nodeId/);
    expect(() => new LamportClock({ nodeId: 'a', initialTime: -1 })).toThrow(/initialTime/);
    const a = new LamportClock({ nodeId: 'a' });
    expect(() => a.receive(1.5)).toThrow(/remote.time/);
    let caught: unknown;
    try {
      a.receive(Number.MAX_SAFE_INTEGER);
    } catch (e) {
      caught = e;
    }
    expect(isClockCounterOverflowError(caught)).toBe(true);
    expect(a.time).toBe(0);
  });

  it('respects happened-before under random messaging (property)', () => {
    const op = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.nat());
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const clocks = ['a', 'b', 'c'].map((nodeId) => new LamportClock({ nodeId }));
        const inflight: { to: number; stamp: { time: number; node: string } }[] = [];
        const last = [0, 0, 0];
        for (const [from, to, pick] of ops) {
          const clock = clocks[from] as LamportClock;
          if (pick % 2 === 0 || inflight.length === 0) {
            const stamp = clock.send();
            expect(stamp.time).toBeGreaterThan(last[from] as number);
            last[from] = stamp.time;
            inflight.push({ to, stamp });
          } else {
            const [m] = inflight.splice(pick % inflight.length, 1);
            if (m === undefined) continue;
            const received = (clocks[m.to] as LamportClock).receive(m.stamp);
            expect(compareLamport(m.stamp, received)).toBeLessThan(0);
            expect(received.time).toBeGreaterThan(last[m.to] as number);
            last[m.to] = received.time;
          }
        }
      }),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { InvariantChecker, invariant } from './invariant.js';

interface Event {
  readonly leaders: number;
  readonly term: number;
}

const oneLeader = invariant<Event>('one leader', (e) => e.leaders <= 1);
const termPositive = invariant<Event>('term > 0', (e, i) =>
  e.term > 0 ? true : `term ${e.term} at ${i}`,
);

describe('InvariantChecker', () => {
  it('keeps the first violation with its event index', () => {
    const checker = new InvariantChecker([oneLeader, termPositive]);
    const trace: Event[] = [
      { leaders: 1, term: 1 },
      { leaders: 1, term: 2 },
      { leaders: 2, term: 2 },
      { leaders: 1, term: 0 },
    ];
    expect(checker.observe(trace[0] as Event)).toBe(true);
    expect(checker.observeAll(trace.slice(1))).toEqual({
      name: 'one leader',
      index: 2,
      event: trace[2],
      message: 'one leader violated at event 2',
    });
    expect(checker.ok).toBe(false);
    expect(checker.events).toBe(3);
    expect(checker.observe({ leaders: 1, term: 0 })).toBe(false);
    expect(checker.violation?.name).toBe('one leader');
  });

  it('uses the message a predicate returns and counts a throw as a violation', () => {
    const checker = new InvariantChecker([termPositive]);
    expect(checker.observeAll([{ leaders: 0, term: 0 }])?.message).toBe('term 0 at 0');
    const throwing = new InvariantChecker([
      invariant<Event>('boom', () => {
        throw new Error('no state');
      }),
    ]);
    expect(throwing.observeAll([{ leaders: 0, term: 1 }])?.message).toBe('boom: threw no state');
  });

  it('holds while every predicate does', () => {
    const checker = new InvariantChecker([oneLeader, invariant<Event>('void ok', () => undefined)]);
    expect(
      checker.observeAll([
        { leaders: 0, term: 1 },
        { leaders: 1, term: 1 },
      ]),
    ).toBeUndefined();
    expect(checker.ok).toBe(true);
  });

  it('validates its arguments', () => {
    expect(() => new InvariantChecker([])).toThrow(/invariants/);
    expect(() => invariant('', () => true)).toThrow(/name/);
    expect(() => invariant('x', 3 as unknown as () => boolean)).toThrow(/predicate/);
  });
});

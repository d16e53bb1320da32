import { describe, expect, it } from 'vitest';
import { check } from './checker.js';
import type { HistoryEvent } from './history.js';
import type { Model } from './model.js';
import { kv, register } from './models.js';

/**
 * `readers` processes each start a read that times out (`info`) while two writers keep writing:
 * the shape of a run where a server was unreachable for a while.
 */
function timedOutReads(readers: number, lastRead: number | null): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  for (let r = 0; r < readers; r++) {
    events.push({ process: `r${r}`, type: 'invoke', f: 'read', value: null });
    events.push({ process: `r${r}`, type: 'info', f: 'read', value: null });
  }
  for (let v = 1; v <= 20; v++) {
    const writer = `w${v % 2}`;
    events.push({ process: writer, type: 'invoke', f: 'write', value: v });
    events.push({ process: writer, type: 'ok', f: 'write', value: v });
  }
  events.push({ process: 'reader', type: 'invoke', f: 'read', value: null });
  events.push({ process: 'reader', type: 'ok', f: 'read', value: lastRead });
  return events;
}

/** The same model without its `readOnly` hint: the checker must keep every operation. */
function withoutHint<S>(model: Model<S>): Model<S> {
  const { readOnly: _readOnly, simplify: _simplify, ...rest } = model;
  return rest;
}

describe('indeterminate read-only operations', () => {
  it('are dropped: 40 timed-out reads fit a tight cache bound', () => {
    const result = check(timedOutReads(40, 20), register(), { maxCacheEntries: 1000 });
    expect(result.kind).toBe('legal');
    expect(result.operations).toBe(61);
  });

  it('still leave a violation by another operation illegal, found without the blow-up', () => {
    const history = timedOutReads(40, 3);
    const result = check(history, register(), { maxCacheEntries: 1000 });
    expect(result.kind).toBe('illegal');
    if (result.kind !== 'illegal') return;
    expect(result.counterexample.failing?.f).toBe('read');
    expect(result.counterexample.failing?.output).toBe(3);
    // The dropped reads are not part of the counterexample's partition.
    expect(result.counterexample.operations.every((op) => op.status !== 'info')).toBe(true);
    // Without the hint, refuting the history means trying every subset of the reads.
    const slow = check(history, withoutHint(register()), { maxCacheEntries: 1000 });
    expect(slow).toMatchObject({ kind: 'unknown', reason: 'cache-limit' });
  });

  it('apply to the kv model per key, and to sequential consistency', () => {
    const events: HistoryEvent[] = [];
    for (let r = 0; r < 30; r++) {
      events.push({ process: r, type: 'invoke', f: 'get', key: 'a', value: null });
      events.push({ process: r, type: 'info', f: 'get', key: 'a', value: null });
    }
    events.push({ process: 'w', type: 'invoke', f: 'put', key: 'a', value: 'x' });
    events.push({ process: 'w', type: 'ok', f: 'put', key: 'a', value: 'x' });
    events.push({ process: 'g', type: 'invoke', f: 'get', key: 'a', value: null });
    events.push({ process: 'g', type: 'ok', f: 'get', key: 'a', value: 'y' });
    for (const criterion of ['linearizable', 'sequential'] as const) {
      const result = check(events, kv(), { criterion, maxCacheEntries: 1000 });
      expect(result.kind).toBe('illegal');
    }
  });

  it('never drop an indeterminate write, which may have taken effect', () => {
    const events: HistoryEvent[] = [
      { process: 0, type: 'invoke', f: 'write', value: 1 },
      { process: 0, type: 'info', f: 'write', value: null },
      { process: 1, type: 'invoke', f: 'read', value: null },
      { process: 1, type: 'ok', f: 'read', value: 1 },
    ];
    expect(check(events, register()).kind).toBe('legal');
  });

  it('timed-out writes nobody read are simplified away; a read one is kept', () => {
    // 30 writers time out concurrently, then one read sees a value nobody acknowledged.
    const history = (timedOutValue: number): HistoryEvent[] => {
      const events: HistoryEvent[] = [];
      for (let w = 0; w < 30; w++) {
        events.push({ process: w, type: 'invoke', f: 'write', value: timedOutValue + w });
        events.push({ process: w, type: 'info', f: 'write', value: null });
      }
      events.push({ process: 'a', type: 'invoke', f: 'write', value: 1 });
      events.push({ process: 'a', type: 'ok', f: 'write', value: 1 });
      events.push({ process: 'b', type: 'invoke', f: 'read', value: null });
      events.push({ process: 'b', type: 'ok', f: 'read', value: 2 });
      return events;
    };
    const bounded = { maxCacheEntries: 1000 };
    const result = check(history(100), register(), bounded);
    expect(result.kind).toBe('illegal');
    if (result.kind === 'illegal') expect(result.counterexample.operations).toHaveLength(2);
    expect(check(history(100), withoutHint(register()), bounded).kind).toBe('unknown');
    // A timed-out write of the value read (2 = 2 + 0) explains the read: legal.
    expect(check(history(2), register(), bounded).kind).toBe('legal');
  });

  it('a simplify that removes a completed operation is rejected', () => {
    const bad: Model<unknown> = { ...register(), simplify: (ops) => ops.slice(1) };
    const events: HistoryEvent[] = [
      { process: 0, type: 'invoke', f: 'write', value: 1 },
      { process: 0, type: 'ok', f: 'write', value: 1 },
    ];
    expect(() => check(events, bad)).toThrow(/register\.simplify/);
  });
});

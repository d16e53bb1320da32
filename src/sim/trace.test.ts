import { describe, expect, it } from 'vitest';
import { AssertionError } from '../core/assert.js';
import { History } from './history.js';
import { Simulation } from './simulation.js';
import { Trace } from './trace.js';

describe('Trace', () => {
  it('hashes equal sequences equally and any difference differently', () => {
    const build = (mutate: (t: Trace) => void) => {
      const t = new Trace({ seed: 1, record: false });
      t.add(1, 'send', 'a', 'a', 'b', 1);
      mutate(t);
      return t.hash();
    };
    const base = build((t) => t.add(2, 'deliver', 'b', 'a', 'b', 1));
    expect(build((t) => t.add(2, 'deliver', 'b', 'a', 'b', 1))).toBe(base);
    const variants = [
      build((t) => t.add(2.000001, 'deliver', 'b', 'a', 'b', 1)),
      build((t) => t.add(2, 'drop', 'b', 'a', 'b', 1)),
      build((t) => t.add(2, 'deliver', 'c', 'a', 'b', 1)),
      build((t) => t.add(2, 'deliver', 'b', 'a', 'b', 2)),
      build((t) => t.add(2, 'deliver', 'b', 'a', 'b', 1, 'x')),
      build(() => undefined),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
  });

  it('validates maxEvents', () => {
    expect(() => new Trace({ seed: 1, maxEvents: -1 })).toThrow(/trace.maxEvents/);
  });
});

describe('History', () => {
  it('records invoke and completion events with process, f, value and virtual time', () => {
    let now = 0;
    const h = new History(() => now);
    const op = h.invoke('c1', 'write', 3);
    now = 5;
    expect(h.pending).toBe(1);
    h.complete(op, 'ok', 3);
    const op2 = h.invoke('c1', 'read', null);
    now = 9;
    h.complete(op2, 'info', undefined, 'timeout');
    expect(h.ops).toEqual([
      { index: 0, type: 'invoke', process: 'c1', f: 'write', value: 3, timeMs: 0 },
      { index: 1, type: 'ok', process: 'c1', f: 'write', value: 3, timeMs: 5 },
      { index: 2, type: 'invoke', process: 'c1', f: 'read', value: null, timeMs: 5 },
      {
        index: 3,
        type: 'info',
        process: 'c1',
        f: 'read',
        value: undefined,
        timeMs: 9,
        error: 'timeout',
      },
    ]);
  });

  it('allows one pending operation per process and exactly one completion', () => {
    const h = new History(() => 0);
    const op = h.invoke('c1', 'read', null);
    expect(() => h.invoke('c1', 'read', null)).toThrow(AssertionError);
    h.invoke('c2', 'read', null);
    h.complete(op, 'fail');
    expect(() => h.complete(op, 'ok')).toThrow(AssertionError);
  });

  it('is bounded', () => {
    expect(() => new History(() => 0, undefined, -1)).toThrow(/maxEvents.*-1/);
    expect(() => new History(() => 0, undefined, Number.NaN)).toThrow(/maxEvents/);
    const h = new History(() => 0, undefined, 2);
    h.complete(h.invoke('c1', 'read', null), 'ok', null);
    expect(() => h.invoke('c1', 'read', null)).toThrow(RangeError);
  });

  it('appears in the simulation trace as op events', () => {
    const sim = new Simulation({ seed: 1 });
    sim.history.complete(sim.history.invoke('p', 'write', 1), 'ok', 1);
    expect(sim.trace.events.map((e) => [e.kind, e.node, e.detail])).toEqual([
      ['op', 'p', { type: 'invoke', f: 'write', value: 1 }],
      ['op', 'p', { type: 'ok', f: 'write', value: 1 }],
    ]);
  });
});

describe('Node inbox bound', () => {
  it('drops arrivals past maxInbox while paused', () => {
    const sim = new Simulation({ seed: 1 });
    const a = sim.node('a');
    const b = sim.node('b', { maxInbox: 2 });
    const got: unknown[] = [];
    b.onMessage((m) => got.push(m.payload));
    b.pause(100);
    for (let i = 0; i < 4; i++) a.send('b', i);
    sim.runSync();
    expect(got).toEqual([0, 1]);
    expect(sim.trace.events.filter((e) => e.detail === 'inbox-full')).toHaveLength(2);
    expect(() => sim.node('c', { maxInbox: -1 })).toThrow(/maxInbox/);
  });
});

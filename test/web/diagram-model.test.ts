import { describe, expect, it } from 'vitest';
import type { TraceEvent, TraceJson, TraceKind } from '../../src/sim/trace.js';
import {
  buildDiagram,
  formatMs,
  initialWindow,
  lowerBound,
  nearestEvent,
  niceStep,
  positionOfIndex,
  visibleMessageRange,
} from '../../web/src/diagram/model.js';

type Partial = Omit<TraceEvent, 'index'>;

function trace(events: Partial[], nodes = ['a', 'b', 'c']): TraceJson {
  return {
    version: 1,
    seed: 1,
    hash: '0',
    count: events.length,
    truncated: false,
    nodes,
    events: events.map((e, index) => ({ index, ...e })),
  };
}

const ev = (
  timeMs: number,
  kind: TraceKind,
  rest: Omit<Partial, 'timeMs' | 'kind'> = {},
): Partial => ({
  timeMs,
  kind,
  ...rest,
});
const send = (t: number, from: string, to: string, msg: number) =>
  ev(t, 'send', { node: from, from, to, msg });
const deliver = (t: number, from: string, to: string, msg: number) =>
  ev(t, 'deliver', { node: to, from, to, msg });

describe('buildDiagram', () => {
  it('pairs sends with deliveries and drops, and keeps duplicates as arrows of their own', () => {
    const m = buildDiagram(
      trace([
        send(0, 'a', 'b', 1),
        send(1, 'a', 'c', 2),
        ev(1, 'drop', { node: 'a', from: 'a', to: 'c', msg: 2, detail: 'partition' }),
        send(2, 'b', 'a', 3),
        ev(2, 'duplicate', { node: 'b', from: 'b', to: 'a', msg: 3 }),
        deliver(3, 'a', 'b', 1),
        deliver(4, 'b', 'a', 3),
        deliver(6, 'b', 'a', 3),
        send(7, 'c', 'a', 4),
        ev(8, 'drop', { node: 'a', from: 'c', to: 'a', msg: 4, detail: 'crashed' }),
        send(9, 'a', 'b', 5),
      ]),
      20,
    );
    expect(m.lanes).toEqual(['a', 'b', 'c']);
    const summary = m.messages.map((a) => [
      a.msg,
      a.fromLane,
      a.toLane,
      a.sendMs,
      a.endMs,
      a.fate,
      a.duplicate,
      a.reason,
    ]);
    expect(summary).toEqual([
      [1, 0, 1, 0, 3, 'delivered', false, undefined],
      [2, 0, 2, 1, 1, 'dropped', false, 'partition'],
      [3, 1, 0, 2, 4, 'delivered', false, undefined],
      [3, 1, 0, 2, 6, 'delivered', true, undefined],
      [4, 2, 0, 7, 8, 'dropped', false, 'crashed'],
      [5, 0, 1, 9, 20, 'in-flight', false, undefined],
    ]);
    expect(m.longestMessageMs).toBe(11);
    // Every message event points at its arrow; the duplicate's second delivery at the second arrow.
    expect(m.messageOf[5]).toBe(0);
    expect(m.messageOf[7]).toBe(3);
    expect(m.messageOf[4]).toBe(-1);
    expect(visibleMessageRange(m, 10, 12)).toEqual([0, 6]);
  });

  it('shades pauses, crashes (open ones to the end) and network faults until healed', () => {
    const m = buildDiagram(
      trace([
        ev(1, 'pause', { node: 'a', detail: 300 }),
        ev(2, 'fault', {
          detail: { kind: 'partition', groups: [['a'], ['b', 'c']], durationMs: 50 },
        }),
        ev(5, 'fault', { detail: { kind: 'isolate', node: 'c' } }),
        ev(10, 'fault', { detail: { kind: 'heal' } }),
        ev(12, 'crash', { node: 'b', detail: 1 }),
        ev(301, 'resume', { node: 'a' }),
        ev(320, 'fault', { detail: { kind: 'loss', probability: 0.3, durationMs: 10 } }),
      ]),
      400,
    );
    const shaded = m.intervals.map((i) => [i.kind, i.lane, i.startMs, i.endMs, i.label]);
    expect(shaded).toEqual([
      ['paused', 0, 1, 301, 'paused 300 ms'],
      ['partition', -1, 2, 10, 'partition a | b, c'],
      ['isolated', 2, 5, 10, 'isolated'],
      ['crashed', 1, 12, 400, 'crashed'],
      ['loss', -1, 320, 330, 'message loss 30%'],
    ]);
  });

  it('pairs operations per node, leaving unfinished ones open to the end', () => {
    const m = buildDiagram(
      trace([
        ev(0, 'op', { node: 'a', detail: { type: 'invoke', f: 'write', value: 3 } }),
        ev(1, 'op', { node: 'b', detail: { type: 'invoke', f: 'read', value: null } }),
        ev(2, 'op', { node: 'a', detail: { type: 'ok', f: 'write', value: 3 } }),
        ev(3, 'op', { node: 'b', detail: { type: 'ok', f: 'read', value: 3 } }),
        ev(4, 'op', { node: 'a', detail: { type: 'invoke', f: 'write', value: 4 } }),
        ev(5, 'op', { node: 'a', detail: { type: 'info', f: 'write', value: 4 } }),
        ev(6, 'op', { node: 'c', detail: { type: 'invoke', f: 'read', value: null } }),
      ]),
      10,
    );
    expect(m.operations.map((o) => [o.lane, o.startMs, o.endMs, o.outcome, o.label])).toEqual([
      [0, 0, 2, 'ok', 'write 3'],
      [1, 1, 3, 'ok', 'read → 3'],
      [0, 4, 5, 'info', 'write 4 ?'],
      [2, 6, 10, 'open', 'read'],
    ]);
  });

  it('places the evidence at its trace index, else at the nearest event of its node', () => {
    const events = [
      ev(0, 'note', { node: 'a', detail: 'x' }),
      ev(5, 'note', { node: 'b', detail: 'y' }),
      ev(6, 'note', { node: 'a', detail: 'z' }),
    ];
    const byIndex = buildDiagram(trace(events), 10, { timeMs: 5, summary: 's', traceIndex: 1 });
    expect(byIndex.evidence).toMatchObject({ at: 1, lane: 1, summary: 's', operations: [] });
    const byTime = buildDiagram(trace(events), 10, { timeMs: 5, summary: 's', node: 'a' });
    expect(byTime.evidence).toMatchObject({ at: 2, lane: 0 });
    expect(nearestEvent(byTime, 0.4)).toBe(0);
  });

  it('ends a truncated trace at its last stored event', () => {
    const t = { ...trace([send(0, 'a', 'b', 1), send(4, 'a', 'b', 2)]), truncated: true, count: 9 };
    const m = buildDiagram(t, 100);
    expect(m.endMs).toBe(4);
    expect(m.truncated).toBe(true);
    expect(m.messages.map((a) => [a.fate, a.endMs])).toEqual([
      ['in-flight', 4],
      ['in-flight', 4],
    ]);
  });

  it('adds lanes for nodes that appear only in events', () => {
    const m = buildDiagram(trace([send(0, 'x', 'a', 1)], ['a']), 1);
    expect(m.lanes).toEqual(['a', 'x']);
  });
});

describe('helpers', () => {
  it('binary searches times and trace indexes', () => {
    const times = Float64Array.from([0, 1, 1, 2, 5]);
    expect(lowerBound(times, 1)).toBe(1);
    expect(lowerBound(times, 1.5)).toBe(3);
    expect(lowerBound(times, 9)).toBe(5);
    const events = [0, 2, 3, 7].map((index) => ({ index, timeMs: index, kind: 'note' as const }));
    expect(positionOfIndex(events, 3)).toBe(2);
    expect(positionOfIndex(events, 4)).toBe(-1);
  });

  it('opens long runs on a window of about 160 events around the evidence', () => {
    const events = Array.from({ length: 1000 }, (_, i) => ev(i, 'note', { node: 'a', detail: i }));
    const m = buildDiagram(trace(events), 1000);
    const [s, e] = initialWindow(m, 500);
    expect(s).toBeLessThan(500);
    expect(e).toBeGreaterThan(500);
    expect(e - s).toBeGreaterThan(150);
    expect(e - s).toBeLessThan(200);
    expect(initialWindow(buildDiagram(trace(events.slice(0, 100)), 100))).toEqual([0, 100]);
  });

  it('formats durations and picks round axis steps', () => {
    expect(formatMs(0)).toBe('0 ms');
    expect(formatMs(0.25)).toBe('0.25 ms');
    expect(formatMs(12.34)).toBe('12.3 ms');
    expect(formatMs(1500)).toBe('1.50 s');
    expect(niceStep(0.7)).toBe(1);
    expect(niceStep(140)).toBe(200);
    expect(niceStep(3000)).toBe(5000);
  });
});

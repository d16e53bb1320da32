import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Runtime } from '../core/runtime.js';
import { SeededRandom } from '../core/random.js';
import { check } from './checker.js';
import { inputOf } from './describe.js';
import type { HistoryEvent, Operation, Status } from './history.js';
import { toOperations } from './history.js';
import type { Model } from './model.js';
import type { KvState } from './models.js';
import { casRegister, kv, queue, register } from './models.js';

// ---------------------------------------------------------------------------------------------
// Brute-force reference: enumerate orders that respect the criterion, indeterminate ops optional.
// ---------------------------------------------------------------------------------------------

/**
 * True when some order of the operations is legal: every completed operation appears once, an
 * indeterminate one at most once, and `mayPrecede(placedLater, x)` never forbids placing x.
 */
function bruteForce<S>(ops: readonly Operation[], model: Model<S>, sequential: boolean): boolean {
  // `before(a, b)`: a must come before b when both are in the order.
  // An indeterminate operation never returns (ret = Infinity), so it precedes nothing.
  const before = (a: Operation, b: Operation): boolean =>
    a.ret < b.call && (!sequential || a.process === b.process);
  // The answer depends only on (operations left, state): remembering dead ends keeps the
  // enumeration exhaustive but stops it from re-exploring the same configuration (histories
  // with many indeterminate operations would otherwise take minutes).
  const deadEnds = new Set<string>();
  const search = (remaining: readonly Operation[], state: S): boolean => {
    if (remaining.every((op) => op.status === 'info')) return true;
    const key = `${remaining.map((op) => op.id).join(',')}|${JSON.stringify(state)}`;
    if (deadEnds.has(key)) return false;
    if (searchFrom(remaining, state)) return true;
    deadEnds.add(key);
    return false;
  };
  const searchFrom = (remaining: readonly Operation[], state: S): boolean => {
    for (const x of remaining) {
      const rest = remaining.filter((y) => y !== x);
      // Leaving an indeterminate operation out is always an option.
      if (x.status === 'info' && search(rest, state)) return true;
      if (remaining.some((y) => y !== x && before(y, x))) continue;
      const r = model.step(state, inputOf(x), { status: x.status, value: x.output });
      if (r.ok && search(rest, r.next)) return true;
    }
    return false;
  };
  return search(ops, model.init());
}

// ---------------------------------------------------------------------------------------------
// Random histories: up to 3 processes, each running its operations one at a time.
// ---------------------------------------------------------------------------------------------

interface Spec {
  process: number;
  f: 'read' | 'write' | 'cas';
  a: number;
  b: number;
  status: Status;
}

const specArb = fc.record({
  process: fc.integer({ min: 0, max: 2 }),
  f: fc.constantFrom<'read' | 'write' | 'cas'>('read', 'write', 'cas'),
  a: fc.integer({ min: 0, max: 2 }),
  b: fc.integer({ min: 0, max: 2 }),
  status: fc.constantFrom<Status>('ok', 'ok', 'fail', 'info'),
});

/** Interleaves the per-process operations following `schedule`, producing events. */
function buildEvents(specs: readonly Spec[], schedule: readonly number[]): HistoryEvent[] {
  const queues: Spec[][] = [[], [], []];
  for (const s of specs) queues[s.process]?.push(s);
  const busy: (Spec | undefined)[] = [undefined, undefined, undefined];
  const events: HistoryEvent[] = [];
  let k = 0;
  const live = (): number[] =>
    [0, 1, 2].filter((p) => busy[p] !== undefined || (queues[p]?.length ?? 0) > 0);
  for (let alive = live(); alive.length > 0; alive = live()) {
    const p = alive[(schedule[k++ % Math.max(1, schedule.length)] ?? 0) % alive.length] as number;
    const open = busy[p];
    if (open === undefined) {
      const s = queues[p]?.shift() as Spec;
      busy[p] = s;
      const value = s.f === 'read' ? null : s.f === 'write' ? s.a : [s.a, s.b];
      events.push({ process: p, type: 'invoke', f: s.f, value });
    } else {
      busy[p] = undefined;
      const value =
        open.f === 'read'
          ? open.a === 0
            ? null
            : open.a
          : open.f === 'write'
            ? open.a
            : [open.a, open.b];
      events.push({ process: p, type: open.status, f: open.f, value });
    }
  }
  return events;
}

const historyArb = fc
  .tuple(fc.array(specArb, { maxLength: 10 }), fc.array(fc.nat(), { minLength: 1, maxLength: 30 }))
  .map(([specs, schedule]) => buildEvents(specs, schedule));

describe('check against a brute-force reference', () => {
  it('agrees on linearizability for random small histories', () => {
    fc.assert(
      fc.property(historyArb, (events) => {
        const ops = toOperations(events);
        const expected = bruteForce(ops, casRegister(), false);
        const result = check(ops, casRegister());
        expect(result.kind).toBe(expected ? 'legal' : 'illegal');
      }),
      { numRuns: 1000 },
    );
  });

  it('agrees on sequential consistency for random small histories', () => {
    fc.assert(
      fc.property(historyArb, (events) => {
        const ops = toOperations(events);
        const expected = bruteForce(ops, casRegister(), true);
        const result = check(ops, casRegister(), { criterion: 'sequential' });
        expect(result.kind).toBe(expected ? 'legal' : 'illegal');
      }),
      { numRuns: 1000 },
    );
  });

  it('finds both verdicts among the generated histories (the property is not vacuous)', () => {
    const kinds = new Set(
      fc.sample(historyArb, { numRuns: 200, seed: 7 }).map((e) => check(e, casRegister()).kind),
    );
    expect([...kinds].sort()).toEqual(['illegal', 'legal']);
  });

  // Read/write histories with many timeouts: the register model drops timed-out reads and
  // unobserved timed-out writes before the search; the brute force keeps everything.
  const timeoutSpecArb = specArb.map((s) => ({
    ...s,
    f: s.f === 'cas' ? ('write' as const) : s.f,
    status: s.status === 'fail' ? ('info' as const) : s.status,
  }));
  const readWriteArb = fc
    .tuple(
      fc.array(timeoutSpecArb, { maxLength: 10 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 30 }),
    )
    .map(([specs, schedule]) => buildEvents(specs, schedule));

  it('agrees with the register model, which simplifies indeterminate operations away', () => {
    for (const criterion of ['linearizable', 'sequential'] as const) {
      fc.assert(
        fc.property(readWriteArb, (events) => {
          const ops = toOperations(events);
          const expected = bruteForce(ops, register(), criterion === 'sequential');
          expect(check(ops, register(), { criterion }).kind).toBe(expected ? 'legal' : 'illegal');
        }),
        { numRuns: 1000 },
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Key-value histories: the checker splits them per key (linearizability) or searches the product
// of the keys (sequential consistency); the reference searches the whole history with one state
// holding every key, so it checks both the split and the product.
// ---------------------------------------------------------------------------------------------

/** A key-value store over all keys at once, without partitions: the reference's model. */
const wholeKv: Model<Readonly<Record<string, string>>> = {
  name: 'whole-kv',
  init: () => ({}),
  step(state, input, output) {
    const key = input.key as string;
    const current = state[key] ?? '';
    if (input.f === 'get') {
      return output.status !== 'ok' || output.value === current
        ? { ok: true, next: state }
        : { ok: false };
    }
    if (output.status === 'fail') return { ok: true, next: state };
    const value = input.f === 'put' ? (input.value as string) : current + (input.value as string);
    return { ok: true, next: { ...state, [key]: value } };
  },
};

interface KvSpec {
  process: number;
  f: 'get' | 'put' | 'append';
  key: 'a' | 'b';
  value: 'x' | 'y';
  observed: string;
  status: Status;
}

const kvSpecArb: fc.Arbitrary<KvSpec> = fc.record({
  process: fc.integer({ min: 0, max: 2 }),
  f: fc.constantFrom<KvSpec['f']>('get', 'put', 'append'),
  key: fc.constantFrom<KvSpec['key']>('a', 'b'),
  value: fc.constantFrom<KvSpec['value']>('x', 'y'),
  observed: fc.constantFrom('', 'x', 'y', 'xy'),
  status: fc.constantFrom<Status>('ok', 'ok', 'ok', 'fail', 'info'),
});

/** Interleaves per-process key-value operations following `schedule`. */
function kvEvents(specs: readonly KvSpec[], schedule: readonly number[]): HistoryEvent[] {
  // Reuse the register interleaving for the shape; then rewrite each operation as a kv one.
  const shapes = specs.map((s) => ({
    process: s.process,
    f: 'read' as const,
    a: 0,
    b: 0,
    status: s.status,
  }));
  const byProcess = new Map<number, KvSpec[]>();
  for (const s of specs) byProcess.set(s.process, [...(byProcess.get(s.process) ?? []), s]);
  const next = new Map<number, number>();
  return buildEvents(shapes, schedule).map((ev) => {
    const p = ev.process as number;
    const i = next.get(p) ?? 0;
    if (ev.type !== 'invoke') next.set(p, i + 1);
    const s = (byProcess.get(p) ?? [])[i] as KvSpec;
    const value =
      ev.type === 'invoke'
        ? s.f === 'get'
          ? null
          : s.value
        : s.f === 'get'
          ? s.observed
          : s.value;
    return { process: p, type: ev.type, f: s.f, key: s.key, value };
  });
}

const kvHistoryArb = fc
  .tuple(fc.array(kvSpecArb, { maxLength: 9 }), fc.array(fc.nat(), { minLength: 1, maxLength: 30 }))
  .map(([specs, schedule]) => kvEvents(specs, schedule));

describe('key-value histories against a brute-force reference over all keys', () => {
  for (const criterion of ['linearizable', 'sequential'] as const) {
    it(`agrees on ${criterion} verdicts (partitioned model vs whole-store reference)`, () => {
      const kinds = new Set<string>();
      fc.assert(
        fc.property(kvHistoryArb, (events) => {
          const ops = toOperations(events);
          const expected = bruteForce(ops, wholeKv, criterion === 'sequential');
          const result = check(ops, kv(), { criterion });
          kinds.add(result.kind);
          expect(result.kind).toBe(expected ? 'legal' : 'illegal');
        }),
        { numRuns: 500 },
      );
      // Both verdicts occur, so the property is not vacuous.
      expect([...kinds].sort()).toEqual(['illegal', 'legal']);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Histories from a sequential execution with widened intervals are linearizable.
// ---------------------------------------------------------------------------------------------

interface Step {
  f: 'enqueue' | 'dequeue' | 'put' | 'append' | 'get';
  key: number;
  value: number;
  before: number;
  after: number;
  info: boolean;
}

/** What a read-like step returns in `state`; writes echo their argument. */
type Observe<S> = (f: string, state: S, input: unknown) => unknown;

/**
 * Runs the steps sequentially, step i taking effect at time 10 i + 5, and widens each interval
 * around that point by a random amount: the history must stay linearizable.
 */
function widened<S>(
  steps: readonly Step[],
  model: Model<S>,
  keyed: boolean,
  observe: Observe<S>,
): HistoryEvent[] {
  const states = new Map<string, S>();
  const timed: (HistoryEvent & { time: number; order: number })[] = [];
  steps.forEach((s, i) => {
    const point = 10 * i + 5;
    const key = keyed ? { key: String(s.key) } : {};
    const input = s.f === 'dequeue' || s.f === 'get' ? null : keyed ? `v${s.value}` : s.value;
    const slot = keyed ? String(s.key) : '';
    const state = states.get(slot) ?? model.init();
    const output = observe(s.f, state, input);
    const r = model.step(
      state,
      { f: s.f, process: i, value: input, ...key },
      { status: 'ok', value: output },
    );
    if (!r.ok) throw new Error('the sequential execution must be legal');
    states.set(slot, r.next);
    timed.push({
      process: i,
      type: 'invoke',
      f: s.f,
      value: input,
      ...key,
      time: point - s.before,
      order: 0,
    });
    const type = s.info ? 'info' : 'ok';
    timed.push({
      process: i,
      type,
      f: s.f,
      value: s.info ? null : output,
      ...key,
      time: point + s.after,
      order: 1,
    });
  });
  return timed
    .sort((a, b) => a.time - b.time || a.order - b.order)
    .map(({ order: _order, ...rest }) => rest);
}

const stepsArb = (fs: readonly Step['f'][], maxLength: number) =>
  fc.array(
    fc.record({
      f: fc.constantFrom(...fs),
      key: fc.integer({ min: 0, max: 2 }),
      value: fc.integer({ min: 0, max: 99 }),
      before: fc.integer({ min: 0, max: 40 }),
      after: fc.integer({ min: 0, max: 40 }),
      info: fc.boolean(),
    }),
    { maxLength },
  );

describe('sequential executions with widened intervals', () => {
  it('are linearizable (FIFO queue)', () => {
    const observe: Observe<readonly unknown[]> = (f, state, input) =>
      f === 'dequeue' ? (state[0] ?? null) : input;
    fc.assert(
      fc.property(stepsArb(['enqueue', 'dequeue'], 40), (steps) => {
        expect(check(widened(steps, queue(), false, observe), queue()).kind).toBe('legal');
      }),
      { numRuns: 200 },
    );
  });

  it('are linearizable (key-value store, partitioned)', () => {
    const observe: Observe<KvState> = (f, state, input) => (f === 'get' ? state.value : input);
    fc.assert(
      fc.property(stepsArb(['put', 'append', 'get'], 60), (steps) => {
        expect(check(widened(steps, kv(), true, observe), kv()).kind).toBe('legal');
      }),
      { numRuns: 200 },
    );
  });

  it('are also sequentially consistent', () => {
    const observe: Observe<readonly unknown[]> = (f, state, input) =>
      f === 'dequeue' ? (state[0] ?? null) : input;
    fc.assert(
      fc.property(stepsArb(['enqueue', 'dequeue'], 12), (steps) => {
        const h = widened(steps, queue(), false, observe);
        expect(check(h, queue(), { criterion: 'sequential' }).kind).toBe('legal');
      }),
      { numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Criteria, counterexamples, limits.
// ---------------------------------------------------------------------------------------------

const e = (
  process: number,
  type: HistoryEvent['type'],
  f: string,
  value: unknown = null,
): HistoryEvent => ({
  process,
  type,
  f,
  value,
});

describe('criteria', () => {
  // P0 writes 1 and completes; afterwards P1 reads nil. No real-time order allows that, but the
  // processes' own orders do (P1's read first): sequentially consistent, not linearizable.
  const stale = [
    e(0, 'invoke', 'write', 1),
    e(0, 'ok', 'write', 1),
    e(1, 'invoke', 'read'),
    e(1, 'ok', 'read', null),
  ];

  it('a stale read is sequentially consistent but not linearizable', () => {
    expect(check(stale, casRegister()).kind).toBe('illegal');
    expect(check(stale, casRegister(), { criterion: 'sequential' }).kind).toBe('legal');
  });

  it('sequential consistency is checked over all keys at once (it is not compositional)', () => {
    // Each key alone is sequentially consistent (its read can come first); together they form a
    // cycle: put x < get y < put y < get x < put x.
    const k = (
      process: number,
      type: HistoryEvent['type'],
      f: string,
      key: string,
      value: unknown,
    ): HistoryEvent => ({ process, type, f, key, value });
    const h = [
      k(0, 'invoke', 'put', 'x', '1'),
      k(0, 'ok', 'put', 'x', '1'),
      k(0, 'invoke', 'get', 'y', null),
      k(0, 'ok', 'get', 'y', ''),
      k(1, 'invoke', 'put', 'y', '1'),
      k(1, 'ok', 'put', 'y', '1'),
      k(1, 'invoke', 'get', 'x', null),
      k(1, 'ok', 'get', 'x', ''),
    ];
    for (const key of ['x', 'y']) {
      expect(
        check(
          h.filter((ev) => ev.key === key),
          kv(),
          { criterion: 'sequential' },
        ).kind,
      ).toBe('legal');
    }
    const result = check(h, kv(), { criterion: 'sequential' });
    expect(result.kind).toBe('illegal');
    expect(result.partitions).toBe(2);
  });

  it('sequential consistency still respects each process order', () => {
    const own = [
      e(0, 'invoke', 'write', 1),
      e(0, 'ok', 'write', 1),
      e(0, 'invoke', 'read'),
      e(0, 'ok', 'read', null),
    ];
    expect(check(own, casRegister(), { criterion: 'sequential' }).kind).toBe('illegal');
  });

  it('an indeterminate write may or may not have happened', () => {
    const happened = [
      e(0, 'invoke', 'write', 1),
      e(0, 'info', 'write'),
      e(1, 'invoke', 'read'),
      e(1, 'ok', 'read', 1),
    ];
    const didNot = [
      e(0, 'invoke', 'write', 1),
      e(0, 'info', 'write'),
      e(1, 'invoke', 'read'),
      e(1, 'ok', 'read', null),
    ];
    expect(check(happened, casRegister()).kind).toBe('legal');
    expect(check(didNot, casRegister()).kind).toBe('legal');
  });

  it('an indeterminate dequeue that cannot have happened does not block the check', () => {
    const h = [
      e(0, 'invoke', 'dequeue'),
      e(0, 'info', 'dequeue'),
      e(1, 'invoke', 'enqueue', 5),
      e(1, 'ok', 'enqueue', 5),
      e(2, 'invoke', 'dequeue'),
      e(2, 'ok', 'dequeue', 5),
    ];
    expect(check(h, queue()).kind).toBe('legal');
  });
});

describe('counterexamples', () => {
  it('names the longest partial linearization and the operation that cannot be placed', () => {
    const h = [
      e(0, 'invoke', 'write', 1),
      e(0, 'ok', 'write', 1),
      e(1, 'invoke', 'write', 2),
      e(1, 'ok', 'write', 2),
      e(2, 'invoke', 'read'),
      e(2, 'ok', 'read', 1),
    ];
    const result = check(h, casRegister());
    expect(result.kind).toBe('illegal');
    if (result.kind !== 'illegal') return;
    expect(result.counterexample.linearized.map((op) => op.id)).toEqual([0, 1]);
    expect(result.counterexample.failing?.id).toBe(2);
  });

  it('stops at the first illegal partition', () => {
    const h: HistoryEvent[] = [
      { process: 0, type: 'invoke', f: 'put', key: 'a', value: 'x' },
      { process: 0, type: 'ok', f: 'put', key: 'a', value: 'x' },
      { process: 1, type: 'invoke', f: 'get', key: 'b', value: null },
      { process: 1, type: 'ok', f: 'get', key: 'b', value: 'never written' },
    ];
    const result = check(h, kv());
    expect(result.kind).toBe('illegal');
    if (result.kind === 'illegal')
      expect(result.counterexample.operations.map((op) => op.key)).toEqual(['b']);
  });
});

/** A runtime whose clock advances 1 ms each time it is read. */
function tickingRuntime(): Runtime {
  let now = 0;
  return {
    clock: { monotonicMs: () => now++, wallMs: () => now },
    timers: { sleep: () => Promise.resolve(), setTimer: () => () => undefined },
    random: new SeededRandom(1),
  };
}

/** Many concurrent writes and reads that no order explains: a large search before the verdict. */
function hardHistory(n: number): HistoryEvent[] {
  const random = new SeededRandom(3);
  const events: HistoryEvent[] = [];
  for (let p = 0; p < n; p++) events.push(e(p, 'invoke', 'write', p));
  for (let p = 0; p < n; p++) events.push(e(n + p, 'invoke', 'read'));
  for (let p = 0; p < n; p++) events.push(e(n + p, 'ok', 'read', random.int(n)));
  for (let p = 0; p < n; p++) events.push(e(p, 'ok', 'write', p));
  events.push(e(999, 'invoke', 'read'), e(999, 'ok', 'read', -1));
  return events;
}

describe('limits', () => {
  it('returns unknown when the timeout passes', () => {
    const result = check(hardHistory(12), casRegister(), {
      timeoutMs: 5,
      runtime: tickingRuntime(),
      sliceSteps: 10,
    });
    expect(result).toMatchObject({ kind: 'unknown', reason: 'timeout' });
  });

  it('reaches the verdict without a timeout', () => {
    expect(check(hardHistory(6), casRegister()).kind).toBe('illegal');
  });

  it('returns unknown when the cache bound is reached', () => {
    const result = check(hardHistory(8), casRegister(), { maxCacheEntries: 50 });
    expect(result).toMatchObject({ kind: 'unknown', reason: 'cache-limit' });
  });

  it('bounds the cache in bytes too: 28 bytes per entry for a small partition', () => {
    const unbounded = check(hardHistory(6), casRegister());
    expect(unbounded.kind).toBe('illegal');
    expect(unbounded.visited).toBeGreaterThan(50);
    // 50 * 28 bytes hold 50 entries: too few.
    expect(check(hardHistory(6), casRegister(), { maxCacheBytes: 50 * 28 })).toMatchObject({
      kind: 'unknown',
      reason: 'cache-limit',
    });
    const enough = unbounded.visited * 28;
    expect(check(hardHistory(6), casRegister(), { maxCacheBytes: enough }).kind).toBe('illegal');
  });

  it('still finds an illegal partition when another one fills its cache', () => {
    const events: HistoryEvent[] = [];
    for (let p = 0; p < 10; p++)
      events.push({ process: p, type: 'invoke', f: 'append', key: 'a', value: `${p}` });
    for (let p = 0; p < 10; p++)
      events.push({ process: p, type: 'ok', f: 'append', key: 'a', value: `${p}` });
    events.push({ process: 20, type: 'invoke', f: 'get', key: 'a', value: null });
    events.push({ process: 20, type: 'ok', f: 'get', key: 'a', value: 'impossible' });
    events.push({ process: 21, type: 'invoke', f: 'get', key: 'b', value: null });
    events.push({ process: 21, type: 'ok', f: 'get', key: 'b', value: 'never written' });
    const alone = check(
      events.filter((ev) => ev.key === 'a'),
      kv(),
      { maxCacheEntries: 50 },
    );
    expect(alone).toMatchObject({ kind: 'unknown', reason: 'cache-limit' });
    const result = check(events, kv(), { maxCacheEntries: 50 });
    expect(result.kind).toBe('illegal');
    if (result.kind === 'illegal') expect(result.counterexample.operations[0]?.key).toBe('b');
  });

  it('counts visited configurations of decided partitions after freeing their caches', () => {
    const events: HistoryEvent[] = [];
    for (const key of ['a', 'b', 'c']) {
      events.push({ process: key, type: 'invoke', f: 'put', key, value: 'x' });
      events.push({ process: key, type: 'ok', f: 'put', key, value: 'x' });
      events.push({ process: key, type: 'invoke', f: 'get', key, value: null });
      events.push({ process: key, type: 'ok', f: 'get', key, value: 'x' });
    }
    // Each partition caches one configuration per linearized operation.
    expect(check(events, kv())).toMatchObject({ kind: 'legal', partitions: 3, visited: 6 });
  });

  it('validates its options', () => {
    expect(() => check([], casRegister(), { timeoutMs: -1 })).toThrow(/timeoutMs/);
    expect(() => check([], casRegister(), { maxCacheEntries: 0 })).toThrow(/maxCacheEntries/);
    expect(() => check([], casRegister(), { maxCacheBytes: 0.5 })).toThrow(/maxCacheBytes.*0\.5/);
    expect(() => check([], casRegister(), { criterion: 'strict' as 'sequential' })).toThrow(
      /criterion/,
    );
    expect(check([], casRegister()).kind).toBe('legal');
  });
});

/**
 * Histories from elsewhere are hostile: every case here is generated in the test (no large
 * committed fixtures) and must end in a typed error or a sound verdict, never a crash, a hang or a
 * wrong "linearizable".
 */
import { describe, expect, it } from 'vitest';
import { systemRuntime } from '../core/system.js';
import type { Clock } from '../core/runtime.js';
import { check } from './checker.js';
import { parseEdn, parseHistory, parseJepsen, parseJson } from './formats/index.js';
import type { HistoryFormat } from './formats/index.js';
import { readJson } from './formats/json.js';
import { readEdn } from './formats/edn.js';
import type { HistoryEvent, Operation, HistoryError } from './history.js';
import { isHistoryError, maxValueDepth, toOperations } from './history.js';
import type { Model } from './model.js';
import { kv, register } from './models.js';

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function historyError(f: () => unknown): HistoryError {
  const error = thrown(f);
  expect(isHistoryError(error)).toBe(true);
  return error as HistoryError;
}

const deep = (n: number, open = '[', close = ']'): string => open.repeat(n) + close.repeat(n);

describe('deeply nested values', () => {
  const depth = 200_000; // far past any recursion limit of the engine

  it('are a HistoryError naming the line in JSON Lines, JSON arrays, EDN and Jepsen logs', () => {
    const ok = '{"process":0,"type":"invoke","f":"read","value":null}';
    const jsonl = `${ok}\n{"process":0,"type":"ok","f":"read","value":${deep(depth)}}`;
    expect(historyError(() => parseJson(jsonl)).line).toBe(2);
    const array = `[\n${ok},\n{"process":0,"type":"ok","f":"read","value":${deep(depth)}}\n]`;
    expect(historyError(() => parseJson(array)).line).toBe(3);
    const edn = `{:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :ok, :f :read, :value ${deep(depth)}}`;
    const error = historyError(() => parseEdn(edn));
    expect(error.line).toBe(2);
    expect(error.message).toMatch(/nested deeper than/);
    const log = `INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\t${deep(depth)}`;
    expect(historyError(() => parseJepsen(log)).line).toBe(2);
    expect(historyError(() => parseEdn(`${deep(depth, '#{', '}')}`)).line).toBe(1);
  });

  it('up to the bound still read', () => {
    const value = readJson(deep(maxValueDepth - 1));
    let d = 0;
    for (let v: unknown = value; Array.isArray(v); v = v[0]) d++;
    expect(d).toBe(maxValueDepth - 1);
    expect(() => readJson(deep(maxValueDepth + 1))).toThrow(/nested deeper/);
    expect(() => readEdn(deep(maxValueDepth + 1))).toThrow(/nested deeper/);
  });

  it('passed to the API are a HistoryError, as are cyclic values', () => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = [value];
    const events: HistoryEvent[] = [
      { process: 0, type: 'invoke', f: 'write', value },
      { process: 0, type: 'ok', f: 'write', value },
    ];
    expect(historyError(() => check(events, register())).message).toMatch(/nested deeper/);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    const withCycle: HistoryEvent[] = [
      { process: 0, type: 'invoke', f: 'write', value: { a: cyclic } },
      { process: 0, type: 'ok', f: 'write', value: null },
    ];
    expect(historyError(() => check(withCycle, register())).message).toMatch(
      /event 0: value: the value is cyclic/,
    );
    // A value reached twice without a cycle (a DAG) is fine.
    const shared = [1];
    const dag: HistoryEvent[] = [
      { process: 0, type: 'invoke', f: 'write', value: [shared, shared] },
      { process: 0, type: 'ok', f: 'write', value: [shared, shared] },
    ];
    expect(check(dag, register()).kind).toBe('legal');
  });
});

describe('integers beyond 2^53', () => {
  // 2^53 + 1 and 2^53 are the same double: rounded, a read of the wrong value looks right.
  const big = '9007199254740993';
  const near = '9007199254740992';

  const stale: Record<HistoryFormat, string> = {
    json: [
      `{"process":0,"type":"invoke","f":"write","value":${big}}`,
      `{"process":0,"type":"ok","f":"write","value":${big}}`,
      `{"process":1,"type":"invoke","f":"read","value":null}`,
      `{"process":1,"type":"ok","f":"read","value":${near}}`,
    ].join('\n'),
    edn: [
      `{:process 0, :type :invoke, :f :write, :value ${big}}`,
      `{:process 0, :type :ok, :f :write, :value ${big}}`,
      `{:process 1, :type :invoke, :f :read, :value nil}`,
      `{:process 1, :type :ok, :f :read, :value ${near}N}`,
    ].join('\n'),
    jepsen: [
      `INFO  jepsen.util - 0\t:invoke\t:write\t${big}`,
      `INFO  jepsen.util - 0\t:ok\t:write\t${big}`,
      `INFO  jepsen.util - 1\t:invoke\t:read\tnil`,
      `INFO  jepsen.util - 1\t:ok\t:read\t${near}`,
    ].join('\n'),
  };

  it.each(Object.keys(stale) as HistoryFormat[])(
    'stay exact in %s, so a wrong read is not linearizable',
    (format) => {
      const events = parseHistory(stale[format], format);
      expect(events[0]?.value).toBe(BigInt(big));
      expect(check(events, register()).kind).toBe('illegal');
      // The same history with the value read back exactly is linearizable.
      const right = parseHistory(stale[format].replace(new RegExp(near, 'g'), big), format);
      expect(check(right, register()).kind).toBe('legal');
    },
  );

  it('keep process ids apart (JSON, EDN, Jepsen)', () => {
    // Two processes whose ids round to the same double invoke concurrently.
    const json = [
      `{"process":${big},"type":"invoke","f":"write","value":1}`,
      `{"process":${near},"type":"invoke","f":"write","value":2}`,
      `{"process":${big},"type":"ok","f":"write","value":1}`,
      `{"process":${near},"type":"ok","f":"write","value":2}`,
    ].join('\n');
    const log = [
      `INFO  jepsen.util - ${big}\t:invoke\t:write\t1`,
      `INFO  jepsen.util - ${near}\t:invoke\t:write\t2`,
      `INFO  jepsen.util - ${big}\t:ok\t:write\t1`,
      `INFO  jepsen.util - ${near}\t:ok\t:write\t2`,
    ].join('\n');
    const edn = json.replace(/"(\w+)":/g, ':$1 ').replace(/"(\w+)"/g, ':$1');
    for (const events of [parseJson(json), parseJepsen(log), parseEdn(edn)]) {
      const ops = toOperations(events);
      expect(ops.map((op) => op.process)).toEqual([BigInt(big), BigInt(near)]);
    }
  });

  it('keep times apart: nanosecond timestamps order exactly', () => {
    // Rounded to doubles, these three times collapse into one, and the write would overlap the read.
    const t0 = 1_700_000_000_000_000_001n;
    const events: HistoryEvent[] = [
      { process: 0, type: 'invoke', f: 'write', value: 1, time: t0 },
      { process: 0, type: 'ok', f: 'write', value: 1, time: t0 + 1n },
      { process: 1, type: 'invoke', f: 'read', value: null, time: t0 + 2n },
      { process: 1, type: 'ok', f: 'read', value: null, time: t0 + 3n },
    ];
    const ops = toOperations(events);
    expect(ops.map((op) => [op.call, op.ret])).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(check(events, register()).kind).toBe('illegal');
    const json = events.map(
      (e) =>
        `{"process":${e.process},"type":"${e.type}","f":"${e.f}","value":${e.value === null ? 'null' : 1},"time":${e.time}}`,
    );
    expect(check(parseJson(json.join('\n')), register()).kind).toBe('illegal');
  });
});

describe('check() validates what it is given', () => {
  const write: HistoryEvent[] = [
    { process: 0, type: 'invoke', f: 'write', value: 1 },
    { process: 0, type: 'ok', f: 'write', value: 1 },
  ];

  it('rejects what is not a history with a HistoryError', () => {
    for (const bad of [null, undefined, 42, 'history', { length: 1 }]) {
      expect(historyError(() => check(bad as never, register())).code).toBe(
        'FAULTLINE_HISTORY_INVALID',
      );
    }
    expect(historyError(() => check([null] as never, register())).message).toMatch(/event 0/);
  });

  it('rejects bogus events: type, process, f, NaN and infinite times', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ type: 'bogus' }, /type must be invoke, ok, fail or info \(got "bogus"\)/],
      [{ process: null }, /process must be/],
      [{ process: Number.NaN }, /process must be/],
      [{ f: '' }, /f must be a non-empty string/],
      [{ time: Number.NaN }, /time must be a finite number \(got NaN\)/],
      [{ time: Infinity }, /time must be a finite number/],
      [{ value: () => 1 }, /value: a function is not a value/],
    ];
    for (const [patch, message] of cases) {
      const events = [write[0], { ...write[1], ...patch }] as HistoryEvent[];
      expect(historyError(() => check(events, register())).message).toMatch(message);
    }
  });

  it('rejects bogus operations: status, NaN times, ret before call', () => {
    const op: Operation = {
      id: 0,
      process: 0,
      f: 'write',
      input: 1,
      output: 1,
      status: 'ok',
      call: 0,
      ret: 1,
    };
    expect(check([op], register()).kind).toBe('legal');
    const cases: [Partial<Record<keyof Operation, unknown>>, RegExp][] = [
      [{ status: 'done' }, /operation 0: status must be ok, fail or info \(got "done"\)/],
      [{ call: Number.NaN }, /call must be a finite number \(got NaN\)/],
      [{ ret: Number.NaN }, /ret must be a number >= call/],
      [{ ret: -1 }, /ret must be a number >= call/],
      [{ id: 0.5 }, /id must be an integer/],
    ];
    for (const [patch, message] of cases) {
      expect(
        historyError(() => check([{ ...op, ...patch } as Operation], register())).message,
      ).toMatch(message);
    }
  });

  it('rejects a model without init and step, and options that are not an object', () => {
    expect(() => check(write, {} as Model<unknown>)).toThrow(RangeError);
    expect(() => check(write, register(), null as never)).toThrow(/options must be an object/);
  });

  it('parseHistory with an unknown format throws a RangeError naming it', () => {
    expect(() => parseHistory('{}', 'xml' as HistoryFormat)).toThrow(
      /format must be "jepsen" \| "edn" \| "json" \(got "xml"\)/,
    );
  });

  it('reads a "__proto__" key as data, not as a prototype', () => {
    const value = readJson('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
    const edn = readEdn('{"__proto__" {:polluted true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(edn)).toBe(Object.prototype);
  });
});

describe('bounds of the search', () => {
  /** Writes of 1..n on `key` by n concurrent processes, then a read of `last`. */
  function concurrentWrites(key: string, n: number, firstProcess: number): HistoryEvent[] {
    const events: HistoryEvent[] = [];
    for (let p = 0; p < n; p++)
      events.push({ process: firstProcess + p, type: 'invoke', f: 'put', key, value: String(p) });
    for (let p = 0; p < n; p++)
      events.push({ process: firstProcess + p, type: 'ok', f: 'put', key, value: String(p) });
    events.push({ process: firstProcess + n, type: 'invoke', f: 'get', key, value: null });
    events.push({ process: firstProcess + n, type: 'ok', f: 'get', key, value: String(n - 1) });
    return events;
  }

  it('memory is bounded across all partitions together', () => {
    const keys = ['a', 'b', 'c', 'd'];
    const perKey = keys.map((key, i) => concurrentWrites(key, 7, i * 100));
    // One step per slice keeps every partition undecided, and holding its cache, at once.
    const options = { sliceSteps: 1 };
    const alone = perKey.map((events) => check(events, kv(), options));
    expect(alone.map((r) => r.kind)).toEqual(['legal', 'legal', 'legal', 'legal']);
    const most = Math.max(...alone.map((r) => r.visited));
    // Enough bytes for any one partition (28 bytes an entry over at most 32 operations)...
    const maxCacheBytes = most * 28;
    for (const events of perKey)
      expect(check(events, kv(), { ...options, maxCacheBytes }).kind).toBe('legal');
    // ...but not for all of them together.
    const all = perKey.flat();
    const together = check(all, kv(), { ...options, maxCacheBytes });
    expect(together).toMatchObject({ kind: 'unknown', reason: 'cache-limit', partitions: 4 });
    expect(check(all, kv(), { ...options, maxCacheBytes: maxCacheBytes * keys.length }).kind).toBe(
      'legal',
    );
  });

  it('the timeout holds when every model step is expensive', () => {
    // A virtual clock that each model step moves by 5 ms: a slice of the default 20000 steps
    // would overrun a 100 ms timeout by 100 s.
    let now = 0;
    const clock: Clock = { monotonicMs: () => now, wallMs: () => now };
    const runtime = { ...systemRuntime(), clock };
    const base = register();
    const slow: Model<unknown> = {
      ...base,
      name: 'slow-register',
      step: (state, input, output) => {
        now += 5;
        return base.step(state, input, output);
      },
    };
    const events: HistoryEvent[] = [];
    for (let p = 0; p < 12; p++) events.push({ process: p, type: 'invoke', f: 'write', value: p });
    for (let p = 0; p < 12; p++) events.push({ process: p, type: 'ok', f: 'write', value: p });
    events.push({ process: 99, type: 'invoke', f: 'read', value: null });
    events.push({ process: 99, type: 'ok', f: 'read', value: 42 });
    const result = check(events, slow, { timeoutMs: 100, runtime });
    expect(result).toMatchObject({ kind: 'unknown', reason: 'timeout' });
    // Over by at most a couple of steps, not by a slice.
    expect(now).toBeLessThanOrEqual(100 + 2 * 5);
  });
});

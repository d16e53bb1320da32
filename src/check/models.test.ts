import { describe, expect, it } from 'vitest';
import { check } from './checker.js';
import type { HistoryEvent } from './history.js';
import { HistoryError } from './history.js';
import type { Model, ModelOutput } from './model.js';
import { deepEqual, hashValue, illegal } from './model.js';
import { casRegister, kv, modelByName, modelNames, mutex, queue, register, set } from './models.js';

const ok = (value: unknown = null): ModelOutput => ({ status: 'ok', value });
const fail: ModelOutput = { status: 'fail', value: null };
const info: ModelOutput = { status: 'info', value: null };

function run<S>(model: Model<S>, steps: [string, unknown, ModelOutput][], process = 0): boolean {
  let state = model.init();
  for (const [f, value, output] of steps) {
    const r = model.step(state, { f, process, value }, output);
    if (!r.ok) return false;
    state = r.next;
  }
  return true;
}

describe('register', () => {
  it('reads the last write, starting from its initial value', () => {
    expect(run(register(), [['read', null, ok(null)]])).toBe(true);
    expect(run(register({ initial: 0 }), [['read', null, ok(0)]])).toBe(true);
    expect(
      run(register(), [
        ['write', 3, ok(3)],
        ['read', null, ok(3)],
      ]),
    ).toBe(true);
    expect(
      run(register(), [
        ['write', 3, ok(3)],
        ['read', null, ok(4)],
      ]),
    ).toBe(false);
  });

  it('ignores failed writes and failed reads', () => {
    expect(
      run(register(), [
        ['write', 3, fail],
        ['read', null, ok(null)],
        ['read', null, fail],
      ]),
    ).toBe(true);
  });

  it('rejects cas, which only the CAS register has', () => {
    expect(() => run(register(), [['cas', [1, 2], ok()]])).toThrow(HistoryError);
  });
});

describe('cas-register', () => {
  it('applies cas when the value matches and fails it otherwise', () => {
    expect(
      run(casRegister(), [
        ['write', 1, ok(1)],
        ['cas', [1, 2], ok()],
        ['read', null, ok(2)],
      ]),
    ).toBe(true);
    expect(
      run(casRegister(), [
        ['write', 1, ok(1)],
        ['cas', [3, 2], ok()],
      ]),
    ).toBe(false);
    expect(
      run(casRegister(), [
        ['write', 1, ok(1)],
        ['cas', { from: 3, to: 2 }, fail],
        ['read', null, ok(1)],
      ]),
    ).toBe(true);
  });

  it('treats a failed cas as "returned false": the value must differ from `from`', () => {
    expect(
      run(casRegister(), [
        ['write', 1, ok(1)],
        ['cas', [1, 2], fail],
      ]),
    ).toBe(false);
  });

  it('lets an indeterminate cas take effect when it can', () => {
    expect(
      run(casRegister(), [
        ['write', 1, ok(1)],
        ['cas', [1, 2], info],
        ['read', null, ok(2)],
      ]),
    ).toBe(true);
    expect(
      run(casRegister(), [
        ['write', 1, ok(1)],
        ['cas', [5, 2], info],
        ['read', null, ok(1)],
      ]),
    ).toBe(true);
  });

  it('rejects malformed cas arguments', () => {
    expect(() => run(casRegister(), [['cas', 7, ok()]])).toThrow(/cas needs/);
  });
});

describe('kv', () => {
  it('gets, puts and appends per key, every key starting empty', () => {
    const model = kv();
    let state = model.init();
    const step = (f: string, key: string, value: unknown, output: ModelOutput) => {
      const r = model.step(state, { f, key, process: 0, value }, output);
      if (r.ok) state = r.next;
      return r.ok;
    };
    expect(step('get', 'a', null, ok(''))).toBe(true);
    expect(step('append', 'a', 'x', ok('x'))).toBe(true);
    expect(step('append', 'a', 'y', ok('y'))).toBe(true);
    expect(step('get', 'a', null, ok('xy'))).toBe(true);
    expect(step('get', 'a', null, ok('yx'))).toBe(false);
    expect(step('put', 'a', 'z', ok('z'))).toBe(true);
    expect(step('get', 'a', null, ok('z'))).toBe(true);
  });

  it('hashes appended values like whole values', () => {
    const model = kv();
    const a = model.step(model.init(), { f: 'put', process: 0, value: 'xy' }, ok());
    const b0 = model.step(model.init(), { f: 'append', process: 0, value: 'x' }, ok());
    expect(a.ok && b0.ok).toBe(true);
    if (!a.ok || !b0.ok) return;
    const b = model.step(b0.next, { f: 'append', process: 0, value: 'y' }, ok());
    expect(
      b.ok && model.hash?.(b.next) === model.hash?.(a.next) && model.equal?.(b.next, a.next),
    ).toBe(true);
  });

  it('partitions by key and requires one', () => {
    const h: HistoryEvent[] = [{ process: 0, type: 'invoke', f: 'get', value: null }];
    expect(() => check(h, kv())).toThrow(/needs a key/);
  });
});

describe('mutex', () => {
  it('grants the lock to one owner at a time', () => {
    expect(
      run(mutex(), [
        ['acquire', 'a', ok()],
        ['owner', null, ok('a')],
        ['release', 'a', ok()],
        ['acquire', 'b', ok()],
      ]),
    ).toBe(true);
    expect(
      run(mutex(), [
        ['acquire', 'a', ok()],
        ['acquire', 'b', ok()],
      ]),
    ).toBe(false);
    expect(
      run(mutex(), [
        ['acquire', 'a', ok()],
        ['release', 'b', ok()],
      ]),
    ).toBe(false);
  });

  it('uses the invoking process as owner when none is given, and ignores failures', () => {
    expect(
      run(
        mutex(),
        [
          ['acquire', null, ok()],
          ['owner', null, ok(7)],
          ['acquire', null, fail],
        ],
        7,
      ),
    ).toBe(true);
  });

  it('finds two clients holding the lock at once in a history', () => {
    const h: HistoryEvent[] = [
      { process: 1, type: 'invoke', f: 'acquire', value: null },
      { process: 1, type: 'ok', f: 'acquire', value: null },
      { process: 2, type: 'invoke', f: 'acquire', value: null },
      { process: 2, type: 'ok', f: 'acquire', value: null },
    ];
    expect(check(h, mutex()).kind).toBe('illegal');
  });
});

describe('set', () => {
  it('adds and reads elements in any order', () => {
    expect(
      run(set(), [
        ['add', 1, ok()],
        ['add', 2, ok()],
        ['read', null, ok([2, 1])],
        ['contains', 1, ok(true)],
        ['contains', 3, ok(false)],
      ]),
    ).toBe(true);
    expect(
      run(set(), [
        ['add', 1, ok()],
        ['read', null, ok([1, 2])],
      ]),
    ).toBe(false);
    expect(
      run(set(), [
        ['add', 1, fail],
        ['read', null, ok([])],
      ]),
    ).toBe(true);
  });

  it('gives equal sets equal hashes whatever the insertion order', () => {
    const model = set();
    const add = (s: ReturnType<typeof model.init>, x: number) => {
      const r = model.step(s, { f: 'add', process: 0, value: x }, ok());
      if (!r.ok) throw new Error('add is always legal');
      return r.next;
    };
    const a = add(add(model.init(), 1), 2);
    const b = add(add(model.init(), 2), 1);
    expect(model.hash?.(a)).toBe(model.hash?.(b));
    expect(model.equal?.(a, b)).toBe(true);
  });
});

describe('queue', () => {
  it('dequeues in FIFO order and null when empty', () => {
    expect(
      run(queue(), [
        ['dequeue', null, ok(null)],
        ['enqueue', 1, ok()],
        ['enqueue', 2, ok()],
        ['dequeue', null, ok(1)],
        ['dequeue', null, ok(2)],
      ]),
    ).toBe(true);
    expect(
      run(queue(), [
        ['enqueue', 1, ok()],
        ['enqueue', 2, ok()],
        ['dequeue', null, ok(2)],
      ]),
    ).toBe(false);
  });
});

describe('model helpers', () => {
  it('lists every model by name', () => {
    for (const name of modelNames) expect(modelByName(name).name).toBe(name);
  });

  it('hashes structurally and compares deeply', () => {
    expect(hashValue({ a: 1, b: [1, 'x'] })).toBe(hashValue({ b: [1, 'x'], a: 1 }));
    expect(hashValue([1, 2])).not.toBe(hashValue([2, 1]));
    expect(deepEqual({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toBe(true);
    expect(deepEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(deepEqual(new Set([1, 2]), new Set([2, 1]))).toBe(true);
    expect(illegal.ok).toBe(false);
  });

  it('checks a user-defined model with the default hash and equality', () => {
    const counter: Model<{ n: number }> = {
      name: 'counter',
      init: () => ({ n: 0 }),
      step: (state, input, output) => {
        if (input.f === 'incr') return { ok: true, next: { n: state.n + 1 } };
        return output.status !== 'ok' || output.value === state.n
          ? { ok: true, next: state }
          : illegal;
      },
    };
    const h: HistoryEvent[] = [
      { process: 0, type: 'invoke', f: 'incr' },
      { process: 1, type: 'invoke', f: 'incr' },
      { process: 0, type: 'ok', f: 'incr' },
      { process: 1, type: 'ok', f: 'incr' },
      { process: 2, type: 'invoke', f: 'read' },
      { process: 2, type: 'ok', f: 'read', value: 2 },
    ];
    expect(check(h, counter).kind).toBe('legal');
    expect(
      check([...h.slice(0, 5), { process: 2, type: 'ok', f: 'read', value: 1 }], counter).kind,
    ).toBe('illegal');
    const lossy: Model<{ n: number }> = { ...counter, partition: (ops) => [ops.slice(1)] };
    expect(() => check(h, lossy)).toThrow(/counter.partition must be a split of the 3 operations/);
    const twice: Model<{ n: number }> = { ...counter, partition: (ops) => [[...ops], [...ops]] };
    expect(() => check(h, twice)).toThrow(/disjoint parts \(got "6 operations"\)/);
  });
});

import { describe, expect, it } from 'vitest';
import type { HistoryEvent } from './history.js';
import { HistoryError, isHistoryError, toOperations, validateEvent } from './history.js';

const e = (
  process: number,
  type: HistoryEvent['type'],
  f: string,
  value: unknown = null,
  line?: number,
): HistoryEvent =>
  line === undefined ? { process, type, f, value } : { process, type, f, value, line };

describe('toOperations', () => {
  it('pairs invocations with completions, in invocation order', () => {
    const ops = toOperations([
      e(0, 'invoke', 'write', 1),
      e(1, 'invoke', 'read'),
      e(1, 'ok', 'read', 1),
      e(0, 'ok', 'write', 1),
    ]);
    expect(ops).toEqual([
      { id: 0, process: 0, f: 'write', input: 1, output: 1, status: 'ok', call: 0, ret: 3 },
      { id: 1, process: 1, f: 'read', input: null, output: 1, status: 'ok', call: 1, ret: 2 },
    ]);
  });

  it('makes info completions and unfinished invocations indeterminate, never returning', () => {
    const ops = toOperations([
      e(0, 'invoke', 'write', 1),
      e(0, 'info', 'write', 'timed-out'),
      e(1, 'invoke', 'write', 2),
    ]);
    expect(ops.map((op) => [op.status, op.ret, op.output])).toEqual([
      ['info', Infinity, null],
      ['info', Infinity, null],
    ]);
  });

  it('uses explicit times and rejects times that go backwards', () => {
    const ops = toOperations([
      { ...e(0, 'invoke', 'read'), time: 10 },
      { ...e(0, 'ok', 'read', 3), time: 20 },
    ]);
    expect([ops[0]?.call, ops[0]?.ret]).toEqual([10, 20]);
    expect(() =>
      toOperations([
        { ...e(0, 'invoke', 'read'), time: 10 },
        { ...e(0, 'ok', 'read'), time: 5 },
      ]),
    ).toThrow(/backwards/);
  });

  it('names the line of an unmatched or overlapping event', () => {
    expect(() => toOperations([e(0, 'ok', 'read', null, 4)])).toThrow(
      /^line 4: ok read of process 0 has no invocation/,
    );
    expect(() =>
      toOperations([e(0, 'invoke', 'read', null, 1), e(0, 'invoke', 'read', null, 2)]),
    ).toThrow(/^line 2: process 0 invokes while/);
    expect(() =>
      toOperations([e(0, 'invoke', 'read', null, 1), e(0, 'ok', 'write', null, 2)]),
    ).toThrow(/^line 2: ok write completes an invocation of read/);
  });
});

describe('validateEvent', () => {
  it('accepts a well-formed event and rejects bad fields', () => {
    expect(validateEvent({ process: 'p', type: 'invoke', f: 'read' }, { index: 0 })).toEqual({
      process: 'p',
      type: 'invoke',
      f: 'read',
    });
    expect(() => validateEvent({ process: {}, type: 'invoke', f: 'read' }, { index: 3 })).toThrow(
      /^event 3: process must be/,
    );
    expect(() =>
      validateEvent({ process: 0, type: 'invoke', f: '' }, { line: 9, index: 0 }),
    ).toThrow(/^line 9: f must be/);
    expect(() =>
      validateEvent({ process: 0, type: 'invoke', f: 'r', time: 'x' }, { index: 0 }),
    ).toThrow(/time must be/);
    expect(() => validateEvent(null, { index: 0 })).toThrow(/must be an object/);
  });

  it('raises HistoryErrors with a stable code', () => {
    const error = new HistoryError('bad', 3);
    expect(isHistoryError(error)).toBe(true);
    expect(error.code).toBe('FAULTLINE_HISTORY_INVALID');
    expect(error.line).toBe(3);
  });
});

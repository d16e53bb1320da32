import { describe, expect, it } from 'vitest';
import { check } from './checker.js';
import type { HistoryEvent } from './history.js';
import { register } from './models.js';
import { explainResult } from './report.js';

/** Writes 1..n in sequence, then a read of `read` that must come after all of them. */
function history(n: number, read: number): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  for (let v = 1; v <= n; v++) {
    events.push({ process: 'w', type: 'invoke', f: 'write', value: v });
    events.push({ process: 'w', type: 'ok', f: 'write', value: v });
  }
  events.push({ process: 'r', type: 'invoke', f: 'read', value: null });
  events.push({ process: 'r', type: 'ok', f: 'read', value: read });
  return events;
}

describe('explainResult', () => {
  it('names a legal verdict', () => {
    const model = register();
    expect(explainResult(check(history(2, 2), model), model)).toBe(
      'linearizable (register, 3 operations, 1 partition)',
    );
  });

  it('shows the partial linearization with states, and the operation that cannot be placed', () => {
    const model = register();
    const text = explainResult(check(history(3, 1), model), model, {
      annotate: (op) => `@${op.call}`,
    });
    expect(text.split('\n')).toEqual([
      'NOT linearizable (register, 4 operations, 1 partition)',
      '  partial linearization: 3 of 4 operations of partition 0',
      '      1. #0 process w: write 1 @0  ⇒ 1',
      '      2. #1 process w: write 2 @2  ⇒ 2',
      '      3. #2 process w: write 3 @4  ⇒ 3',
      '  cannot place: #3 process r: read → 1 @6',
    ]);
  });

  it('keeps the end of a long linearization only', () => {
    const model = register();
    const text = explainResult(check(history(30, 1), model), model, { maxSteps: 2 });
    expect(text).toMatch(/30 of 31 operations of partition 0 \(last 2 shown\)/);
    expect(text).toMatch(/ {4}29\. #28 process w: write 29 {2}⇒ 29/);
    expect(text).not.toMatch(/write 28 /);
    expect(() => explainResult(check(history(1, 1), model), model, { maxSteps: -1 })).toThrow(
      /maxSteps/,
    );
  });

  it('names an unknown verdict and its reason', () => {
    const model = register();
    const result = check(history(3, 1), model, { maxCacheEntries: 1 });
    expect(explainResult(result, model)).toMatch(/^unknown: cache-limit \(register/);
  });
});

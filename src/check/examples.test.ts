import { describe, expect, it } from 'vitest';
import { check } from './checker.js';
import { staleReadExample } from './examples.js';

describe('example histories', () => {
  it('the stale read is sequentially consistent but not linearizable', () => {
    const ex = staleReadExample();
    expect(ex.expected).toEqual({ linearizable: false, sequential: true });
    const linear = check(ex.events, ex.model);
    expect(linear.kind).toBe('illegal');
    if (linear.kind === 'illegal') {
      // The stale read is what cannot be placed after the write.
      expect(linear.counterexample.failing).toMatchObject({ process: 'B', f: 'read', output: 0 });
    }
    expect(check(ex.events, ex.model, { criterion: 'sequential' }).kind).toBe('legal');
  });

  it('reordering B’s reads (1 then 0) is neither', () => {
    const ex = staleReadExample();
    const swapped = ex.events.map((e, i) =>
      i === 3 ? { ...e, value: 1 } : i === 5 ? { ...e, value: 0 } : e,
    );
    expect(check(swapped, ex.model).kind).toBe('illegal');
    expect(check(swapped, ex.model, { criterion: 'sequential' }).kind).toBe('illegal');
  });
});

import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { StaleTokenError } from './errors.js';
import { FencedStore } from './fence.js';

describe('FencedStore', () => {
  it('accepts exactly the writes whose token is >= every token accepted before (reference model)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ r: fc.constantFrom('a', 'b'), t: fc.bigInt({ min: 1n, max: 20n }) }), {
          maxLength: 60,
        }),
        (writes) => {
          const store = new FencedStore<number>();
          const highest = new Map<string, bigint>();
          writes.forEach(({ r, t }, i) => {
            const expected = t >= (highest.get(r) ?? 0n);
            const result = store.write(r, t, i);
            expect(result.kind).toBe(expected ? 'accepted' : 'stale');
            if (expected) highest.set(r, t);
            expect(store.highestToken(r)).toBe(highest.get(r) ?? 0n);
          });
        },
      ),
    );
  });

  it('reports the newest token when stale and throws StaleTokenError through writeOrThrow', () => {
    const store = new FencedStore<string>();
    store.writeOrThrow('report', 34n, 'new');
    expect(store.write('report', 33n, 'old')).toEqual({
      kind: 'stale',
      token: 33n,
      current: 34n,
    });
    expect(() => store.writeOrThrow('report', 33n, 'old')).toThrow(StaleTokenError);
    expect(store.read('report')).toEqual({ token: 34n, value: 'new' });
    expect(() => store.write('report', 0n, 'x')).toThrow(/token/);
    expect(() => store.write('', 1n, 'x')).toThrow(/resource/);
  });

  it('bounds the number of resources', () => {
    const store = new FencedStore<number>({ maxResources: 1 });
    store.write('a', 1n, 1);
    expect(() => store.write('b', 1n, 1)).toThrow(RangeError);
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BoundedMap } from './bounded-map.js';

describe('BoundedMap', () => {
  it('matches a reference that drops the least recently set key (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer())),
        (max, ops) => {
          const map = new BoundedMap<number, number>(max);
          let reference: [number, number][] = [];
          for (const [k, v] of ops) {
            map.set(k, v);
            reference = reference.filter(([rk]) => rk !== k);
            reference.push([k, v]);
            if (reference.length > max) reference.shift();
          }
          expect(map.size).toBe(reference.length);
          for (let k = 0; k < 10; k++)
            expect(map.get(k)).toBe(reference.find(([rk]) => rk === k)?.[1]);
        },
      ),
    );
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { lockPrefix, prefixEnd } from './keys.js';

describe('lockPrefix', () => {
  it('never lets one lock key range contain another key', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        fc.string(),
        (a, b, owner) => {
          fc.pre(a !== b);
          const pa = Buffer.from(lockPrefix('p/', a));
          const end = prefixEnd(pa);
          const other = Buffer.from(lockPrefix('p/', b) + owner);
          const inside = Buffer.compare(other, pa) >= 0 && Buffer.compare(other, end) < 0;
          expect(inside).toBe(false);
        },
      ),
    );
  });
});

describe('prefixEnd', () => {
  it('is the smallest key after every key with the prefix', () => {
    expect(prefixEnd(Buffer.from('a/')).toString()).toBe('a0');
    expect([...prefixEnd(Buffer.from([0x61, 0xff]))]).toEqual([0x62]);
    expect([...prefixEnd(Buffer.from([0xff]))]).toEqual([0]);
  });

  it('bounds every extension of the prefix (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
        fc.uint8Array({ maxLength: 8 }),
        (p, rest) => {
          fc.pre(p.some((b) => b !== 0xff));
          const prefix = Buffer.from(p);
          const key = Buffer.concat([prefix, Buffer.from(rest)]);
          expect(Buffer.compare(key, prefixEnd(prefix)) < 0).toBe(true);
        },
      ),
    );
  });
});

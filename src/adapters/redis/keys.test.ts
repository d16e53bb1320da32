import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkPrefix,
  hashTag,
  lockKeys,
  parseAcquireReply,
  parseLockAcquireReply,
  parseExtendReply,
  parseLockHolder,
  parseLockValue,
  parseSemaphoreHolders,
  semaphoreKeys,
  toToken,
} from './keys.js';
import { CHANNEL_SUFFIX } from './scripts.js';

describe('Redis key names', () => {
  it('puts every name of a lock or semaphore in one hash slot, whatever the key (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 40 }),
          fc.constantFrom('}', '}{', '\\}', '{}', 'a}b'),
        ),
        fc.constantFrom('', 'app:', 'x}y:'),
        (key, prefix) => {
          const l = lockKeys(prefix, key);
          expect(new Set(Object.values(l).map(hashTag)).size).toBe(1);
          // The scripts publish on KEYS[1] + CHANNEL_SUFFIX: the channel must be exactly that.
          expect(l.channel).toBe(l.lock + CHANNEL_SUFFIX);
          const s = semaphoreKeys(prefix, key);
          expect(s.channel).toBe(s.permits + CHANNEL_SUFFIX);
          expect(new Set(Object.values(s).map(hashTag)).size).toBe(1);
          expect(new Set(Object.values(s)).size).toBe(8);
          // Different roles never collide.
          expect(new Set([l.lock, l.counter, l.waiting, l.channel]).size).toBe(4);
        },
      ),
    );
  });

  it("never gives one semaphore key's name to another key's role, whatever the keys (property)", () => {
    // Hostile keys that end like an internal name ("x}:queue") must not reach another key's queue.
    const suffixes = [':tokens', ':token', ':waiting', ':queue', ':qinfo', ':used', ':released'];
    const hostile = fc
      .tuple(fc.string({ maxLength: 6 }), fc.constantFrom(...suffixes, '}', ''))
      .map(([a, b]) => `${a}}${b}`);
    fc.assert(
      fc.property(
        fc.oneof(hostile, fc.string({ minLength: 1, maxLength: 12 })),
        hostile,
        (a, b) => {
          fc.pre(a !== b && a.length > 0);
          const na = Object.values(semaphoreKeys('faultline:semaphore:', a));
          const nb = new Set(Object.values(semaphoreKeys('faultline:semaphore:', b)));
          expect(na.filter((n) => nb.has(n))).toEqual([]);
        },
      ),
    );
  });

  it('maps distinct keys to distinct names, including keys starting with "}" or a backslash', () => {
    const keys = ['}a', '\\}a', '\\a', 'a', '\\\\a', '}'];
    expect(new Set(keys.map((k) => lockKeys('', k).lock)).size).toBe(keys.length);
    expect(lockKeys('p:', '}a').lock).toBe('p:{\\}a}');
    expect(lockKeys('p:', 'orders:1').lock).toBe('p:{orders:1}');
  });

  it('computes hash tags as Redis Cluster does', () => {
    expect(hashTag('a{b}c')).toBe('b');
    expect(hashTag('a{}c')).toBe('a{}c');
    expect(hashTag('abc')).toBe('abc');
    expect(hashTag('a{b{c}d}')).toBe('b{c');
    expect(hashTag('a{b')).toBe('a{b');
  });

  it('rejects a prefix with "{" or too long', () => {
    expect(() => checkPrefix('prefix', 'a{')).toThrow(/prefix must be .* \(got "a\{"\)/);
    expect(() => checkPrefix('prefix', 'x'.repeat(257))).toThrow(RangeError);
    expect(checkPrefix('prefix', '')).toBe('');
  });
});

describe('Redis reply parsing', () => {
  it('parses tokens, and refuses non-positive or inexact ones', () => {
    expect(toToken(5)).toBe(5n);
    expect(toToken('9007199254740993')).toBe(9007199254740993n);
    expect(() => toToken(0)).toThrow(/fencing token <= 0/);
    expect(() => toToken(2 ** 60)).toThrow(TypeError);
    expect(() => toToken('-1')).toThrow(TypeError);
  });

  it('splits lock values at the first colon (owners may contain colons)', () => {
    expect(parseLockValue('12:abc:def/x')).toEqual({ token: 12n, owner: 'abc:def/x' });
    expect(() => parseLockValue('nocolon')).toThrow(TypeError);
    expect(parseLockHolder(null)).toBeNull();
    expect(parseLockHolder(['3:o', 250])).toEqual({ token: 3n, owner: 'o', remainingMs: 250 });
    expect(parseLockHolder(['3:o', -1])).toEqual({ token: 3n, owner: 'o', remainingMs: 0 });
    expect(() => parseLockHolder(['3:o'])).toThrow(TypeError);
  });

  it('parses acquire and extend replies', () => {
    expect(parseAcquireReply([1, 4])).toEqual({ granted: true, token: 4n });
    expect(parseAcquireReply([0, 120])).toEqual({ granted: false, retryAfterMs: 120 });
    expect(parseAcquireReply([0, -1])).toEqual({ granted: false, retryAfterMs: undefined });
    expect(() => parseAcquireReply([2, 1])).toThrow(TypeError);
    expect(parseLockAcquireReply(4, 50)).toEqual({ kind: 'acquired', token: 4n, ttlMs: 50 });
    expect(parseLockAcquireReply(-121, 50)).toEqual({ kind: 'busy', retryAfterMs: 120 });
    expect(parseLockAcquireReply(-1, 50)).toEqual({ kind: 'busy', retryAfterMs: 0 });
    expect(parseLockAcquireReply(0, 50)).toEqual({ kind: 'busy', retryAfterMs: undefined });
    expect(() => parseLockAcquireReply([1, 4], 50)).toThrow(TypeError);
    expect(() => parseLockAcquireReply(2 ** 60, 50)).toThrow(TypeError);
    expect(parseExtendReply(1, 70)).toEqual({ kind: 'extended', ttlMs: 70 });
    expect(parseExtendReply(0, 70)).toEqual({ kind: 'lost', reason: 'expired' });
    expect(parseExtendReply(-1, 70)).toEqual({ kind: 'lost', reason: 'stolen' });
    expect(() => parseExtendReply('1', 70)).toThrow(TypeError);
  });

  it('parses semaphore holders sorted by token', () => {
    expect(parseSemaphoreHolders(['b', '9', 10, 1, 'a', '2', 20, 3])).toEqual([
      { owner: 'a', token: 2n, remainingMs: 20, permits: 3 },
      { owner: 'b', token: 9n, remainingMs: 10 },
    ]);
    expect(parseSemaphoreHolders([])).toEqual([]);
    expect(() => parseSemaphoreHolders(['a', '1', 5])).toThrow(TypeError);
    expect(() => parseSemaphoreHolders(['a', '1', 5, 0])).toThrow(TypeError);
  });
});

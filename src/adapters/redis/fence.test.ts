import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { checkFencedKey } from '../../coord/fence.js';
import { REDIS_FENCED_SET_SCRIPT, redisFencedSet, redisFenceKey } from './fence.js';
import type { RedisEvalClient } from './fence.js';

describe('Redis fenced set', () => {
  it('compares tokens as decimal strings, beyond 2^53', async () => {
    // A fake `eval` that implements the script's comparison in JS, to check the helper's protocol.
    const data = new Map<string, string>();
    const client: RedisEvalClient = {
      eval: async (script, numKeys, ...args) => {
        expect(script).toBe(REDIS_FENCED_SET_SCRIPT);
        expect(numKeys).toBe(2);
        const [key, fenceKey, tok, value] = args.map(String) as [string, string, string, string];
        const cur = data.get(fenceKey);
        if (
          cur !== undefined &&
          (cur.length > tok.length || (cur.length === tok.length && cur > tok))
        )
          return [0, cur];
        data.set(fenceKey, tok);
        data.set(key, value);
        return [1, tok];
      },
    };
    const big = 2n ** 60n;
    expect((await redisFencedSet(client, { key: 'r' }, big + 1n, 'v2')).kind).toBe('accepted');
    expect(await redisFencedSet(client, { key: 'r' }, big, 'v1')).toEqual({
      kind: 'stale',
      token: big,
      current: big + 1n,
    });
    expect(data.get('{r}\u0000wrapped\u0000fence')).toBe((big + 1n).toString());
    expect(data.get('r')).toBe('v2');
    await expect(redisFencedSet(client, { key: 'r' }, -1n, 'x')).rejects.toThrow(/token/);
  });

  it('keeps the fence key in the data key’s cluster slot', async () => {
    const keys: string[] = [];
    const client: RedisEvalClient = {
      eval: async (_s, _n, key, fence) => {
        keys.push(String(key), String(fence));
        return [1, '1'];
      },
    };
    await redisFencedSet(client, { key: 'user:{42}:profile' }, 1n, 'x');
    await redisFencedSet(client, { key: 'plain' }, 1n, 'x');
    expect(keys).toEqual([
      'user:{42}:profile',
      'user:{42}:profile\u0000fence',
      'plain',
      '{plain}\u0000wrapped\u0000fence',
    ]);
  });

  it('puts the default fence key in the data key’s slot for any key, or asks for one', async () => {
    // The hashed part of a key, per the Redis Cluster specification ("Hash tags").
    const hashed = (key: string): string => {
      const open = key.indexOf('{');
      const close = open < 0 ? -1 : key.indexOf('}', open + 1);
      return close > open + 1 ? key.slice(open + 1, close) : key;
    };
    const client: RedisEvalClient = {
      eval: async (_s, _n, key, fence) => {
        expect(hashed(String(fence))).toBe(hashed(String(key)));
        return [1, '1'];
      },
    };
    const tagless = (key: string): boolean => hashed(key) === key;
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[a-z{}:]{1,12}$/), async (key) => {
        const written = redisFencedSet(client, { key }, 1n, 'x');
        if (tagless(key) && key.includes('}')) await expect(written).rejects.toThrow(/fenceKey/);
        else expect((await written).kind).toBe('accepted');
      }),
    );
    // Where a naive `key.includes('{')` goes wrong: an empty tag, an unclosed brace.
    await expect(redisFencedSet(client, { key: 'a{}b' }, 1n, 'x')).rejects.toThrow(RangeError);
    expect((await redisFencedSet(client, { key: 'a{b' }, 1n, 'x')).kind).toBe('accepted');
  });
});

describe('fence keys and data keys', () => {
  // Before fence keys had a namespace of their own, `{r}:fence` was both r's fence and a legal
  // data key: fencing a resource of that name overwrote r's fence and let a stale write through.
  it('never coincide on Redis, whatever names users pass, and distinct keys get distinct fences', () => {
    const key = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });
    const fence = (k: string): string | undefined => {
      try {
        return redisFenceKey({ key: k });
      } catch {
        return undefined;
      }
    };
    const accepted = (k: string): boolean => {
      try {
        checkFencedKey('key', k);
        return true;
      } catch {
        return false;
      }
    };
    fc.assert(
      fc.property(key, key, (a, b) => {
        const fa = fence(a);
        if (fa === undefined) return;
        expect(accepted(fa)).toBe(false);
        expect(fa === b && accepted(b)).toBe(false);
        const fb = fence(b);
        if (a !== b && fb !== undefined) expect(fa).not.toBe(fb);
      }),
      { numRuns: 2_000 },
    );
    expect(fence('{y}')).not.toBe(fence('y'));
    expect(() => redisFenceKey({ key: 'a\u0000fence' })).toThrow(
      /key must be a string without NUL/,
    );
    expect(() => redisFenceKey({ key: 'a', fenceKey: 'f\u0000' })).toThrow(/fenceKey/);
    expect(() => redisFenceKey({ key: '\uDC00' })).toThrow(/key.*well-formed/);
  });
});

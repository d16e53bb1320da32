import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { StaleTokenError } from './errors.js';
import {
  FencedStore,
  REDIS_FENCED_SET_SCRIPT,
  assertAccepted,
  pgFencedWrite,
  pgFencedWriteSql,
  quoteIdent,
  redisFencedSet,
  redisFenceKey,
  checkFencedKey,
} from './fence.js';
import type { PgQueryClient, RedisEvalClient } from './fence.js';

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
            expect(result.kind).toBe(expected ? 'accepted' : 'rejected');
            if (expected) highest.set(r, t);
            expect(store.highestToken(r)).toBe(highest.get(r) ?? 0n);
          });
        },
      ),
    );
  });

  it('reports the newest token on rejection and throws StaleTokenError through writeOrThrow', () => {
    const store = new FencedStore<string>();
    store.writeOrThrow('report', 34n, 'new');
    expect(store.write('report', 33n, 'old')).toEqual({
      kind: 'rejected',
      token: 33n,
      highestToken: 34n,
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
      kind: 'rejected',
      token: big,
      highestToken: big + 1n,
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

  it('never coincide in a PostgreSQL row: the fence column is not a key or set column', () => {
    const write = { table: 't', keyColumn: 'id', key: 1, set: { body: 'x' } };
    expect(() => pgFencedWriteSql({ ...write, set: { fence: 1 } })).toThrow(/set\.fence/);
    expect(() => pgFencedWriteSql({ ...write, set: { id: 2 } })).toThrow(/set\.id/);
    expect(() => pgFencedWriteSql({ ...write, keyColumn: 'fence' })).toThrow(/keyColumn/);
    expect(() =>
      pgFencedWriteSql({ ...write, fenceColumn: 'token', set: { token: 1, body: 'x' } }),
    ).toThrow(/set\.token/);
    expect(pgFencedWriteSql(write).text).toContain('"fence" <= $1::bigint');
  });
});

describe('PostgreSQL fenced write', () => {
  it('builds a conditional UPDATE and an upsert with quoted identifiers', () => {
    const update = pgFencedWriteSql({
      table: 'app.jobs',
      keyColumn: 'id',
      key: 7,
      set: { body: 'x', n: 2 },
    });
    expect(update.text).toBe(
      'UPDATE "app"."jobs" SET "fence" = $1::bigint, "body" = $3, "n" = $4 WHERE "id" = $2 AND "fence" <= $1::bigint RETURNING "fence"',
    );
    expect(update.values).toEqual([null, 7, 'x', 2]);
    const upsert = pgFencedWriteSql({
      table: 'jobs',
      keyColumn: 'id',
      key: 7,
      set: { body: 'x' },
      upsert: true,
    });
    expect(upsert.text).toContain('ON CONFLICT ("id") DO UPDATE SET "fence" = EXCLUDED."fence"');
    expect(upsert.text).toContain('WHERE "jobs"."fence" <= EXCLUDED."fence"');
    expect(() => quoteIdent('table', 'jobs; DROP TABLE x')).toThrow(/table/);
    expect(() => pgFencedWriteSql({ table: 'jobs', keyColumn: 'id', key: 1, set: {} })).toThrow(
      /set/,
    );
  });

  it('reports accepted, rejected with the newest token, and a missing row', async () => {
    let fence: bigint | undefined = 10n;
    const calls: unknown[][] = [];
    const client: PgQueryClient = {
      query: async (text, values = []) => {
        calls.push(values);
        if (text.startsWith('SELECT'))
          return {
            rowCount: fence === undefined ? 0 : 1,
            rows: fence === undefined ? [] : [{ fence: String(fence) }],
          };
        const token = BigInt(String(values[0]));
        if (fence === undefined || fence > token) return { rowCount: 0, rows: [] };
        fence = token;
        return { rowCount: 1, rows: [{ fence: String(token) }] };
      },
    };
    const write = { table: 'jobs', keyColumn: 'id', key: 1, set: { body: 'b' } };
    expect(await pgFencedWrite(client, 12n, write)).toEqual({ kind: 'accepted', token: 12n });
    expect(calls[0]![0]).toBe('12');
    const stale = await pgFencedWrite(client, 11n, write);
    expect(stale).toEqual({ kind: 'rejected', token: 11n, highestToken: 12n });
    expect(() => assertAccepted('jobs/1', stale)).toThrow(StaleTokenError);
    fence = undefined;
    expect(await pgFencedWrite(client, 13n, write)).toEqual({
      kind: 'rejected',
      token: 13n,
      highestToken: undefined,
    });
  });
});

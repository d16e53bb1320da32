import { describe, it, expect } from 'vitest';
import { StaleTokenError } from '../../coord/errors.js';
import { assertAccepted } from '../../coord/fence.js';
import { pgFencedWrite, pgFencedWriteSql, quoteIdent } from './fence.js';
import type { PgQueryClient } from './fence.js';

describe('fence column and row columns', () => {
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

  it('reports accepted, stale with the newest token, and a missing row', async () => {
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
    expect(stale).toEqual({ kind: 'stale', token: 11n, current: 12n });
    expect(() => assertAccepted('jobs/1', stale)).toThrow(StaleTokenError);
    fence = undefined;
    expect(await pgFencedWrite(client, 13n, write)).toEqual({
      kind: 'stale',
      token: 13n,
      current: undefined,
    });
  });
});

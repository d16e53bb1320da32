/**
 * Fenced writes: the storage side of fencing tokens. A lock alone cannot stop a holder that was
 * paused or partitioned past its lease from writing late; the storage can, by accepting a write
 * only when its token is at least the newest token it has seen for the resource (Kleppmann, "How
 * to do distributed locking", 2016). These helpers implement that check for an in-memory store,
 * Redis (a Lua script) and PostgreSQL (a conditional `UPDATE` / upsert), without importing any
 * client library.
 *
 * @module
 */
import { assert } from '../core/assert.js';
import { integerIn, rangeError } from '../core/validate.js';
import { checkKey } from './validate.js';
import { StaleTokenError } from './errors.js';

/** The outcome of a fenced write: accepted, or rejected because a newer token already wrote. */
export type FenceResult =
  | { readonly kind: 'accepted'; readonly token: bigint }
  | {
      readonly kind: 'rejected';
      readonly token: bigint;
      /** The newest token the storage had seen, when it reports it. */
      readonly highestToken: bigint | undefined;
    };

function checkToken(token: bigint): bigint {
  if (typeof token !== 'bigint' || token <= 0n) throw rangeError('token', 'a bigint > 0', token);
  return token;
}

/** Throws {@link StaleTokenError} for a rejected result; returns the token of an accepted one. */
export function assertAccepted(resource: string, result: FenceResult): bigint {
  if (result.kind === 'rejected')
    throw new StaleTokenError(resource, result.token, result.highestToken);
  return result.token;
}

/** Options of {@link FencedStore}. */
export interface FencedStoreOptions {
  /** Upper bound on resources kept (default 100,000); a write to a new resource beyond it throws a RangeError. */
  maxResources?: number;
}

/**
 * An in-memory fenced register per resource: a write is accepted only with a token ≥ the highest
 * token accepted so far for that resource (equal tokens are the same holder writing again).
 *
 * @example
 * const store = new FencedStore<string>();
 * store.write('report', 34n, 'v1'); // accepted
 * store.write('report', 33n, 'v0'); // rejected: token 33 < 34
 */
export class FencedStore<V> {
  private readonly maxResources: number;
  private readonly entries = new Map<string, { token: bigint; value: V }>();

  constructor(options: FencedStoreOptions = {}) {
    this.maxResources = integerIn('maxResources', options.maxResources ?? 100_000, 1, 100_000_000);
  }

  /** Writes `value` if `token` is not older than the newest accepted token of `resource`. */
  write(resource: string, token: bigint, value: V): FenceResult {
    checkKey('resource', resource);
    checkToken(token);
    const current = this.entries.get(resource);
    if (current !== undefined && token < current.token) {
      return { kind: 'rejected', token, highestToken: current.token };
    }
    if (current === undefined && this.entries.size >= this.maxResources) {
      throw rangeError('resources', `at most ${this.maxResources}`, this.entries.size + 1);
    }
    this.entries.set(resource, { token, value });
    assert(this.entries.get(resource)?.token === token, 'the accepted token is stored');
    return { kind: 'accepted', token };
  }

  /** Like {@link FencedStore.write} but throws {@link StaleTokenError} on rejection. */
  writeOrThrow(resource: string, token: bigint, value: V): void {
    assertAccepted(resource, this.write(resource, token, value));
  }

  /** The current value and its token, or undefined. */
  read(resource: string): { readonly token: bigint; readonly value: V } | undefined {
    return this.entries.get(resource);
  }

  /** The highest token accepted for `resource`, or 0n. */
  highestToken(resource: string): bigint {
    return this.entries.get(resource)?.token ?? 0n;
  }
}

// ---------------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------------

/**
 * Lua for Redis `EVAL`: set `KEYS[1]` to `ARGV[2]` only if `ARGV[1]` (the token, a decimal string)
 * is ≥ the token stored in `KEYS[2]`, and then store the token. Tokens are compared as decimal
 * strings (length first, then lexicographically) because Lua numbers are doubles and tokens are
 * 64-bit. Returns `{1, token}` when accepted, `{0, highest}` when rejected.
 */
export const REDIS_FENCED_SET_SCRIPT = `
local tok = ARGV[1]
local cur = redis.call('GET', KEYS[2])
if cur then
  if string.len(cur) > string.len(tok) or (string.len(cur) == string.len(tok) and cur > tok) then
    return {0, cur}
  end
end
redis.call('SET', KEYS[2], tok)
redis.call('SET', KEYS[1], ARGV[2])
return {1, tok}
`;

/** The minimal Redis client this helper needs (ioredis' `eval(script, numKeys, ...args)` fits). */
export interface RedisEvalClient {
  eval(script: string, numKeys: number, ...args: (string | number | Buffer)[]): Promise<unknown>;
}

/** Where a fenced Redis value lives: the data key, and the name of its fence. */
export interface RedisFencedTarget {
  /** The data key: any key without a NUL character (NUL marks fence keys, see {@link redisFenceKey}). */
  readonly key: string;
  /**
   * Names the fence explicitly (required for a key with a `}` but no hash tag). The token is stored
   * at `<fenceKey>\u0000fence`, in `fenceKey`'s cluster slot; give it the data key's hash tag.
   * Targets naming the same fence share it (which only rejects more writes).
   */
  readonly fenceKey?: string;
}

/**
 * The Redis key that holds the newest token of `target`. Fence keys and data keys are disjoint by
 * construction: every fence key contains a NUL character and no data key may (a data key with one
 * is refused), so no write of a resource, whatever its name, can overwrite another resource's
 * fence. Distinct data keys get distinct fence keys: a key with a hash tag gets
 * `<key>\u0000fence` (same slot), a key without one `{<key>}\u0000wrapped\u0000fence` (the braces
 * make the whole key the tag; the second NUL keeps `{k}` and `k` apart).
 */
export function redisFenceKey(target: RedisFencedTarget): string {
  const key = checkFencedKey('key', target.key);
  if (target.fenceKey !== undefined)
    return `${checkFencedKey('fenceKey', target.fenceKey)}${FENCE_SUFFIX}`;
  const open = key.indexOf('{');
  if (open >= 0 && key.indexOf('}', open + 1) > open + 1) return `${key}${FENCE_SUFFIX}`;
  if (!key.includes('}')) return `{${key}}\u0000wrapped${FENCE_SUFFIX}`;
  throw rangeError('fenceKey', 'given explicitly for a key with a } but no hash tag', key);
}

/** Appended to every Redis fence key; the NUL is what no data key may contain. */
const FENCE_SUFFIX = '\u0000fence';

/** A key usable by a fence helper: {@link checkKey}, and no NUL (the fence namespace's mark). */
export function checkFencedKey(field: string, key: string): string {
  checkKey(field, key);
  if (key.includes('\u0000'))
    throw rangeError(field, 'a string without NUL characters (NUL marks fence keys)', key);
  return key;
}

function parseRedisReply(reply: unknown, token: bigint): FenceResult {
  if (!Array.isArray(reply) || reply.length !== 2) {
    throw new TypeError(`unexpected reply from the fenced-set script: ${JSON.stringify(reply)}`);
  }
  const [ok, seen] = reply as [unknown, unknown];
  if (Number(ok) === 1) return { kind: 'accepted', token };
  return { kind: 'rejected', token, highestToken: BigInt(String(seen)) };
}

/**
 * Sets a Redis string value only if `token` is not older than the newest token written to it.
 *
 * @example
 * const result = await redisFencedSet(redis, { key: 'report' }, lease.token, JSON.stringify(report));
 * if (result.kind === 'rejected') throw new Error('a newer lock holder already wrote');
 */
export async function redisFencedSet(
  client: RedisEvalClient,
  target: RedisFencedTarget,
  token: bigint,
  value: string | Buffer,
): Promise<FenceResult> {
  const fenceKey = redisFenceKey(target);
  checkToken(token);
  const reply = await client.eval(
    REDIS_FENCED_SET_SCRIPT,
    2,
    target.key,
    fenceKey,
    token.toString(),
    value,
  );
  return parseRedisReply(reply, token);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------

/** The minimal PostgreSQL client this helper needs (`pg`'s `Client` and `Pool` fit). */
export interface PgQueryClient {
  query(text: string, values?: unknown[]): Promise<{ rowCount: number | null; rows: unknown[] }>;
}

/** A fenced row write: which table, which row, which columns. */
export interface PgFencedWrite {
  /** Table name, optionally schema-qualified (`jobs` or `app.jobs`); quoted as identifiers. */
  readonly table: string;
  /** The key column and its value (the row must be unique on it for the upsert form). */
  readonly keyColumn: string;
  readonly key: unknown;
  /** The `bigint` column holding the newest accepted token (default `fence`). */
  readonly fenceColumn?: string;
  /** Columns to set and their values (at least one). */
  readonly set: Readonly<Record<string, unknown>>;
  /** Insert the row when it does not exist (`INSERT ... ON CONFLICT ... DO UPDATE ... WHERE`), default false. */
  readonly upsert?: boolean;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** Quotes a (possibly schema-qualified) identifier after checking it is a plain name. */
export function quoteIdent(field: string, name: string): string {
  const parts = typeof name === 'string' ? name.split('.') : [];
  if (parts.length === 0 || parts.length > 2 || !parts.every((p) => IDENTIFIER.test(p))) {
    throw rangeError(
      field,
      'a plain SQL identifier (letters, digits, _; optionally schema.name)',
      name,
    );
  }
  return parts.map((p) => `"${p}"`).join('.');
}

/**
 * Builds the SQL of a fenced write. Parameters: `$1` the token (as text, cast to `bigint`), `$2`
 * the key, `$3...` the values of `set`. The row is changed only when its fence is ≤ the token, so
 * a stale holder's statement matches no row; `RETURNING` tells the two cases apart.
 */
export function pgFencedWriteSql(write: PgFencedWrite): { text: string; values: unknown[] } {
  const table = quoteIdent('table', write.table);
  const keyCol = quoteIdent('keyColumn', write.keyColumn);
  const fence = quoteIdent('fenceColumn', write.fenceColumn ?? 'fence');
  const cols = Object.keys(write.set);
  if (cols.length === 0) throw rangeError('set', 'an object with at least one column', '{}');
  // The fence column belongs to the helper alone: a key column or a set column of the same name
  // would let a write compare against, or overwrite, the token it is fenced by.
  if (keyCol === fence)
    throw rangeError('keyColumn', `a column other than the fence column ${fence}`, write.keyColumn);
  for (const c of cols) {
    const q = quoteIdent(`set.${c}`, c);
    if (q === fence || q === keyCol)
      throw rangeError(
        `set.${c}`,
        `a column other than the key and fence columns (${keyCol}, ${fence})`,
        c,
      );
  }
  const quoted = cols.map((c) => quoteIdent(`set.${c}`, c));
  const values = cols.map((c) => write.set[c]);
  if (write.upsert === true) {
    const params = quoted.map((_, i) => `$${i + 3}`).join(', ');
    const updates = quoted.map((q) => `${q} = EXCLUDED.${q}`).join(', ');
    const text =
      `INSERT INTO ${table} (${keyCol}, ${fence}, ${quoted.join(', ')}) VALUES ($2, $1::bigint, ${params}) ` +
      `ON CONFLICT (${keyCol}) DO UPDATE SET ${fence} = EXCLUDED.${fence}, ${updates} ` +
      `WHERE ${table}.${fence} <= EXCLUDED.${fence} RETURNING ${fence}`;
    return { text, values: [null, write.key, ...values] };
  }
  const sets = quoted.map((q, i) => `${q} = $${i + 3}`).join(', ');
  const text =
    `UPDATE ${table} SET ${fence} = $1::bigint, ${sets} ` +
    `WHERE ${keyCol} = $2 AND ${fence} <= $1::bigint RETURNING ${fence}`;
  return { text, values: [null, write.key, ...values] };
}

/**
 * Runs a fenced write. `accepted` when the row was written; `rejected` when a newer token already
 * wrote (or, without `upsert`, when the row does not exist: `highestToken` is then undefined).
 *
 * @example
 * const r = await pgFencedWrite(pool, lease.token, {
 *   table: 'reports', keyColumn: 'id', key: 42, set: { body: text },
 * });
 * assertAccepted('reports/42', r);
 */
export async function pgFencedWrite(
  client: PgQueryClient,
  token: bigint,
  write: PgFencedWrite,
): Promise<FenceResult> {
  checkToken(token);
  const { text, values } = pgFencedWriteSql(write);
  values[0] = token.toString();
  const result = await client.query(text, values);
  if ((result.rowCount ?? result.rows.length) > 0) return { kind: 'accepted', token };
  const fence = quoteIdent('fenceColumn', write.fenceColumn ?? 'fence');
  const probe = await client.query(
    `SELECT ${fence}::text AS fence FROM ${quoteIdent('table', write.table)} WHERE ${quoteIdent('keyColumn', write.keyColumn)} = $1`,
    [write.key],
  );
  const row = probe.rows[0] as { fence?: unknown } | undefined;
  const highestToken =
    row?.fence === undefined || row.fence === null ? undefined : BigInt(String(row.fence));
  return { kind: 'rejected', token, highestToken };
}

/**
 * Fenced writes to Redis: a string value set only when its fencing token is not older than the
 * newest token written to it, in one Lua script. Answers the shared {@link FenceResult}. Imports
 * no client library: any `{ eval(script, numKeys, ...args) }` (ioredis fits) will do.
 *
 * @module
 */
import { rangeError } from '../../core/validate.js';
import { checkFenceToken, checkFencedKey } from '../../coord/fence.js';
import type { FenceResult } from '../../coord/fence.js';

/**
 * Lua for Redis `EVAL`: set `KEYS[1]` to `ARGV[2]` only if `ARGV[1]` (the token, a decimal string)
 * is ≥ the token stored in `KEYS[2]`, and then store the token. Tokens are compared as decimal
 * strings (length first, then lexicographically) because Lua numbers are doubles and tokens are
 * 64-bit. Returns `{1, token}` when accepted, `{0, current}` when the token is stale.
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

function parseRedisReply(reply: unknown, token: bigint): FenceResult {
  if (!Array.isArray(reply) || reply.length !== 2) {
    throw new TypeError(`unexpected reply from the fenced-set script: ${JSON.stringify(reply)}`);
  }
  const [ok, seen] = reply as [unknown, unknown];
  if (Number(ok) === 1) return { kind: 'accepted', token };
  return { kind: 'stale', token, current: BigInt(String(seen)) };
}

/**
 * Sets a Redis string value only if `token` is not older than the newest token written to it.
 *
 * @example
 * const result = await redisFencedSet(redis, { key: 'report' }, lease.token, JSON.stringify(report));
 * assertAccepted('report', result); // throws StaleTokenError when a newer holder wrote
 */
export async function redisFencedSet(
  client: RedisEvalClient,
  target: RedisFencedTarget,
  token: bigint,
  value: string | Buffer,
): Promise<FenceResult> {
  const fenceKey = redisFenceKey(target);
  checkFenceToken(token);
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

/**
 * Key naming and reply parsing of the Redis backends (pure functions).
 *
 * All Redis keys of one lock or semaphore share the hash tag `{<key>}`, so a script that touches
 * them all runs on one Redis Cluster slot. Redis hashes the text between the first `{` and the
 * first `}` after it; every name below starts with `<prefix>{<key>}`, so all of a key's names
 * share that text even when the key itself contains braces.
 *
 * @module
 */
import { assert } from '../../core/assert.js';
import { rangeError } from '../../core/validate.js';
import type { AcquireResult, Holder } from '../../coord/types.js';
import { CHANNEL_SUFFIX } from './scripts.js';

/** The Redis names of one lock. */
export interface LockKeys {
  /** The lock itself: a string `"<token>:<owner>"` with a PX expiry. */
  readonly lock: string;
  /** The token counter: an integer that never expires. */
  readonly counter: string;
  /** Present (with an expiry) while someone waits; a release publishes only then. */
  readonly waiting: string;
  /** The pub/sub channel a release publishes on. */
  readonly channel: string;
  /** The waiter queue: a list of owners, oldest first. */
  readonly queue: string;
  /** The queued waiters' entries: a hash owner -> "<deadline ms, server clock>:<ttlMs>". */
  readonly qinfo: string;
}

/** The Redis names of one semaphore. */
export interface SemaphoreKeys {
  /** Sorted set: owner -> expiry in server milliseconds. */
  readonly permits: string;
  /** Hash: owner -> token (`"<token>*<count>"` for a lease of several permits). */
  readonly tokens: string;
  /** The token counter (never expires). */
  readonly counter: string;
  /** Present (with an expiry) while someone waits; a release publishes only then. */
  readonly waiting: string;
  /** The pub/sub channel a release publishes on. */
  readonly channel: string;
  /** The waiter queue: a list of owners, oldest first. */
  readonly queue: string;
  /** The queued waiters' entries: a hash owner -> "<deadline ms>:<ttlMs>:<count>:<limit>". */
  readonly qinfo: string;
  /** The sum of the held leases' permit counts. */
  readonly used: string;
}

/** Validates a key prefix: a string of at most 256 characters without `{` (it would move the hash tag). */
export function checkPrefix(field: string, prefix: string): string {
  if (typeof prefix !== 'string' || prefix.length > 256 || prefix.includes('{')) {
    throw rangeError(field, 'a string of at most 256 characters without "{"', prefix);
  }
  return prefix;
}

/**
 * The hash tag's text for `key`: the key itself, except that a key starting with `}` (which would
 * make the tag empty, and Redis would then hash each whole name) or a backslash gets a backslash in front.
 * The mapping is injective, so distinct keys never share names.
 */
function tagText(key: string): string {
  return key.startsWith('}') || key.startsWith('\\') ? `\\${key}` : key;
}

/** Names of the lock `key` under `prefix`. */
export function lockKeys(prefix: string, key: string): LockKeys {
  const base = `${prefix}{${tagText(key)}}`;
  return {
    lock: base,
    counter: `${base}:token`,
    waiting: `${base}:waiting`,
    channel: base + CHANNEL_SUFFIX,
    queue: `${base}:queue`,
    qinfo: `${base}:qinfo`,
  };
}

/** Names of the semaphore `key` under `prefix`. */
export function semaphoreKeys(prefix: string, key: string): SemaphoreKeys {
  const base = `${prefix}{${tagText(key)}}`;
  return {
    permits: base,
    tokens: `${base}:tokens`,
    counter: `${base}:token`,
    waiting: `${base}:waiting`,
    channel: base + CHANNEL_SUFFIX,
    queue: `${base}:queue`,
    qinfo: `${base}:qinfo`,
    used: `${base}:used`,
  };
}

/** The KEYS every semaphore script takes, in their order (see `SEMAPHORE_CORE` in `scripts.ts`). */
export function semaphoreScriptKeys(k: SemaphoreKeys): readonly string[] {
  return [k.permits, k.tokens, k.counter, k.waiting, k.queue, k.qinfo, k.used];
}

/**
 * The hash tag Redis Cluster uses for `name` (the text between the first `{` and the next `}`, when
 * not empty), or the whole name. Used by tests to prove a key's names share one slot.
 */
export function hashTag(name: string): string {
  const open = name.indexOf('{');
  if (open < 0) return name;
  const close = name.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return name;
  return name.slice(open + 1, close);
}

/** Converts a script's integer reply to a token, asserting it is a positive integer. */
export function toToken(reply: unknown): bigint {
  let token: bigint;
  if (typeof reply === 'number' && Number.isSafeInteger(reply)) token = BigInt(reply);
  else if (typeof reply === 'string' && /^[0-9]+$/.test(reply)) token = BigInt(reply);
  else throw new TypeError(`unexpected token reply from Redis: ${String(reply)}`);
  assert(token > 0n, 'Redis issued a fencing token <= 0');
  return token;
}

/** Parses a lock value `"<token>:<owner>"`. */
export function parseLockValue(value: string): { token: bigint; owner: string } {
  const colon = value.indexOf(':');
  if (colon <= 0) throw new TypeError(`unexpected lock value in Redis: ${JSON.stringify(value)}`);
  return { token: toToken(value.slice(0, colon)), owner: value.slice(colon + 1) };
}

/**
 * Parses a grant message `"+<token>:<owner>"` (published when a release or an expiry hands a lock
 * to a queued waiter), or returns undefined for any other message (a release's owner).
 */
export function parseGrantMessage(message: string): { token: bigint; owner: string } | undefined {
  return message.startsWith('+') ? parseLockValue(message.slice(1)) : undefined;
}

/** Parses the holder script's reply (`null` or `[value, pttl]`). */
export function parseLockHolder(reply: unknown): Holder | null {
  if (reply === null) return null;
  if (!Array.isArray(reply) || typeof reply[0] !== 'string' || typeof reply[1] !== 'number') {
    throw new TypeError(`unexpected holder reply from Redis: ${JSON.stringify(reply)}`);
  }
  // PTTL is -2 when the key vanished and -1 without expiry; neither happens inside the script
  // for keys this backend wrote, but report them as "no time left" rather than a negative number.
  return { ...parseLockValue(reply[0]), remainingMs: Math.max(0, reply[1]) };
}

/**
 * Parses the semaphore holders script's flat reply (`owner, token, remainingMs, count` per lease),
 * sorted by token; `permits` is set only for a lease of more than one permit.
 */
export function parseSemaphoreHolders(reply: unknown): Holder[] {
  if (!Array.isArray(reply) || reply.length % 4 !== 0) {
    throw new TypeError(`unexpected holders reply from Redis: ${JSON.stringify(reply)}`);
  }
  const out: Holder[] = [];
  for (let i = 0; i < reply.length; i += 4) {
    const owner: unknown = reply[i];
    const remaining: unknown = reply[i + 2];
    const count: unknown = reply[i + 3];
    if (
      typeof owner !== 'string' ||
      typeof remaining !== 'number' ||
      typeof count !== 'number' ||
      !Number.isSafeInteger(count) ||
      count < 1
    ) {
      throw new TypeError(`unexpected holders reply from Redis: ${JSON.stringify(reply)}`);
    }
    const holder = { owner, token: toToken(reply[i + 1]), remainingMs: Math.max(0, remaining) };
    out.push(count === 1 ? holder : { ...holder, permits: count });
  }
  return out.sort((a, b) => (a.token < b.token ? -1 : a.token > b.token ? 1 : 0));
}

/**
 * Parses the lock acquire (and enqueue) script's single-integer reply (one integer is cheaper for
 * Redis to build than a table) into the SPI's answer for a request of `ttlMs`: `> 0` is the granted
 * token; `0` is busy by a key without a TTL; `< 0` is busy, with `-reply - 1` ms left on the
 * holder's TTL.
 */
export function parseLockAcquireReply(reply: unknown, ttlMs: number): AcquireResult {
  if (typeof reply !== 'number' || !Number.isSafeInteger(reply)) {
    throw new TypeError(`unexpected acquire reply from Redis: ${JSON.stringify(reply)}`);
  }
  if (reply > 0) return { kind: 'acquired', token: toToken(reply), ttlMs };
  return { kind: 'busy', retryAfterMs: reply < 0 ? -reply - 1 : undefined };
}

/** Parses an `{ok, value}` acquire reply: `ok` is 1 (value = token) or 0 (value = ms left, or < 0). */
export function parseAcquireReply(
  reply: unknown,
): { granted: true; token: bigint } | { granted: false; retryAfterMs: number | undefined } {
  if (!Array.isArray(reply) || (reply[0] !== 0 && reply[0] !== 1) || typeof reply[1] !== 'number') {
    throw new TypeError(`unexpected acquire reply from Redis: ${JSON.stringify(reply)}`);
  }
  if (reply[0] === 1) return { granted: true, token: toToken(reply[1]) };
  return { granted: false, retryAfterMs: reply[1] >= 0 ? reply[1] : undefined };
}

/** Maps an extend script's reply (1, 0, -1) to the SPI's answer. */
export function parseExtendReply(
  reply: unknown,
  ttlMs: number,
): { kind: 'extended'; ttlMs: number } | { kind: 'lost'; reason: 'expired' | 'stolen' } {
  switch (reply) {
    case 1:
      return { kind: 'extended', ttlMs };
    case 0:
      return { kind: 'lost', reason: 'expired' };
    case -1:
      return { kind: 'lost', reason: 'stolen' };
    default:
      throw new TypeError(`unexpected extend reply from Redis: ${JSON.stringify(reply)}`);
  }
}

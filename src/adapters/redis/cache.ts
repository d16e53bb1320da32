/**
 * The Redis second tier of `TieredCache` (`faultline/redis`): values with a server-side TTL
 * (`PX`), a fenced write (a Lua script compares the regenerator's lease token with the newest
 * token written for the key, as decimal strings, and writes and publishes only when it is not
 * older), and one pub/sub channel on which every write and delete is announced to the other
 * instances. ioredis is an optional peer dependency: pass your client in.
 *
 * @module
 */
import type { RemoteHit, RemoteMessage, RemoteTier } from '../../cache/tiered.js';
import { checkCacheKey } from '../../cache/errors.js';
import { raceAbort } from '../../core/abort.js';
import type { Disposable } from '../../core/events.js';
import { disposable } from '../../core/events.js';
import { positive, rangeError } from '../../core/validate.js';
import { checkPrefix } from './keys.js';
import type { SubscriberClient } from './notify.js';
import type { RedisClient } from './options.js';

/**
 * `GET` and `PTTL` of `KEYS[1]` and the newest token written for it (`KEYS[2]`) in one step:
 * `{value, pttl, token}` (no token when the fence key is gone) or nil.
 */
const GET_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if not v then return nil end
return {v, redis.call('PTTL', KEYS[1]), redis.call('GET', KEYS[2])}
`;

/**
 * Fenced write: `ARGV[1]` token (decimal), `ARGV[2]` value, `ARGV[3]` TTL ms, `ARGV[4]` fence TTL
 * ms, `ARGV[5]` channel, `ARGV[6]` message. Tokens compare by length then lexicographically
 * (Lua numbers are doubles; tokens are 64-bit). Returns 1 when written, 0 when fenced off.
 */
const SET_FENCED_SCRIPT = `
local tok = ARGV[1]
local cur = redis.call('GET', KEYS[2])
if cur and (string.len(cur) > string.len(tok) or (string.len(cur) == string.len(tok) and cur > tok)) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SET', KEYS[2], tok, 'PX', ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1
`;

/** `DEL` and announce. */
const DELETE_SCRIPT = `
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
`;

/** Options of {@link RedisCacheTier}. */
export interface RedisCacheTierOptions<V> {
  /** Prefix of every key and of the channel (default `faultline:cache:`); no `{`. */
  prefix?: string;
  /** Encodes a value for Redis (default `JSON.stringify`). */
  serialize?: (value: V) => string;
  /** Decodes a stored value (default `JSON.parse`). */
  deserialize?: (text: string) => V;
  /**
   * How long the newest token of a key is remembered after a write, in ms (default 600,000). A
   * regenerator paused longer than this after the value expired could write once more; longer
   * costs a small key per cached key.
   */
  fenceTtlMs?: number;
  /** Opens the subscriber connection (default `client.duplicate()`), closed on dispose. */
  subscriber?: () => SubscriberClient;
}

/** The minimal ioredis surface this tier uses. */
type EvalClient = Pick<RedisClient, 'eval' | 'duplicate'>;

/**
 * A Redis tier for `TieredCache`.
 *
 * @example
 * const tier = new RedisCacheTier<Product>(redis);
 * const cache = new TieredCache({ remote: tier, lock: new Lock(new RedisLockBackend(redis)) });
 */
export class RedisCacheTier<V> implements RemoteTier<V> {
  private readonly client: EvalClient;
  private readonly prefix: string;
  private readonly channel: string;
  private readonly serialize: (value: V) => string;
  private readonly deserialize: (text: string) => V;
  private readonly fenceTtlMs: number;
  private readonly openSubscriber: () => SubscriberClient;

  constructor(client: RedisClient, options: RedisCacheTierOptions<V> = {}) {
    if (typeof client !== 'object' || client === null || typeof client.eval !== 'function') {
      throw new TypeError('client must be an ioredis Redis or Cluster instance');
    }
    this.client = client;
    this.prefix = checkPrefix('prefix', options.prefix ?? 'faultline:cache:');
    this.channel = `${this.prefix}events`;
    this.serialize = options.serialize ?? ((v) => JSON.stringify(v));
    this.deserialize = options.deserialize ?? ((t) => JSON.parse(t) as V);
    this.fenceTtlMs = positive('fenceTtlMs', options.fenceTtlMs ?? 600_000);
    this.openSubscriber =
      options.subscriber ?? ((): SubscriberClient => client.duplicate() as SubscriberClient);
  }

  /** The Redis key holding `key`'s value (its fence key adds `:fence`). */
  keyOf(key: string): string {
    checkCacheKey(key);
    // The braces make the value and its fence share a cluster slot; `}` in a key would end the
    // tag early, so it is escaped (injectively) as in the lock backend.
    const tag = key.replaceAll('\\', '\\\\').replaceAll('}', '\\]');
    return `${this.prefix}{${tag}}`;
  }

  async get(key: string, signal?: AbortSignal): Promise<RemoteHit<V> | undefined> {
    const base = this.keyOf(key);
    const reply = await raceAbort(this.client.eval(GET_SCRIPT, 2, base, `${base}:fence`), signal);
    if (reply === null) return undefined;
    // A nil token ends the Lua table early: two elements.
    if (!Array.isArray(reply) || reply.length < 2 || reply.length > 3) {
      throw new TypeError(`unexpected reply from the cache read script: ${JSON.stringify(reply)}`);
    }
    const [text, pttl, fence] = reply as [unknown, unknown, unknown];
    const remainingMs = Number(pttl);
    const value = this.deserialize(String(text));
    // PTTL is -1 for a key without expiry (written by someone else); treat it as fresh for 1 s.
    const hit = { value, remainingMs: remainingMs > 0 ? remainingMs : 1_000 };
    const token = parseToken(fence);
    return token === undefined ? hit : { ...hit, token };
  }

  async setFenced(
    key: string,
    value: V,
    token: bigint,
    ttlMs: number,
    from: string,
    signal?: AbortSignal,
  ): Promise<boolean> {
    if (typeof token !== 'bigint' || token <= 0n) throw rangeError('token', 'a bigint > 0', token);
    const ttl = Math.max(1, Math.ceil(positive('ttlMs', ttlMs)));
    const message = JSON.stringify({ kind: 'set', key, from, token: token.toString() });
    const base = this.keyOf(key);
    const reply = await raceAbort(
      this.client.eval(
        SET_FENCED_SCRIPT,
        2,
        base,
        `${base}:fence`,
        token.toString(),
        this.serialize(value),
        ttl,
        Math.max(ttl, Math.ceil(this.fenceTtlMs)),
        this.channel,
        message,
      ),
      signal,
    );
    return Number(reply) === 1;
  }

  async delete(key: string, from: string, signal?: AbortSignal): Promise<void> {
    const message = JSON.stringify({ kind: 'delete', key, from } satisfies RemoteMessage);
    await raceAbort(
      this.client.eval(DELETE_SCRIPT, 1, this.keyOf(key), this.channel, message),
      signal,
    );
  }

  async subscribe(listener: (message: RemoteMessage) => void): Promise<Disposable> {
    const subscriber = this.openSubscriber();
    subscriber.on('error', () => undefined);
    subscriber.on('message', (channel, text) => {
      if (channel !== this.channel) return;
      const message = parseMessage(text);
      // A malformed message (another program on the channel) is ignored, never thrown.
      if (message !== undefined) listener(message);
    });
    try {
      await subscriber.subscribe(this.channel);
    } catch (error) {
      subscriber.disconnect();
      throw error;
    }
    return disposable(() => subscriber.disconnect());
  }
}

/** A token as the tier stores it (decimal, at most 20 digits), or `undefined`. */
function parseToken(text: unknown): bigint | undefined {
  if (typeof text !== 'string' || !/^[0-9]{1,20}$/.test(text)) return undefined;
  return BigInt(text);
}

function parseMessage(text: string): RemoteMessage | undefined {
  try {
    const m = JSON.parse(text) as {
      kind?: unknown;
      key?: unknown;
      from?: unknown;
      token?: unknown;
    };
    if (
      (m.kind === 'set' || m.kind === 'delete') &&
      typeof m.key === 'string' &&
      typeof m.from === 'string'
    ) {
      const message: RemoteMessage = { kind: m.kind, key: m.key, from: m.from };
      // A malformed token counts as unknown: the message then drops every other L1 copy.
      const token = m.kind === 'set' ? parseToken(m.token) : undefined;
      return token === undefined ? message : { ...message, token };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

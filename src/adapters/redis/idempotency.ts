/**
 * The Redis idempotency store: one hash per key, every operation one Lua script, every decision on
 * the server's clock (`TIME`) and TTL. Records expire by themselves (`PEXPIRE`), so `reap` has
 * nothing to do and the store is bounded by Redis's own memory policy.
 *
 * @module
 */
import { rangeError } from '../../core/validate.js';
import type {
  BeginRequest,
  BeginResult,
  FencedWrite,
  IdempotencyRecord,
  IdempotencyStore,
  StoreCallOptions,
  StoredOutcome,
} from '../../coord/idempotency/types.js';
import { checkPrefix } from './keys.js';
import type { RedisClient } from './options.js';
import type { ScriptClient } from './script-runner.js';
import { ScriptRunner } from './script-runner.js';
import { luaScript } from './scripts.js';

/** The server's time in ms, from `TIME` (allowed in scripts since Redis 5 replicates effects). */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Begin. KEYS: record. ARGV: fingerprint, owner, leaseMs, ttlMs. Returns {kind, a, b}: `mismatch`
 * with the stored fingerprint, `completed` with the outcome, `in-progress` with the ms left on the
 * lease, or `started` with the epoch and 1 for a takeover.
 */
const BEGIN = luaScript(
  'idem-begin',
  `${NOW}
local lease = tonumber(ARGV[3])
local r = redis.call('HMGET', KEYS[1], 'fp', 'state', 'epoch', 'until', 'outcome')
if r[1] then
  if r[1] ~= ARGV[1] then return {'mismatch', r[1]} end
  if r[2] == 'done' then return {'completed', r[5]} end
  local left = tonumber(r[4]) - now
  if left > 0 then return {'in-progress', tostring(left)} end
  local epoch = tonumber(r[3]) + 1
  redis.call('HSET', KEYS[1], 'owner', ARGV[2], 'epoch', string.format('%d', epoch), 'until', string.format('%d', now + lease))
  if redis.call('PTTL', KEYS[1]) < lease then redis.call('PEXPIRE', KEYS[1], lease) end
  return {'started', string.format('%d', epoch), '1'}
end
redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'state', 'run', 'owner', ARGV[2], 'epoch', '1', 'until', string.format('%d', now + lease))
redis.call('PEXPIRE', KEYS[1], math.max(lease, tonumber(ARGV[4])))
return {'started', '1', '0'}
`,
);

/** The fence every write checks: the record is in progress under this owner and epoch. */
const HOLDS = `
local r = redis.call('HMGET', KEYS[1], 'state', 'owner', 'epoch')
if r[1] ~= 'run' or r[2] ~= ARGV[1] or r[3] ~= ARGV[2] then return 0 end
`;

/** Complete. KEYS: record. ARGV: owner, epoch, outcome, ttlMs. 1 = completed, 0 = fenced. */
const COMPLETE = luaScript(
  'idem-complete',
  `${HOLDS}
redis.call('HSET', KEYS[1], 'state', 'done', 'outcome', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`,
);

/** Extend. KEYS: record. ARGV: owner, epoch, leaseMs. 1 = renewed, 0 = fenced. */
const EXTEND = luaScript(
  'idem-extend',
  `${HOLDS}${NOW}
local lease = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'until', string.format('%d', now + lease))
if redis.call('PTTL', KEYS[1]) < lease then redis.call('PEXPIRE', KEYS[1], lease) end
return 1
`,
);

/** Release. KEYS: record. ARGV: owner, epoch. 1 = deleted, 0 = fenced. */
const RELEASE = luaScript(
  'idem-release',
  `${HOLDS}
redis.call('DEL', KEYS[1])
return 1
`,
);

/** Get. KEYS: record. Returns {fp, state, owner, epoch, outcome, pttl} or an empty table. */
const GET = luaScript(
  'idem-get',
  `
local r = redis.call('HMGET', KEYS[1], 'fp', 'state', 'owner', 'epoch', 'outcome')
if not r[1] then return {} end
return {r[1], r[2], r[3], r[4], r[5] or '', redis.call('PTTL', KEYS[1])}
`,
);

/** Options of {@link RedisIdempotencyStore}. */
export interface RedisIdempotencyStoreOptions {
  /** Prefix of the record keys (default `faultline:idem:`); must not contain `{`. */
  prefix?: string;
}

function encodeOutcome(outcome: StoredOutcome): string {
  return (outcome.kind === 'value' ? 'v' : 'e') + outcome.data;
}

function decodeOutcome(text: string): StoredOutcome {
  const data = text.slice(1);
  if (text.startsWith('v')) return { kind: 'value', data };
  if (text.startsWith('e')) return { kind: 'error', data };
  throw new RangeError(
    `stored outcome must start with "v" or "e" (got ${JSON.stringify(text.slice(0, 20))})`,
  );
}

/**
 * Idempotency records in Redis, shared by every process that uses the same server and prefix.
 * Pass your own ioredis client; the store never closes it. With Redis Cluster each record is one
 * key, so every script runs on a single slot.
 *
 * @example
 * const store = new RedisIdempotencyStore(new Redis());
 * await idempotent(key, body, () => charge(body), { store });
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  readonly name = 'redis';
  private readonly prefix: string;
  private readonly runner: ScriptRunner;

  constructor(client: RedisClient, options: RedisIdempotencyStoreOptions = {}) {
    if (typeof (client as Partial<ScriptClient> | null)?.evalsha !== 'function')
      throw rangeError('client', 'an ioredis client', client);
    this.prefix = checkPrefix('prefix', options.prefix ?? 'faultline:idem:');
    this.runner = new ScriptRunner(client as ScriptClient);
  }

  private keyOf(key: string): string {
    // The braces make the whole key the hash tag: a record is a single slot in a cluster.
    return `${this.prefix}{${key.startsWith('}') ? `\\${key}` : key}}`;
  }

  async begin(request: BeginRequest, options: StoreCallOptions): Promise<BeginResult> {
    const { key, fingerprint, owner, leaseMs, ttlMs } = request;
    const reply = (await this.runner.run(
      'begin',
      BEGIN,
      [this.keyOf(key)],
      [fingerprint, owner, leaseMs, ttlMs],
      options,
    )) as string[];
    const [kind, a = '', b] = reply;
    switch (kind) {
      case 'mismatch':
        return { kind: 'mismatch', storedFingerprint: a };
      case 'completed':
        return { kind: 'completed', outcome: decodeOutcome(a) };
      case 'in-progress':
        return { kind: 'in-progress', retryAfterMs: Number(a) };
      case 'started':
        return { kind: 'started', epoch: Number(a), takeover: b === '1' };
      default:
        throw new RangeError(`unexpected begin reply ${JSON.stringify(reply)}`);
    }
  }

  async complete(
    key: string,
    owner: string,
    epoch: number,
    outcome: StoredOutcome,
    ttlMs: number,
    options: StoreCallOptions,
  ): Promise<FencedWrite> {
    const args = [owner, String(epoch), encodeOutcome(outcome), ttlMs];
    const reply = await this.runner.run('complete', COMPLETE, [this.keyOf(key)], args, options);
    return reply === 1 ? 'ok' : 'fenced';
  }

  async extend(
    key: string,
    owner: string,
    epoch: number,
    leaseMs: number,
    options: StoreCallOptions,
  ): Promise<FencedWrite> {
    const args = [owner, String(epoch), leaseMs];
    const reply = await this.runner.run('extend', EXTEND, [this.keyOf(key)], args, options);
    return reply === 1 ? 'ok' : 'fenced';
  }

  async release(
    key: string,
    owner: string,
    epoch: number,
    options: StoreCallOptions,
  ): Promise<FencedWrite> {
    const reply = await this.runner.run(
      'release',
      RELEASE,
      [this.keyOf(key)],
      [owner, String(epoch)],
      options,
    );
    return reply === 1 ? 'ok' : 'fenced';
  }

  async get(key: string, options: StoreCallOptions): Promise<IdempotencyRecord | null> {
    const reply = (await this.runner.run('get', GET, [this.keyOf(key)], [], options)) as unknown[];
    if (reply.length === 0) return null;
    const [fingerprint, state, owner, epoch, outcome, pttl] = reply as [
      string,
      string,
      string,
      string,
      string,
      number,
    ];
    return {
      state: state === 'done' ? 'completed' : 'in-progress',
      fingerprint,
      owner,
      epoch: Number(epoch),
      outcome: state === 'done' ? decodeOutcome(outcome) : undefined,
      expiresInMs: pttl,
    };
  }

  /** Redis expires records by itself: nothing to reap. */
  reap(_limit: number, options: StoreCallOptions): Promise<number> {
    return options.signal.aborted ? Promise.reject(options.signal.reason) : Promise.resolve(0);
  }

  /** Nothing of its own to release: the client belongs to the caller. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

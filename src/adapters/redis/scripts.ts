/**
 * The Lua scripts of the Redis backends (run by `script-runner.ts`).
 *
 * Every script touches only the keys it is given, and the backends give a script only keys that
 * share one hash tag (`{key}`), so every script runs on a single Redis Cluster slot.
 *
 * Tokens travel through Lua as numbers (doubles), which are exact up to 2^53: at a million
 * acquisitions per second on one key that is 285 years. They are formatted with `%d` so that they
 * are never written in exponent notation.
 *
 * @module
 */
import { createHash } from 'node:crypto';

/**
 * The pub/sub channel of a lock or semaphore is its first key's name plus this suffix (see
 * `keys.ts`); the scripts derive it from `KEYS[1]` rather than take it as an argument (a channel is
 * not a key: it needs no hash slot), which keeps every call one argument shorter.
 */
export const CHANNEL_SUFFIX = ':released';

/** A Lua script with its SHA1, computed once. */
export interface LuaScript {
  readonly name: string;
  readonly text: string;
  readonly sha: string;
}

/** Builds a {@link LuaScript} (the SHA1 is what `EVALSHA` needs). */
export function luaScript(name: string, text: string): LuaScript {
  return Object.freeze({ name, text, sha: createHash('sha1').update(text).digest('hex') });
}

/** Splits a lock value `"<token>:<owner>"`: the owner may contain `:`, the token never does. */
const SPLIT_VALUE = `
local function owner_of(v)
  local p = string.find(v, ':', 1, true)
  return string.sub(v, p + 1)
end
`;

/**
 * How long a "someone waits" mark outlives the holder's remaining TTL, in ms. A waiter that found
 * the key busy retries at the latest when the holder's TTL runs out (`retryAfterMs`), which
 * refreshes the mark, so the margin only has to cover that retry's own delay.
 */
export const WAITING_MARGIN_MS = 2_000;

/**
 * Lock acquire. KEYS: lock, counter, waiting. ARGV: owner, ttlMs. Grants when the lock key is
 * absent (an expired key is absent; `PTTL` is -2): INCR the counter (it never expires), SET
 * "<token>:<owner>" PX ttl. When busy, marks that someone waits (so the release publishes).
 * Returns one integer (cheaper for Redis than a table, see `parseLockAcquireReply`): the token
 * (> 0) when granted; when busy, -1 - the holder's PTTL in ms, or 0 when the key has no TTL.
 */
export const LOCK_ACQUIRE = luaScript(
  'lock-acquire',
  `
local p = redis.call('PTTL', KEYS[1])
if p ~= -2 then
  redis.call('SET', KEYS[3], '1', 'PX', math.max(p, 0) + ${WAITING_MARGIN_MS})
  if p < 0 then return 0 end
  return -1 - p
end
local t = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], string.format('%d:%s', t, ARGV[1]), 'PX', ARGV[2])
return t
`,
);

/**
 * Lock extend. KEYS: lock. ARGV: owner, token ('' checks the owner only), ttlMs. Returns 1 when
 * extended, 0 when the key is gone (expired), -1 when another owner or token holds it (stolen).
 */
export const LOCK_EXTEND = luaScript(
  'lock-extend',
  `${SPLIT_VALUE}
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if ARGV[2] == '' then
  if owner_of(v) ~= ARGV[1] then return -1 end
elseif v ~= ARGV[2] .. ':' .. ARGV[1] then
  return -1
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`,
);

/**
 * The server's clock in milliseconds (Redis `TIME`). A script that calls TIME and then writes is
 * replicated by its effects (the default since Redis 5), so a replica never re-evaluates TIME.
 */
const SERVER_NOW = `
local function server_now()
  local tm = redis.call('TIME')
  return tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
end
`;

/**
 * The lock's waiter queue: a list of owners (FIFO) and a hash owner -> "<deadline>:<ttlMs>", where
 * the deadline (server ms) is when the entry dies unless its waiter refreshes it. `next_live` pops
 * entries until a live one and returns its owner and requested TTL. `hand_over` grants the lock to
 * the first live waiter (a fresh token, its TTL from now), publishes the grant message
 * "+<token>:<owner>" on the channel and returns it (false when nobody live waits).
 *
 * KEYS of every script that includes it: 1 lock, 2 counter, 3 waiting, 4 queue, 5 qinfo.
 */
const QUEUE = `${SPLIT_VALUE}${SERVER_NOW}
local function next_live(now)
  while true do
    local o = redis.call('LPOP', KEYS[4])
    if not o then return nil end
    local info = redis.call('HGET', KEYS[5], o)
    redis.call('HDEL', KEYS[5], o)
    if info then
      local c = string.find(info, ':', 1, true)
      if tonumber(string.sub(info, 1, c - 1)) > now then return o, string.sub(info, c + 1) end
    end
  end
end
local function grant(o, ttl)
  local t = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], string.format('%d:%s', t, o), 'PX', ttl)
  return t
end
local function hand_over(now)
  local o, ttl = next_live(now)
  if not o then return false end
  local grant_message = string.format('+%d:%s', grant(o, ttl), o)
  redis.call('PUBLISH', KEYS[1] .. '${CHANNEL_SUFFIX}', grant_message)
  return grant_message
end
local function release_held(owner)
  if redis.call('EXISTS', KEYS[3], KEYS[4]) == 0 then
    redis.call('DEL', KEYS[1])
    return 1
  end
  if redis.call('EXISTS', KEYS[4]) == 1 then
    local handed = hand_over(server_now())
    if handed then return handed end
  end
  redis.call('DEL', KEYS[1])
  if redis.call('EXISTS', KEYS[3]) == 1 then
    redis.call('PUBLISH', KEYS[1] .. '${CHANNEL_SUFFIX}', owner)
    return 2
  end
  return 1
end
`;

/**
 * Lock release. KEYS: lock, counter, waiting, queue, qinfo. ARGV: owner. When `owner`
 * holds the key: hands it to the first live queued waiter (see `QUEUE`), or deletes it and, when
 * someone waits without a queue entry, publishes the owner on the key's channel, so those waiters hear of
 * the release as it happens (an uncontended release sends no message at all). Returns the grant
 * message when it handed the lock over, 2 when it released and published, 1 when it released, 0
 * otherwise.
 */
export const LOCK_RELEASE = luaScript(
  'lock-release',
  `${QUEUE}
local v = redis.call('GET', KEYS[1])
if v and owner_of(v) == ARGV[1] then return release_held(ARGV[1]) end
return 0
`,
);

/**
 * Queued lock acquire, also the waiter's periodic refresh. KEYS: lock, counter, waiting, queue,
 * qinfo. ARGV: owner, ttlMs, entryMs (how long the entry lives without a refresh).
 * - `owner` already holds the key (a grant it has not heard of yet): returns the token.
 * - The key is free: grants it to the first live waiter; when that is `owner`, or nobody waits,
 *   `owner` gets it (returns the token); otherwise the waiter is told by a message, and `owner`
 *   queues as below.
 * - The key is busy: adds `owner` at the end of the queue or refreshes its entry (position kept),
 *   and returns -1 - the holder's PTTL in ms (0 when the key has no TTL), as `LOCK_ACQUIRE` does.
 * The queue's keys expire with the latest entry, so abandoned entries leave nothing behind.
 */
export const LOCK_ENQUEUE = luaScript(
  'lock-enqueue',
  `${QUEUE}
local v = redis.call('GET', KEYS[1])
if v then
  local p = string.find(v, ':', 1, true)
  if string.sub(v, p + 1) == ARGV[1] then return tonumber(string.sub(v, 1, p - 1)) end
end
local now = server_now()
if not v then
  local o, ttl = next_live(now)
  if not o or o == ARGV[1] then return grant(ARGV[1], ARGV[2]) end
  local t = grant(o, ttl)
  redis.call('PUBLISH', KEYS[1] .. '${CHANNEL_SUFFIX}', string.format('+%d:%s', t, o))
end
local e = tonumber(ARGV[3])
if redis.call('HSET', KEYS[5], ARGV[1], string.format('%d:%s', now + e, ARGV[2])) == 1 then
  redis.call('RPUSH', KEYS[4], ARGV[1])
end
if redis.call('PTTL', KEYS[4]) < e then
  redis.call('PEXPIRE', KEYS[4], e)
  redis.call('PEXPIRE', KEYS[5], e)
end
local p = redis.call('PTTL', KEYS[1])
if p < 0 then return 0 end
return -1 - p
`,
);

/**
 * A queued waiter gives up. KEYS: lock, counter, waiting, queue, qinfo. ARGV: owner.
 * Removes `owner`'s queue entry; when it has none because the key was already handed to it, it
 * releases the key as `LOCK_RELEASE` does (so the next waiter gets it). Returns 1 when it released
 * a grant, 0 otherwise.
 */
export const LOCK_LEAVE = luaScript(
  'lock-leave',
  `${QUEUE}
if redis.call('HDEL', KEYS[5], ARGV[1]) == 1 then
  redis.call('LREM', KEYS[4], 1, ARGV[1])
  return 0
end
local v = redis.call('GET', KEYS[1])
if v and owner_of(v) == ARGV[1] then
  release_held(ARGV[1])
  return 1
end
return 0
`,
);

/** Lock holder. KEYS: lock. Returns false when free, else {"<token>:<owner>", pttl}. */
export const LOCK_HOLDER = luaScript(
  'lock-holder',
  `
local v = redis.call('GET', KEYS[1])
if not v then return false end
return {v, redis.call('PTTL', KEYS[1])}
`,
);

/**
 * Raises a Redlock grant's token to the quorum's maximum. KEYS: lock, counter. ARGV: owner, token.
 * When `owner` still holds the lock: counter := max(counter, token), value := "<token>:<owner>"
 * with the remaining TTL kept. Returns 1 when raised, 0 when `owner` no longer holds the lock.
 */
export const LOCK_RAISE = luaScript(
  'lock-raise',
  `${SPLIT_VALUE}
local v = redis.call('GET', KEYS[1])
if not v or owner_of(v) ~= ARGV[1] then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
local t = tonumber(ARGV[2])
local c = tonumber(redis.call('GET', KEYS[2]) or '0')
if c < t then redis.call('SET', KEYS[2], ARGV[2]) end
redis.call('SET', KEYS[1], ARGV[2] .. ':' .. ARGV[1], 'PX', ttl)
return 1
`,
);

/** The server's clock in milliseconds (`SERVER_NOW`), and the removal of expired permits. */
const SEMAPHORE_PRELUDE = `${SERVER_NOW}
local now = server_now()
local function purge()
  local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
  for i = 1, #gone do redis.call('HDEL', KEYS[2], gone[i]) end
  if #gone > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) end
end
local function keep_alive()
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if last[2] then
    local ms = tonumber(last[2]) - now
    redis.call('PEXPIRE', KEYS[1], ms)
    redis.call('PEXPIRE', KEYS[2], ms)
  end
end
`;

/**
 * Semaphore acquire. KEYS: permits (sorted set owner -> expiry ms, server clock), tokens (hash
 * owner -> token), counter, waiting. ARGV: owner, limit, ttlMs. Returns {1, token} or {0, ms until
 * the earliest permit expires}; when busy it marks that someone waits, as the lock does.
 */
export const SEMAPHORE_ACQUIRE = luaScript(
  'semaphore-acquire',
  `${SEMAPHORE_PRELUDE}
purge()
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) or redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local left = tonumber(first[2]) - now
  redis.call('SET', KEYS[4], '1', 'PX', math.max(left, 0) + ${WAITING_MARGIN_MS})
  return {0, left}
end
local t = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], string.format('%d', t))
keep_alive()
return {1, t}
`,
);

/**
 * Semaphore extend. KEYS: permits, tokens. ARGV: owner, token, ttlMs. Returns 1 when extended, 0
 * when the permit is gone (expired), -1 when the owner's permit carries another token.
 */
export const SEMAPHORE_EXTEND = luaScript(
  'semaphore-extend',
  `${SEMAPHORE_PRELUDE}
purge()
local t = redis.call('HGET', KEYS[2], ARGV[1])
if not t then return 0 end
if t ~= ARGV[2] then return -1 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[3]), ARGV[1])
keep_alive()
return 1
`,
);

/**
 * Semaphore release. KEYS: permits, tokens, waiting. ARGV: owner. Removes the owner's
 * permit and publishes on the key's channel when it held one and someone waits. Returns 2 when it released
 * and published, 1 when it released, 0 otherwise.
 */
export const SEMAPHORE_RELEASE = luaScript(
  'semaphore-release',
  `
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if removed == 1 and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('PUBLISH', KEYS[1] .. '${CHANNEL_SUFFIX}', ARGV[1])
  return 2
end
return removed
`,
);

/** Semaphore holders. KEYS: permits, tokens. Returns a flat list {owner, token, remainingMs, ...}. */
export const SEMAPHORE_HOLDERS = luaScript(
  'semaphore-holders',
  `${SEMAPHORE_PRELUDE}
local live = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES')
local out = {}
for i = 1, #live, 2 do
  local t = redis.call('HGET', KEYS[2], live[i])
  if t then
    out[#out + 1] = live[i]
    out[#out + 1] = t
    out[#out + 1] = tonumber(live[i + 1]) - now
  end
end
return out
`,
);

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
 *
 * The uncontended release (nobody queued or waiting) is decided before the queue's functions are
 * defined: Redis runs the whole chunk on every call, and defining them costs more than the release
 * itself (`bench locks`, `uncontended-seq`: 8.5 → 5.4 µs of server time per EVALSHA, acquire and
 * release averaged, in `INFO commandstats`).
 */
export const LOCK_RELEASE = luaScript(
  'lock-release',
  `local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if string.sub(v, string.find(v, ':', 1, true) + 1) ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[3], KEYS[4]) == 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
${QUEUE}
return release_held(ARGV[1])
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

/**
 * The semaphore's state and FIFO queue. KEYS of every semaphore script: 1 permits (sorted set
 * owner -> expiry ms, server clock), 2 tokens (hash owner -> "<token>" for a one-permit lease,
 * "<token>*<count>" for a lease of several permits), 3 counter (never expires), 4 waiting, 5 queue
 * (list of owners, oldest first), 6 qinfo (hash owner -> "<deadline>:<ttlMs>:<count>:<limit>", the
 * deadline in server ms after which an entry not refreshed is dead), 7 used (the sum of the held
 * leases' counts; rebuilt from the tokens hash when missing, as after an upgrade from a version
 * without it).
 *
 * - `purge` drops expired leases and their counts.
 * - `serve` grants to the queue's head while it is live and its permits fit, publishing each grant
 *   as "+<token>:<owner>" (the lock's grant message) and returning the messages. A live head that
 *   does not fit stops it: smaller requests behind it wait, so a large one is never starved. The
 *   limit is the head's own (every client of a key passes the same).
 * - `release_held` removes a lease, serves the queue, and publishes the owner when someone waits
 *   without a queue entry; it returns {published, grant messages...}.
 * The permits, tokens and used keys expire together with the last lease; the queue keys with the
 * latest entry, so a crashed waiter leaves nothing behind.
 */
const SEMAPHORE_CORE = `${SERVER_NOW}
local now = server_now()
local function weight_of(v)
  local s = string.find(v, '*', 1, true)
  if not s then return 1 end
  return tonumber(string.sub(v, s + 1))
end
local function token_of(v)
  local s = string.find(v, '*', 1, true)
  if not s then return v end
  return string.sub(v, 1, s - 1)
end
local function used()
  if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
  local u = redis.call('GET', KEYS[7])
  if u then return tonumber(u) end
  -- Leases written by a version without the running sum: count them once.
  local total = 0
  local values = redis.call('HVALS', KEYS[2])
  for i = 1, #values do total = total + weight_of(values[i]) end
  -- The sum lives as long as the permits key (which may have no expiry: PTTL -1).
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('SET', KEYS[7], total, 'PX', ttl) else redis.call('SET', KEYS[7], total) end
  return total
end
local function tidy()
  if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('DEL', KEYS[2], KEYS[7]) end
end
local function purge()
  local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
  if #gone == 0 then return end
  -- The sum must exist before it is decremented (a DECRBY would create it at minus the purged).
  used()
  local w = 0
  for i = 1, #gone do
    local v = redis.call('HGET', KEYS[2], gone[i])
    if v then w = w + weight_of(v) end
    redis.call('HDEL', KEYS[2], gone[i])
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('DECRBY', KEYS[7], w)
  tidy()
end
local function keep_alive()
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if last[2] then
    local ms = math.max(math.ceil(tonumber(last[2]) - now), 1)
    redis.call('PEXPIRE', KEYS[1], ms)
    redis.call('PEXPIRE', KEYS[2], ms)
    redis.call('PEXPIRE', KEYS[7], ms)
  end
end
local function grant(o, ttl, k)
  local t = redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[1], now + tonumber(ttl), o)
  if k == 1 then
    redis.call('HSET', KEYS[2], o, string.format('%d', t))
  else
    redis.call('HSET', KEYS[2], o, string.format('%d*%d', t, k))
  end
  redis.call('INCRBY', KEYS[7], k)
  keep_alive()
  return t
end
local function parse_entry(info)
  local a = string.find(info, ':', 1, true)
  local b = string.find(info, ':', a + 1, true)
  local c = string.find(info, ':', b + 1, true)
  return tonumber(string.sub(info, 1, a - 1)), string.sub(info, a + 1, b - 1),
    tonumber(string.sub(info, b + 1, c - 1)), tonumber(string.sub(info, c + 1))
end
local function serve()
  local out = {}
  while true do
    local o = redis.call('LINDEX', KEYS[5], 0)
    if not o then break end
    local info = redis.call('HGET', KEYS[6], o)
    if info then
      local deadline, ttl, k, limit = parse_entry(info)
      if deadline > now then
        if used() + k > limit then break end
        if not redis.call('ZSCORE', KEYS[1], o) then
          local m = string.format('+%d:%s', grant(o, ttl, k), o)
          redis.call('PUBLISH', KEYS[1] .. '${CHANNEL_SUFFIX}', m)
          out[#out + 1] = m
        end
      end
      redis.call('HDEL', KEYS[6], o)
    end
    redis.call('LPOP', KEYS[5])
  end
  return out
end
local function release_held(owner)
  local v = redis.call('HGET', KEYS[2], owner)
  if redis.call('ZREM', KEYS[1], owner) == 0 then return false end
  redis.call('HDEL', KEYS[2], owner)
  -- A negative sum means it did not exist (a lease of the previous version): drop it, so the
  -- next reader recounts the leases left.
  if v and redis.call('DECRBY', KEYS[7], weight_of(v)) < 0 then redis.call('DEL', KEYS[7]) end
  tidy()
  local out = {0}
  if redis.call('EXISTS', KEYS[5]) == 1 then
    local granted = serve()
    for i = 1, #granted do out[#out + 1] = granted[i] end
  end
  if redis.call('EXISTS', KEYS[4]) == 1 then
    redis.call('PUBLISH', KEYS[1] .. '${CHANNEL_SUFFIX}', owner)
    out[1] = 1
  end
  return out
end
local function busy()
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if not first[2] then return {0, -1} end
  return {0, math.max(math.ceil(tonumber(first[2]) - now), 0)}
end
`;

/**
 * Semaphore acquire (a plain attempt). KEYS: see {@link SEMAPHORE_CORE}. ARGV: owner, limit, ttlMs,
 * count. Serves the queue first (a lease that expired may have made room for its head); grants
 * when the queue is then empty, `owner` holds nothing and `count` permits fit. Returns {1, token}
 * or {0, ms until the earliest lease expires (-1 when none is held)}; when busy it marks that
 * someone waits, as the lock does.
 */
export const SEMAPHORE_ACQUIRE = luaScript(
  'semaphore-acquire',
  `${SEMAPHORE_CORE}
purge()
local k = tonumber(ARGV[4])
local queued = false
if redis.call('EXISTS', KEYS[5]) == 1 then
  serve()
  queued = redis.call('EXISTS', KEYS[5]) == 1
end
if queued or used() + k > tonumber(ARGV[2]) or redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  local reply = busy()
  redis.call('SET', KEYS[4], '1', 'PX', math.max(reply[2], 0) + ${WAITING_MARGIN_MS})
  return reply
end
return {1, grant(ARGV[1], ARGV[3], k)}
`,
);

/**
 * Queued semaphore acquire, also the waiter's periodic refresh. KEYS: see {@link SEMAPHORE_CORE}.
 * ARGV: owner, limit, ttlMs, count, entryMs.
 * - `owner` holds a lease (a grant it has not heard of yet): returns {1, token}.
 * - Serves the queue; when that granted `owner`, returns its token.
 * - Not queued, the queue empty and `count` permits fit: grants at once.
 * - Otherwise adds `owner` at the end of the queue or refreshes its entry (place kept) and returns
 *   {0, ms until the earliest lease expires, or -1}.
 */
export const SEMAPHORE_ENQUEUE = luaScript(
  'semaphore-enqueue',
  `${SEMAPHORE_CORE}
purge()
local function held()
  if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return false end
  return tonumber(token_of(redis.call('HGET', KEYS[2], ARGV[1])))
end
local t = held()
if t then return {1, t} end
if redis.call('EXISTS', KEYS[5]) == 1 then
  serve()
  t = held()
  if t then return {1, t} end
end
local k = tonumber(ARGV[4])
local entry = redis.call('HEXISTS', KEYS[6], ARGV[1]) == 1
if not entry and redis.call('EXISTS', KEYS[5]) == 0 and used() + k <= tonumber(ARGV[2]) then
  return {1, grant(ARGV[1], ARGV[3], k)}
end
local e = tonumber(ARGV[5])
local info = string.format('%d:%s:%d:%s', now + e, ARGV[3], k, ARGV[2])
if redis.call('HSET', KEYS[6], ARGV[1], info) == 1 then
  redis.call('RPUSH', KEYS[5], ARGV[1])
end
if redis.call('PTTL', KEYS[5]) < e then
  redis.call('PEXPIRE', KEYS[5], e)
  redis.call('PEXPIRE', KEYS[6], e)
end
return busy()
`,
);

/**
 * A queued semaphore waiter gives up. KEYS: see {@link SEMAPHORE_CORE}. ARGV: owner. Removes
 * `owner`'s queue entry (and serves the queue: a head that left may let others through); when it
 * has none because it was granted meanwhile, releases that lease as `SEMAPHORE_RELEASE` does.
 * Returns 1 when it released a grant, 0 otherwise.
 */
export const SEMAPHORE_LEAVE = luaScript(
  'semaphore-leave',
  `${SEMAPHORE_CORE}
purge()
if redis.call('HDEL', KEYS[6], ARGV[1]) == 1 then
  redis.call('LREM', KEYS[5], 1, ARGV[1])
  serve()
  return 0
end
if release_held(ARGV[1]) then return 1 end
return 0
`,
);

/**
 * Semaphore extend. KEYS: see {@link SEMAPHORE_CORE}. ARGV: owner, token, ttlMs. Returns 1 when
 * extended, 0 when the lease is gone (expired), -1 when the owner's lease carries another token.
 */
export const SEMAPHORE_EXTEND = luaScript(
  'semaphore-extend',
  `${SEMAPHORE_CORE}
purge()
local v = redis.call('HGET', KEYS[2], ARGV[1])
if not v then return 0 end
if token_of(v) ~= ARGV[2] then return -1 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[3]), ARGV[1])
keep_alive()
return 1
`,
);

/**
 * Semaphore release. KEYS: see {@link SEMAPHORE_CORE}. ARGV: owner. Removes the owner's lease,
 * hands the freed permits to the queue's head(s) and publishes the owner when someone waits
 * without a queue entry. Returns 0 when the owner held nothing, else {published (0 or 1), grant
 * messages...}.
 */
export const SEMAPHORE_RELEASE = luaScript(
  'semaphore-release',
  `${SEMAPHORE_CORE}
purge()
local out = release_held(ARGV[1])
if out then return out end
if redis.call('EXISTS', KEYS[5]) == 1 then serve() end
return 0
`,
);

/**
 * Semaphore holders. KEYS: see {@link SEMAPHORE_CORE}. Returns a flat list
 * {owner, token, remainingMs, count, ...}.
 */
export const SEMAPHORE_HOLDERS = luaScript(
  'semaphore-holders',
  `${SEMAPHORE_CORE}
local live = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES')
local out = {}
for i = 1, #live, 2 do
  local v = redis.call('HGET', KEYS[2], live[i])
  if v then
    out[#out + 1] = live[i]
    out[#out + 1] = token_of(v)
    out[#out + 1] = math.ceil(tonumber(live[i + 1]) - now)
    out[#out + 1] = weight_of(v)
  end
end
return out
`,
);

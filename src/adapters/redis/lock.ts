/**
 * The single-instance Redis lock backend (also the election backend).
 *
 * @module
 */
import type {
  AcquireResult,
  CallOptions,
  ExtendResult,
  Holder,
  LockBackend,
} from '../../coord/types.js';
import { lockKeys, parseExtendReply, parseLockAcquireReply, parseLockHolder } from './keys.js';
import type { RedisBackendOptions, RedisClient } from './options.js';
import { RedisBackendBase } from './base.js';
import { LOCK_ACQUIRE, LOCK_EXTEND, LOCK_HOLDER, LOCK_RAISE, LOCK_RELEASE } from './scripts.js';

/**
 * A {@link LockBackend} on one Redis server or one Redis Cluster. Each operation is one Lua script,
 * so one round trip: `tryAcquire` grants and issues the fencing token atomically (`INCR` of a
 * per-key counter that never expires, then `SET ... PX ttl` with the server's clock); `release`
 * deletes and publishes on the key's channel; waiting is event-driven through one shared
 * subscriber connection.
 *
 * What it guarantees: while the server keeps its data, tokens strictly increase per key, and a
 * lease expires `ttlMs` after the server granted or renewed it. What it does not: a restart without
 * AOF `fsync always`, or a failover to an asynchronous replica, can lose a grant and the counter's
 * latest increments, so two holders may then overlap and a token may be issued twice; fenced
 * storage rejects a stale writer only as long as tokens keep increasing. Use a durable Redis (or
 * etcd) when that matters.
 *
 * The backend never closes the client you pass; {@link RedisLockBackend.close} closes only its own
 * subscriber connection. Make calls fail fast when Redis is unreachable by configuring the client
 * (`commandTimeout`, `maxRetriesPerRequest`); in any case every call rejects when its signal aborts.
 *
 * @example
 * import { Redis } from 'ioredis';
 * import { Lock } from 'faultline/coord';
 * import { RedisLockBackend } from 'faultline/redis';
 *
 * const backend = new RedisLockBackend(new Redis());
 * const lock = new Lock(backend);
 * await using lease = await lock.acquire('orders:42', { ttlMs: 10_000 });
 * await store.write(row, { fencingToken: lease.token, signal: lease.signal });
 */
export class RedisLockBackend extends RedisBackendBase implements LockBackend {
  /**
   * @param client an ioredis `Redis` or `Cluster` client; the backend does not take ownership.
   * @param options see {@link RedisBackendOptions}.
   */
  constructor(client: RedisClient, options: RedisBackendOptions = {}) {
    super(client, options, 'faultline:lock:');
  }

  async tryAcquire(
    key: string,
    owner: string,
    ttlMs: number,
    options: CallOptions,
  ): Promise<AcquireResult> {
    const k = lockKeys(this.prefix, key);
    const reply = await this.runner.run(
      'tryAcquire',
      LOCK_ACQUIRE,
      [k.lock, k.counter, k.waiting],
      [owner, ttlMs],
      options.signal,
    );
    const parsed = parseLockAcquireReply(reply);
    if (parsed.granted) return { kind: 'acquired', token: parsed.token, ttlMs };
    return { kind: 'busy', retryAfterMs: parsed.retryAfterMs };
  }

  async extend(
    key: string,
    owner: string,
    token: bigint,
    ttlMs: number,
    options: CallOptions,
  ): Promise<ExtendResult> {
    return this.runExtend(key, owner, token.toString(), ttlMs, options.signal);
  }

  /**
   * Like `extend`, but checks the owner only (not the token). Redlock uses it: a Redlock lease's
   * token is the quorum's maximum, which differs from the token some instances stored.
   */
  async extendOwner(
    key: string,
    owner: string,
    ttlMs: number,
    options: CallOptions,
  ): Promise<ExtendResult> {
    return this.runExtend(key, owner, '', ttlMs, options.signal);
  }

  /** The extend script; an empty `token` checks the owner only. */
  private async runExtend(
    key: string,
    owner: string,
    token: string,
    ttlMs: number,
    signal: AbortSignal,
  ): Promise<ExtendResult> {
    const k = lockKeys(this.prefix, key);
    const reply = await this.runner.run(
      'extend',
      LOCK_EXTEND,
      [k.lock],
      [owner, token, ttlMs],
      signal,
    );
    return parseExtendReply(reply, ttlMs);
  }

  /**
   * Raises the token of `owner`'s lease to `token` and the key's counter to at least `token`,
   * keeping the remaining TTL (Redlock's second phase). Answers false when `owner` no longer holds it.
   */
  async raiseToken(
    key: string,
    owner: string,
    token: bigint,
    options: CallOptions,
  ): Promise<boolean> {
    const k = lockKeys(this.prefix, key);
    const args = [owner, token.toString()];
    return (
      (await this.runner.run(
        'tryAcquire',
        LOCK_RAISE,
        [k.lock, k.counter],
        args,
        options.signal,
      )) === 1
    );
  }

  async release(key: string, owner: string, options: CallOptions): Promise<void> {
    const k = lockKeys(this.prefix, key);
    await this.runRelease(LOCK_RELEASE, [k.lock, k.waiting], k.channel, owner, options.signal);
  }

  async holder(key: string, options: CallOptions): Promise<Holder | null> {
    const k = lockKeys(this.prefix, key);
    return parseLockHolder(
      await this.runner.run('holder', LOCK_HOLDER, [k.lock], [], options.signal),
    );
  }

  waitForChange(key: string, options: CallOptions): Promise<void> {
    return this.hub.wait(lockKeys(this.prefix, key).channel, key, options.signal);
  }
}

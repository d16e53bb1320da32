/**
 * The Redis semaphore backend: counting permits in a sorted set scored by server-side expiry.
 *
 * @module
 */
import type {
  AcquireResult,
  CallOptions,
  ExtendResult,
  Holder,
  SemaphoreBackend,
} from '../../coord/types.js';
import {
  parseAcquireReply,
  parseExtendReply,
  parseSemaphoreHolders,
  semaphoreKeys,
} from './keys.js';
import type { RedisBackendOptions, RedisClient } from './options.js';
import { RedisBackendBase } from './base.js';
import {
  SEMAPHORE_ACQUIRE,
  SEMAPHORE_EXTEND,
  SEMAPHORE_HOLDERS,
  SEMAPHORE_RELEASE,
} from './scripts.js';

/**
 * A {@link SemaphoreBackend} on one Redis server or one Redis Cluster. A key's permits live in a
 * sorted set scored by their expiry in the server's milliseconds (Redis `TIME` inside the script,
 * never a client's clock) with a hash of their tokens; each script first drops expired permits,
 * then acts, in one round trip. Every permit gets its own token from the key's counter, which
 * never expires. Releases publish on the key's channel; waiting is event-driven.
 *
 * The durability caveats of {@link RedisLockBackend} apply: a restart without AOF `fsync always` or
 * a failover to an asynchronous replica can forget permits and counter increments.
 *
 * @example
 * import { Redis } from 'ioredis';
 * import { Semaphore } from 'faultline/coord';
 * import { RedisSemaphoreBackend } from 'faultline/redis';
 *
 * const pool = new Semaphore(new RedisSemaphoreBackend(new Redis()), { permits: 5 });
 * await using permit = await pool.acquire('gpu', { ttlMs: 30_000, autoRenew: true });
 */
export class RedisSemaphoreBackend extends RedisBackendBase implements SemaphoreBackend {
  /**
   * @param client an ioredis `Redis` or `Cluster` client; the backend does not take ownership.
   * @param options see {@link RedisBackendOptions} (default prefix `faultline:semaphore:`).
   */
  constructor(client: RedisClient, options: RedisBackendOptions = {}) {
    super(client, options, 'faultline:semaphore:', false);
  }

  async tryAcquire(
    key: string,
    owner: string,
    limit: number,
    ttlMs: number,
    options: CallOptions,
  ): Promise<AcquireResult> {
    const k = semaphoreKeys(this.prefix, key);
    const keys = [k.permits, k.tokens, k.counter, k.waiting];
    const reply = await this.runner.run(
      'tryAcquire',
      SEMAPHORE_ACQUIRE,
      keys,
      [owner, limit, ttlMs],
      options.signal,
    );
    const parsed = parseAcquireReply(reply);
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
    const k = semaphoreKeys(this.prefix, key);
    const args = [owner, token.toString(), ttlMs];
    const reply = await this.runner.run(
      'extend',
      SEMAPHORE_EXTEND,
      [k.permits, k.tokens],
      args,
      options.signal,
    );
    return parseExtendReply(reply, ttlMs);
  }

  async release(key: string, owner: string, options: CallOptions): Promise<void> {
    const k = semaphoreKeys(this.prefix, key);
    const keys = [k.permits, k.tokens, k.waiting];
    await this.runRelease(SEMAPHORE_RELEASE, keys, k.channel, owner, options.signal);
  }

  async holders(key: string, options: CallOptions): Promise<readonly Holder[]> {
    const k = semaphoreKeys(this.prefix, key);
    const reply = await this.runner.run(
      'holders',
      SEMAPHORE_HOLDERS,
      [k.permits, k.tokens],
      [],
      options.signal,
    );
    return parseSemaphoreHolders(reply);
  }

  waitForChange(key: string, options: CallOptions): Promise<void> {
    return this.hub.wait(semaphoreKeys(this.prefix, key).channel, key, options.signal);
  }
}

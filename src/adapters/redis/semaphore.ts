/**
 * The Redis semaphore backend: counting permits in a sorted set scored by server-side expiry, with
 * a FIFO queue of waiters inside Redis, as the lock has.
 *
 * @module
 */
import type {
  AcquireResult,
  CallOptions,
  ExtendResult,
  Holder,
  SemaphoreBackend,
  SemaphoreCallOptions,
} from '../../coord/types.js';
import { BackendClosedError } from '../../coord/errors.js';
import { integerIn } from '../../core/validate.js';
import { QueuePlaces } from '../common/queue-places.js';
import {
  parseAcquireReply,
  parseExtendReply,
  parseSemaphoreHolders,
  semaphoreKeys,
  semaphoreScriptKeys,
} from './keys.js';
import type { SemaphoreKeys } from './keys.js';
import type { RedisBackendOptions, RedisClient } from './options.js';
import { RedisBackendBase } from './base.js';
import {
  QUEUE_ENTRY_MS,
  QUEUE_REFRESH_MS,
  leaveInBackground,
  nextGrantEvent,
} from './queued-wait.js';
import {
  SEMAPHORE_ACQUIRE,
  SEMAPHORE_ENQUEUE,
  SEMAPHORE_EXTEND,
  SEMAPHORE_HOLDERS,
  SEMAPHORE_LEAVE,
  SEMAPHORE_RELEASE,
} from './scripts.js';

/** The names of one key and the KEYS list every semaphore script takes. */
interface Names {
  readonly k: SemaphoreKeys;
  readonly keys: readonly string[];
}

/**
 * A {@link SemaphoreBackend} on one Redis server or one Redis Cluster. A key's leases live in a
 * sorted set scored by their expiry in the server's milliseconds (Redis `TIME` inside the script,
 * never a client's clock) with a hash of their tokens and permit counts; each script first drops
 * expired leases, then acts, in one round trip. Every lease gets its own token from the key's
 * counter, which never expires. A lease may take several permits at once (`permits` in the call
 * options, all or none).
 *
 * Waiting is a FIFO queue inside Redis, as {@link RedisLockBackend}'s: a waiter queues itself
 * (`acquireQueued`) and listens on the key's channel; a release hands the freed permits to the
 * queue's head(s), with fresh tokens, in the same script, and publishes each grant. The head blocks
 * the waiters behind it until its permits fit, so a request for many permits is not starved by a
 * stream of small ones, and a newcomer's plain attempt never overtakes the queue. A waiter that
 * gives up leaves the queue (after `QUEUE_PLACE_GRACE_MS`, in case the same wait goes on);
 * one that crashed stops refreshing its entry, which is skipped after {@link QUEUE_ENTRY_MS}.
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
 * await using pair = await pool.acquire('gpu', { ttlMs: 30_000, permits: 2 });
 */
export class RedisSemaphoreBackend extends RedisBackendBase implements SemaphoreBackend {
  /**
   * @param client an ioredis `Redis` or `Cluster` client; the backend does not take ownership.
   * @param options see {@link RedisBackendOptions} (default prefix `faultline:semaphore:`).
   */
  constructor(client: RedisClient, options: RedisBackendOptions = {}) {
    super(client, options, 'faultline:semaphore:', true);
  }

  /** A plain attempt first: it needs no queue entry and no subscription when permits are free. */
  readonly tryBeforeQueue = true;
  /** The chunks of one wait keep their place (see `QUEUE_PLACE_GRACE_MS` in `faultline/coord`). */
  readonly keepsQueuePlace = true;
  /** One lease may take several permits (`permits` in the call options). */
  readonly multiPermit = true;

  /** Waits per owner and the leaves their aborted chunks left pending. */
  private readonly places = new QueuePlaces(this.runtime.timers);

  private names(key: string): Names {
    const k = semaphoreKeys(this.prefix, key);
    return { k, keys: semaphoreScriptKeys(k) };
  }

  async tryAcquire(
    key: string,
    owner: string,
    limit: number,
    ttlMs: number,
    options: SemaphoreCallOptions,
  ): Promise<AcquireResult> {
    const count = permitCount(options, limit);
    const args = [owner, limit, ttlMs, count];
    const { keys } = this.names(key);
    const reply = await this.runner.run('tryAcquire', SEMAPHORE_ACQUIRE, keys, args, options);
    return toResult(reply, ttlMs);
  }

  /**
   * Queues `owner` for `permits` permits and resolves with its grant: from the release (or expiry)
   * that handed them over, heard as a message, or from a refresh. On abort it answers `busy` and,
   * in the background after the grace, leaves the queue, releasing a grant that came meanwhile.
   */
  async acquireQueued(
    key: string,
    owner: string,
    limit: number,
    ttlMs: number,
    options: SemaphoreCallOptions,
  ): Promise<AcquireResult> {
    const { signal } = options;
    const { k, keys } = this.names(key);
    const args = [owner, limit, ttlMs, permitCount(options, limit), QUEUE_ENTRY_MS];
    // Listening starts before the entry exists, so no grant message can come before it.
    const watch = this.hub.watchGrant(k.channel, key, owner);
    const ticket = this.places.begin(owner);
    try {
      for (;;) {
        const reply = await this.runner.run(
          'acquireQueued',
          SEMAPHORE_ENQUEUE,
          keys,
          args,
          options,
        );
        const parsed = toResult(reply, ttlMs);
        if (parsed.kind === 'acquired') return parsed;
        // An expiry publishes nothing: recheck when a lease runs out, and refresh the entry.
        const ms = Math.min(parsed.retryAfterMs ?? QUEUE_REFRESH_MS, QUEUE_REFRESH_MS);
        const event = await nextGrantEvent(this.runtime.timers, watch, ms, signal);
        if (event?.kind === 'granted') return { kind: 'acquired', token: event.token, ttlMs };
        if (event?.kind === 'closed') throw new BackendClosedError('redis', 'acquireQueued');
      }
    } catch (error) {
      // As the lock's: leave (owner-checked), after the grace when aborted; only the latest call.
      const leave = (): void =>
        leaveInBackground(this.runtime.timers, this.runner, SEMAPHORE_LEAVE, keys, owner);
      if (!signal.aborted) {
        if (this.places.isLatest(owner, ticket)) leave();
        throw error;
      }
      this.places.leaveLater(owner, ticket, leave);
      return { kind: 'busy', retryAfterMs: undefined };
    } finally {
      this.places.end(owner, ticket);
      watch.dispose();
    }
  }

  async extend(
    key: string,
    owner: string,
    token: bigint,
    ttlMs: number,
    options: CallOptions,
  ): Promise<ExtendResult> {
    const args = [owner, token.toString(), ttlMs];
    const { keys } = this.names(key);
    const reply = await this.runner.run('extend', SEMAPHORE_EXTEND, keys, args, options);
    return parseExtendReply(reply, ttlMs);
  }

  /**
   * Releases `owner`'s lease; the script hands the freed permits to queued waiters. Tells the local
   * hub, so waiters in this process hear of it when the release answers.
   */
  async release(key: string, owner: string, options: CallOptions): Promise<void> {
    const { k, keys } = this.names(key);
    const reply = await this.runner.run('release', SEMAPHORE_RELEASE, keys, [owner], options);
    if (!Array.isArray(reply)) return;
    for (const message of reply.slice(1)) {
      if (typeof message === 'string') this.hub.grantedHere(k.channel, message);
    }
    this.hub.releasedHere(k.channel, owner, reply[0] === 1);
  }

  async holders(key: string, options: CallOptions): Promise<readonly Holder[]> {
    const { keys } = this.names(key);
    const reply = await this.runner.run('holders', SEMAPHORE_HOLDERS, keys, [], options);
    return parseSemaphoreHolders(reply);
  }

  waitForChange(key: string, options: CallOptions): Promise<void> {
    return this.hub.wait(semaphoreKeys(this.prefix, key).channel, key, options.signal);
  }

  /** Sends the pending leaves at once, then closes the subscriber connection (see the base class). */
  override close(): Promise<void> {
    this.places.flush(true);
    return super.close();
  }
}

/** The validated permit count of a call: an integer in [1, limit] (default 1). */
function permitCount(options: SemaphoreCallOptions, limit: number): number {
  integerIn('limit', limit, 1, 1_000_000);
  return integerIn('permits', options.permits ?? 1, 1, limit);
}

function toResult(reply: unknown, ttlMs: number): AcquireResult {
  const parsed = parseAcquireReply(reply);
  if (parsed.granted) return { kind: 'acquired', token: parsed.token, ttlMs };
  return { kind: 'busy', retryAfterMs: parsed.retryAfterMs };
}

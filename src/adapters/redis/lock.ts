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
import { BackendClosedError } from '../../coord/errors.js';
import { QueuePlaces } from '../common/queue-places.js';
import { parseExtendReply, parseLockAcquireReply, parseLockHolder } from './keys.js';
import {
  QUEUE_ENTRY_MS,
  QUEUE_REFRESH_MS,
  leaveInBackground,
  nextGrantEvent,
} from './queued-wait.js';
import type { RedisBackendOptions, RedisClient } from './options.js';
import { RedisBackendBase } from './base.js';
import { LockNameCache } from './key-names.js';
import {
  LOCK_ACQUIRE,
  LOCK_ENQUEUE,
  LOCK_EXTEND,
  LOCK_HOLDER,
  LOCK_LEAVE,
  LOCK_RAISE,
  LOCK_RELEASE,
} from './scripts.js';

export { QUEUE_ENTRY_MS, QUEUE_REFRESH_MS } from './queued-wait.js';

/**
 * A {@link LockBackend} on one Redis server or one Redis Cluster. Each operation is one Lua script,
 * so one round trip: `tryAcquire` grants and issues the fencing token atomically (`INCR` of a
 * per-key counter that never expires, then `SET ... PX ttl` with the server's clock).
 *
 * Waiting is a FIFO queue inside Redis. A waiter queues itself (`acquireQueued`) and listens on the
 * key's channel through one shared subscriber connection; `release` hands the key straight to the
 * first live waiter, with a fresh token, in the same script, and publishes the grant. The next
 * holder therefore has the lock about one round trip after the release was sent, without asking
 * again. A waiter refreshes its queue entry every {@link QUEUE_REFRESH_MS} (which also rechecks its
 * grant, should the message be lost); an entry not refreshed for {@link QUEUE_ENTRY_MS} is skipped.
 * When a holder's lease expires instead of being released, the first waiter to recheck hands the
 * key to the head of the queue; until then a newcomer may take the free key ahead of the queue.
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
    super(client, options, 'faultline:lock:', true);
  }

  /** A plain attempt first: it needs no queue entry and no subscription when the key is free. */
  readonly tryBeforeQueue = true;

  /** The chunks of one wait keep their place (see `QUEUE_PLACE_GRACE_MS` in `faultline/coord`). */
  readonly keepsQueuePlace = true;

  /** Waits per owner and the leaves their aborted chunks left pending. */
  private readonly places = new QueuePlaces(this.runtime.timers);

  /** The names of every key this backend touched lately (see `key-names.ts`). */
  private readonly names = new LockNameCache(this.prefix);

  tryAcquire(
    key: string,
    owner: string,
    ttlMs: number,
    options: CallOptions,
  ): Promise<AcquireResult> {
    return this.runner
      .run('tryAcquire', LOCK_ACQUIRE, this.names.of(key).acquire, [owner, ttlMs], options)
      .then((reply) => parseLockAcquireReply(reply, ttlMs));
  }

  async extend(
    key: string,
    owner: string,
    token: bigint,
    ttlMs: number,
    options: CallOptions,
  ): Promise<ExtendResult> {
    return this.runExtend(key, owner, token.toString(), ttlMs, options);
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
    return this.runExtend(key, owner, '', ttlMs, options);
  }

  /** The extend script; an empty `token` checks the owner only. */
  private async runExtend(
    key: string,
    owner: string,
    token: string,
    ttlMs: number,
    options: CallOptions,
  ): Promise<ExtendResult> {
    const reply = await this.runner.run(
      'extend',
      LOCK_EXTEND,
      [this.names.of(key).k.lock],
      [owner, token, ttlMs],
      options,
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
    const k = this.names.of(key).k;
    const args = [owner, token.toString()];
    return (
      (await this.runner.run('tryAcquire', LOCK_RAISE, [k.lock, k.counter], args, options)) === 1
    );
  }

  /**
   * Queues `owner` behind the current holder and resolves with its grant: from the release (or
   * expiry) that handed the key over, heard as a message, or from a refresh. On abort it answers
   * `busy` at once and, in the background, leaves the queue, releasing the key if it was handed
   * over meanwhile.
   */
  async acquireQueued(
    key: string,
    owner: string,
    ttlMs: number,
    options: CallOptions,
  ): Promise<AcquireResult> {
    const { signal } = options;
    const { k, queue: keys } = this.names.of(key);
    const args = [owner, ttlMs, QUEUE_ENTRY_MS];
    // Listening starts before the entry exists, so no grant message can come before it.
    const watch = this.hub.watchGrant(k.channel, key, owner);
    // The next chunk of an aborted wait finds its entry (and place) still there.
    const ticket = this.places.begin(owner);
    try {
      for (;;) {
        const reply = await this.runner.run('acquireQueued', LOCK_ENQUEUE, keys, args, options);
        const parsed = parseLockAcquireReply(reply, ttlMs);
        if (parsed.kind === 'acquired') return parsed;
        // An expiry publishes nothing: recheck when the holder's TTL runs out, and refresh the entry.
        const ms = Math.min(parsed.retryAfterMs ?? QUEUE_REFRESH_MS, QUEUE_REFRESH_MS);
        const event = await nextGrantEvent(this.runtime.timers, watch, ms, signal);
        if (event?.kind === 'granted') return { kind: 'acquired', token: event.token, ttlMs };
        if (event?.kind === 'closed') throw new BackendClosedError('redis', 'acquireQueued');
      }
    } catch (error) {
      // Queued or even granted by now, maybe: leave (owner-checked, so harmless if neither); after
      // a grace when the wait was aborted, in case the next chunk of the same wait comes. Only the
      // owner's latest call may: an older chunk ending late must not take its successor's place.
      if (!signal.aborted) {
        if (this.places.isLatest(owner, ticket)) this.leaveQueue(keys, owner);
        throw error;
      }
      this.places.leaveLater(owner, ticket, () => this.leaveQueue(keys, owner));
      return { kind: 'busy', retryAfterMs: undefined };
    } finally {
      this.places.end(owner, ticket);
      watch.dispose();
    }
  }

  /** Sends the pending leaves at once, then closes the subscriber connection (see the base class). */
  override close(): Promise<void> {
    this.places.flush(true);
    return super.close();
  }

  /** Takes `owner` out of the queue (or gives back a grant it will not use), in the background. */
  private leaveQueue(keys: readonly string[], owner: string): void {
    leaveInBackground(this.runtime.timers, this.runner, LOCK_LEAVE, keys, owner);
  }

  release(key: string, owner: string, options: CallOptions): Promise<void> {
    const n = this.names.of(key);
    return this.runRelease(LOCK_RELEASE, n.queue, n.k.channel, owner, options);
  }

  async holder(key: string, options: CallOptions): Promise<Holder | null> {
    const lockName = this.names.of(key).k.lock;
    return parseLockHolder(await this.runner.run('holder', LOCK_HOLDER, [lockName], [], options));
  }

  waitForChange(key: string, options: CallOptions): Promise<void> {
    return this.hub.wait(this.names.of(key).k.channel, key, options.signal);
  }
}

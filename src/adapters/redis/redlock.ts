/**
 * Redlock: a lock over N independent Redis servers, granted when a quorum grants it in time. The
 * algorithm lives in `redlock-core.ts` (no Redis client needed); this module adds the constructor
 * over Redis clients.
 *
 * @module
 */
import { RedisLockBackend } from './lock.js';
import type { RedisBackendOptions, RedisClient } from './options.js';
import { RedlockQuorumBackend } from './redlock-core.js';
import type { RedlockOptions } from './redlock-core.js';

export { RedlockQuorumBackend } from './redlock-core.js';
export type { RedlockNode, RedlockOptions } from './redlock-core.js';

/**
 * A `LockBackend` over N independent Redis servers, following the Redlock description
 * (redis.io, "Distributed Locks with Redis"): send the grant to every instance at once, succeed
 * once a quorum granted and `ttl − elapsed − drift > 0`, otherwise release everywhere. It returns
 * as soon as the quorum has answered, without waiting for a slow minority, and releases partial
 * grants (including ones that arrive late).
 *
 * Fencing tokens. Each instance has its own counter, and independent counters are not one
 * monotonic sequence: a quorum's tokens can be lower than the previous holder's (Kleppmann, "How
 * to do distributed locking", 2016). The grant's token is the *maximum* of the quorum's counters,
 * and when fewer than a quorum already had it, a second round raises the token (and the counter)
 * on the granting instances to that maximum before the grant counts. Any two quorums intersect, so
 * the next holder's quorum contains an instance whose counter is at least this token, and its
 * token is strictly greater. That holds only while no instance forgets: an instance restarted
 * without durable storage, or failed over to an asynchronous replica, loses grants and counter
 * increments, and then two holders can overlap *and* a later holder can get a smaller token. It
 * also relies on the processes' pauses and clock rates staying within the drift allowance. If that
 * is not acceptable, use a consensus backend (etcd) and fence the storage.
 *
 * @example
 * import { Redis } from 'ioredis';
 * import { Lock } from 'faultline/coord';
 * import { RedlockBackend } from 'faultline/redis';
 *
 * const backend = RedlockBackend.fromClients([new Redis(7001), new Redis(7002), new Redis(7003)]);
 * const lock = new Lock(backend);
 * await using lease = await lock.acquire('report', { ttlMs: 10_000 });
 */
export class RedlockBackend extends RedlockQuorumBackend {
  /**
   * A Redlock over `clients` (independent servers, not a cluster), with a {@link RedisLockBackend}
   * per client; `close()` closes those (not the clients).
   */
  static fromClients(
    clients: readonly RedisClient[],
    options: RedlockOptions & RedisBackendOptions = {},
  ): RedlockBackend {
    const nodes = clients.map((c) => new RedisLockBackend(c, options));
    return new RedlockBackend(nodes, options, nodes);
  }
}

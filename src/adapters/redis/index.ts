/**
 * Redis backends for `faultline/coord` (`faultline/redis`): a single-instance lock (and election)
 * backend, a semaphore backend and Redlock over independent servers. ioredis is an optional peer
 * dependency: pass your own `Redis` or `Cluster` client in.
 *
 * @module faultline/redis
 */
export { QUEUE_ENTRY_MS, QUEUE_REFRESH_MS, RedisLockBackend } from './lock.js';
export { RedisSemaphoreBackend } from './semaphore.js';
export type { RedisBackendOptions, RedisClient } from './options.js';
export type { SubscriberClient } from './notify.js';
export { RedlockBackend } from './redlock.js';
export type { RedlockNode, RedlockOptions } from './redlock.js';
// Idempotency keys (issue 11).
export { RedisIdempotencyStore } from './idempotency.js';
export type { RedisIdempotencyStoreOptions } from './idempotency.js';
export { RedisCacheTier } from './cache.js';
export type { RedisCacheTierOptions } from './cache.js';
// Fenced writes (the shared result type, FenceResult, is in faultline/coord).
export { REDIS_FENCED_SET_SCRIPT, redisFenceKey, redisFencedSet } from './fence.js';
export type { RedisEvalClient, RedisFencedTarget } from './fence.js';

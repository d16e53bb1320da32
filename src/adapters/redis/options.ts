/**
 * Options shared by the Redis backends, and their validation.
 *
 * @module
 */
import type { Cluster, Redis } from 'ioredis';
import type { Runtime } from '../../core/runtime.js';
import { systemRuntime } from '../../core/system.js';
import { integerIn } from '../../core/validate.js';
import { checkPrefix } from './keys.js';
import type { SubscriberClient } from './notify.js';
import { ChangeHub } from './notify.js';
import type { ScriptClient } from './script-runner.js';

/** An ioredis client: a single `Redis` connection or a `Cluster`. */
export type RedisClient = Redis | Cluster;

/** Options of {@link RedisLockBackend} and {@link RedisSemaphoreBackend}. */
export interface RedisBackendOptions {
  /**
   * Prefix of every Redis key and channel the backend uses (default `faultline:lock:` for locks,
   * `faultline:semaphore:` for semaphores). Must not contain `{` (the hash tag follows it).
   */
  prefix?: string;
  /**
   * Upper bound on concurrent `waitForChange` calls of this backend (default 10,000); more reject
   * with `TooManyWaitersError`. Bounds memory under a waiter storm.
   */
  maxWaiters?: number;
  /**
   * Upper bound on channels the subscriber connection keeps subscribed (default 10,000). A
   * subscription stays open after its last waiter left, so a hot key costs one `SUBSCRIBE`; beyond
   * the bound the least recently used idle ones are unsubscribed. Higher costs server memory,
   * lower costs a `SUBSCRIBE` (and a spurious wake-up) when a dropped key is contended again.
   */
  maxSubscriptions?: number;
  /**
   * Opens the subscriber connection (default: `client.duplicate()`, opened on the first wait and
   * closed by `close()`). A subscribed connection can run no other commands, hence a separate one.
   */
  subscriber?: () => SubscriberClient;
  /**
   * Whether the server keeps leases and counters across a restart (default `false`). Set `true`
   * only for a Redis with AOF and `appendfsync always` and no failover to an asynchronous replica;
   * it is reported in `guarantees.durable` and changes nothing else.
   */
  durable?: boolean;
  /** Timers of queued waits (their refresh and recheck); default the system runtime. */
  runtime?: Runtime;
}

/** Resolved options. */
export interface ResolvedRedisOptions {
  readonly prefix: string;
  readonly durable: boolean;
  readonly runtime: Runtime;
  readonly scripts: ScriptClient;
  readonly hub: ChangeHub;
}

/** Validates `options` and builds the script client and the change hub of a backend. */
export function resolveRedisOptions(
  client: RedisClient,
  options: RedisBackendOptions,
  defaultPrefix: string,
): ResolvedRedisOptions {
  if (typeof client !== 'object' || client === null || typeof client.evalsha !== 'function') {
    throw new TypeError('client must be an ioredis Redis or Cluster instance');
  }
  const prefix = checkPrefix('prefix', options.prefix ?? defaultPrefix);
  const maxWaiters = integerIn('maxWaiters', options.maxWaiters ?? 10_000, 1, 10_000_000);
  const maxSubscriptions = integerIn(
    'maxSubscriptions',
    options.maxSubscriptions ?? 10_000,
    1,
    10_000_000,
  );
  const open =
    options.subscriber ?? ((): SubscriberClient => client.duplicate() as SubscriberClient);
  return {
    prefix,
    durable: options.durable ?? false,
    runtime: options.runtime ?? systemRuntime(),
    scripts: client as unknown as ScriptClient,
    hub: new ChangeHub(open, { maxWaiters, maxSubscriptions }),
  };
}

/**
 * What the Redis lock and semaphore backends share: option resolution, the script runner, the
 * release notification hub and its life cycle.
 *
 * @module
 */
import type { Runtime } from '../../core/runtime.js';
import type { BackendGuarantees, CallOptions } from '../../coord/types.js';
import type { ChangeHub } from './notify.js';
import type { RedisBackendOptions, RedisClient } from './options.js';
import { resolveRedisOptions } from './options.js';
import type { LuaScript } from './scripts.js';
import { ScriptRunner } from './script-runner.js';

/** The common part of {@link RedisLockBackend} and {@link RedisSemaphoreBackend}. */
export abstract class RedisBackendBase {
  readonly name: string = 'redis';
  readonly guarantees: BackendGuarantees;
  protected readonly prefix: string;
  protected readonly runner: ScriptRunner;
  protected readonly hub: ChangeHub;
  protected readonly runtime: Runtime;

  protected constructor(
    client: RedisClient,
    options: RedisBackendOptions,
    defaultPrefix: string,
    fifo: boolean,
  ) {
    const resolved = resolveRedisOptions(client, options, defaultPrefix);
    this.prefix = resolved.prefix;
    this.runner = new ScriptRunner(resolved.scripts);
    this.hub = resolved.hub;
    this.runtime = resolved.runtime;
    this.guarantees = Object.freeze({ fifo, durable: resolved.durable, consensus: false });
  }

  /**
   * Runs a release script whose reply is 1 (released), 2 (released while someone waited) or, for
   * the lock, the grant message of the queued waiter it handed the key to. Tells the local hub, so
   * a waiter in this process hears of it when the release answers rather than when the message
   * comes back through the subscriber.
   */
  protected runRelease(
    script: LuaScript,
    keys: readonly string[],
    channel: string,
    owner: string,
    options: CallOptions,
  ): Promise<void> {
    return this.runner.run('release', script, keys, [owner], options).then((reply) => {
      if (reply === 1 || reply === 2) this.hub.releasedHere(channel, owner, reply === 2);
      else if (typeof reply === 'string') this.hub.grantedHere(channel, reply);
    });
  }

  /**
   * Closes the subscriber connection and wakes every waiter; later calls reject with
   * `BackendClosedError`. The client you passed stays open. Idempotent.
   */
  close(): Promise<void> {
    this.hub.close();
    return Promise.resolve();
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Same as `close()`, for `using` (the close is synchronous underneath). */
  [Symbol.dispose](): void {
    void this.close();
  }
}

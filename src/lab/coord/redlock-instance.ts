/**
 * A Redlock instance on a simulated node: faultline's {@link MemoryLockBackend} with the two
 * operations Redlock adds to an instance (extend by owner, raise a grant's token), and with the
 * node's *wall* clock as its expiry clock, as a Redis server has: Redis stores a key's expiry as an
 * absolute Unix time read from `gettimeofday`, so a forward step of the server's clock expires keys
 * early (redis/redis#416, valkey-io/valkey#2651; Kleppmann, "How to do distributed locking", 2016).
 *
 * Tokens. The memory backend's tokens come from its own counter; this instance reports them plus
 * an offset per key that only grows. `raiseToken` raises the offset so that the holder's token
 * becomes the given one, which is exactly the Redis script's `counter := max(counter, token)`: the
 * holder reports the raised token and every later grant a larger one. Tokens stay strictly
 * increasing per key on each instance.
 *
 * @module
 */
import type { RedlockNode } from '../../adapters/redis/redlock-core.js';
import type { Clock, Runtime } from '../../core/runtime.js';
import { MemoryLockBackend } from '../../coord/memory.js';
import type {
  AcquireResult,
  CallOptions,
  ExtendResult,
  Holder,
  LockBackend,
} from '../../coord/types.js';

/** A runtime whose monotonic clock is `runtime`'s wall clock: expiry that follows clock steps. */
export function wallClockRuntime(runtime: Runtime): Runtime {
  const clock: Clock = {
    monotonicMs: () => runtime.clock.wallMs(),
    wallMs: () => runtime.clock.wallMs(),
  };
  return { clock, timers: runtime.timers, random: runtime.random };
}

/** One Redlock instance over a memory backend (see the module comment). */
export class MemoryRedlockInstance implements RedlockNode {
  readonly name = 'memory-redlock-instance';
  readonly guarantees: LockBackend['guarantees'];
  private readonly memory: MemoryLockBackend;
  private readonly offsets = new Map<string, bigint>();

  constructor(runtime: Runtime) {
    this.memory = new MemoryLockBackend({ runtime: wallClockRuntime(runtime) });
    this.guarantees = this.memory.guarantees;
  }

  private offset(key: string): bigint {
    return this.offsets.get(key) ?? 0n;
  }

  async tryAcquire(
    key: string,
    owner: string,
    ttlMs: number,
    o: CallOptions,
  ): Promise<AcquireResult> {
    const result = await this.memory.tryAcquire(key, owner, ttlMs, o);
    return result.kind === 'acquired'
      ? { ...result, token: result.token + this.offset(key) }
      : result;
  }

  extend(
    key: string,
    owner: string,
    token: bigint,
    ttlMs: number,
    o: CallOptions,
  ): Promise<ExtendResult> {
    return this.memory.extend(key, owner, token - this.offset(key), ttlMs, o);
  }

  async extendOwner(
    key: string,
    owner: string,
    ttlMs: number,
    o: CallOptions,
  ): Promise<ExtendResult> {
    const holder = await this.memory.holder(key, o);
    if (holder === null) return { kind: 'lost', reason: 'expired' };
    if (holder.owner !== owner) return { kind: 'lost', reason: 'stolen' };
    return this.memory.extend(key, owner, holder.token, ttlMs, o);
  }

  async raiseToken(key: string, owner: string, token: bigint, o: CallOptions): Promise<boolean> {
    const holder = await this.memory.holder(key, o);
    if (holder === null || holder.owner !== owner) return false;
    const reported = holder.token + this.offset(key);
    if (reported < token) this.offsets.set(key, this.offset(key) + (token - reported));
    return true;
  }

  release(key: string, owner: string, o: CallOptions): Promise<void> {
    return this.memory.release(key, owner, o);
  }

  async holder(key: string, o: CallOptions): Promise<Holder | null> {
    const holder = await this.memory.holder(key, o);
    return holder === null ? null : { ...holder, token: holder.token + this.offset(key) };
  }

  waitForChange(key: string, o: CallOptions): Promise<void> {
    return this.memory.waitForChange(key, o);
  }
}

import { describe, expect, it } from 'vitest';
import type { Disposable } from '../core/events.js';
import { disposable } from '../core/events.js';
import { Lock } from '../coord/lock.js';
import { MemoryLockBackend } from '../coord/memory.js';
import { isTimeoutError } from '../resilience/errors.js';
import { createSimRuntime, Scheduler } from '../sim/index.js';
import type { RemoteHit, RemoteMessage, RemoteTier } from './tiered.js';
import { TieredCache } from './tiered.js';

/** A shared tier in memory, on the simulated clock; `refuse` makes every fenced write lose. */
class MemoryTier implements RemoteTier<string> {
  readonly values = new Map<string, { value: string; expiresAtMs: number }>();
  private readonly listeners = new Set<(m: RemoteMessage) => void>();
  refuse = false;
  constructor(private readonly now: () => number) {}
  async get(key: string): Promise<RemoteHit<string> | undefined> {
    const v = this.values.get(key);
    if (v === undefined || this.now() >= v.expiresAtMs) return undefined;
    return { value: v.value, remainingMs: v.expiresAtMs - this.now() };
  }
  async setFenced(key: string, value: string, _t: bigint, ttlMs: number, from: string) {
    if (this.refuse) return false;
    this.values.set(key, { value, expiresAtMs: this.now() + ttlMs });
    for (const l of this.listeners) l({ kind: 'set', key, from });
    return true;
  }
  async delete(key: string, from: string) {
    this.values.delete(key);
    for (const l of this.listeners) l({ kind: 'delete', key, from });
  }
  async subscribe(listener: (m: RemoteMessage) => void): Promise<Disposable> {
    this.listeners.add(listener);
    return disposable(() => this.listeners.delete(listener));
  }
}

function setup(k: number) {
  const scheduler = new Scheduler({ seed: 3 });
  const runtime = createSimRuntime(scheduler, 'tiered');
  const tier = new MemoryTier(() => runtime.clock.monotonicMs());
  const backend = new MemoryLockBackend({ runtime });
  const caches = Array.from(
    { length: k },
    (_, i) =>
      new TieredCache<string>({
        remote: tier,
        lock: new Lock(backend, { runtime }),
        ttlMs: 1_000,
        beta: 0,
        runtime,
        instanceId: `i${i}`,
        waitMs: 500,
      }),
  );
  let calls = 0;
  const origin = async () => {
    const n = ++calls;
    await runtime.timers.sleep(50);
    return `v${n}`;
  };
  return { scheduler, runtime, tier, backend, caches, origin, calls: () => calls };
}

describe('TieredCache', () => {
  it('one origin call per expiry across instances, in the simulator', async () => {
    const { scheduler, caches, origin, calls } = setup(5);
    const first = caches.flatMap((c) => Array.from({ length: 20 }, () => c.getOrLoad('k', origin)));
    await scheduler.run({ untilMs: 300 });
    expect(new Set(await Promise.all(first))).toEqual(new Set(['v1']));
    await scheduler.run({ untilMs: 1_500 }); // L2 and every L1 expired
    const second = caches.map((c) => c.getOrLoad('k', origin));
    await scheduler.run({ untilMs: 2_000 });
    expect(new Set(await Promise.all(second))).toEqual(new Set(['v2']));
    expect(calls()).toBe(2);
  });

  it('a caller waiting for another instance’s regeneration gives up after waitMs', async () => {
    const { scheduler, runtime, backend, caches, origin } = setup(1);
    // Another instance holds the lease and never writes: it takes it through the same backend.
    const other = new Lock(backend, { runtime });
    const busy = caches[0]!;
    const lease = await other.tryAcquire('cache:k', { ttlMs: 10_000 });
    expect(lease).not.toBeNull();
    const result = busy.getOrLoad('k', origin).catch((e: unknown) => e);
    await scheduler.run({ untilMs: 700 });
    expect(isTimeoutError(await result)).toBe(true);
    await lease!.release();
  });

  it('counts fenced writes the tier refused, and still answers with the loaded value', async () => {
    const { scheduler, tier, caches, origin } = setup(1);
    tier.refuse = true;
    const p = caches[0]!.getOrLoad('k', origin);
    await scheduler.run({ untilMs: 100 });
    expect(await p).toBe('v1');
    expect(caches[0]!.stats).toEqual({ originCalls: 1, rejectedWrites: 1 });
  });

  it('rejects hostile options naming the field', () => {
    const { runtime, tier } = setup(1);
    const lock = new Lock(new MemoryLockBackend({ runtime }), { runtime });
    expect(() => new TieredCache({ remote: undefined as never, lock, runtime })).toThrow(/remote/);
    expect(() => new TieredCache({ remote: tier, lock: {} as never, runtime })).toThrow(/lock/);
    expect(() => new TieredCache({ remote: tier, lock, leaseTtlMs: 0, runtime })).toThrow(
      /leaseTtlMs/,
    );
    expect(() => new TieredCache({ remote: tier, lock, recheckMs: -1, runtime })).toThrow(
      /recheckMs/,
    );
  });
});

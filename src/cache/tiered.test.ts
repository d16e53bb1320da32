import { describe, expect, it } from 'vitest';
import type { Disposable } from '../core/events.js';
import type { Runtime } from '../core/runtime.js';
import { disposable } from '../core/events.js';
import { Lock } from '../coord/lock.js';
import { MemoryLockBackend } from '../coord/memory.js';
import { isTimeoutError } from '../resilience/errors.js';
import { createSimRuntime, Scheduler } from '../sim/index.js';
import type { RemoteHit, RemoteMessage, RemoteTier } from './tiered.js';
import { TieredCache } from './tiered.js';

/**
 * A shared tier in memory, on the simulated clock, fenced like Redis's. `refuse` makes every fenced
 * write lose; `hold` keeps messages until `deliver()` (a subscriber connection slower than the
 * reads); `readLatencyMs` delays a read's reply after the read itself; `versioned: false` leaves
 * tokens out of reads and messages, `'garbage'` reports NaN in their place (a custom tier's bug).
 */
class MemoryTier implements RemoteTier<string> {
  readonly values = new Map<string, { value: string; expiresAtMs: number }>();
  private readonly fences = new Map<string, bigint>();
  private readonly listeners = new Set<(m: RemoteMessage) => void>();
  private readonly held: RemoteMessage[] = [];
  refuse = false;
  hold = false;
  readLatencyMs = 0;
  versioned: boolean | 'garbage' = true;
  private tokenOf(token: bigint): bigint {
    return this.versioned === 'garbage' ? (Number.NaN as unknown as bigint) : token;
  }
  constructor(private readonly runtime: Runtime) {}
  private now(): number {
    return this.runtime.clock.monotonicMs();
  }
  async get(key: string): Promise<RemoteHit<string> | undefined> {
    const v = this.values.get(key);
    const token = this.fences.get(key);
    const hit =
      v === undefined || this.now() >= v.expiresAtMs
        ? undefined
        : { value: v.value, remainingMs: v.expiresAtMs - this.now() };
    if (this.readLatencyMs > 0) await this.runtime.timers.sleep(this.readLatencyMs);
    return hit === undefined || token === undefined || !this.versioned
      ? hit
      : { ...hit, token: this.tokenOf(token) };
  }
  async setFenced(key: string, value: string, token: bigint, ttlMs: number, from: string) {
    if (this.refuse || token < (this.fences.get(key) ?? 0n)) return false;
    this.fences.set(key, token);
    this.values.set(key, { value, expiresAtMs: this.now() + ttlMs });
    this.publish(
      this.versioned
        ? { kind: 'set', key, from, token: this.tokenOf(token) }
        : { kind: 'set', key, from },
    );
    return true;
  }
  async delete(key: string, from: string) {
    this.values.delete(key);
    this.publish({ kind: 'delete', key, from });
  }
  async subscribe(listener: (m: RemoteMessage) => void): Promise<Disposable> {
    this.listeners.add(listener);
    return disposable(() => this.listeners.delete(listener));
  }
  deliver(): void {
    for (const m of this.held.splice(0)) for (const l of this.listeners) l(m);
  }
  private publish(m: RemoteMessage): void {
    this.held.push(m);
    if (!this.hold) this.deliver();
  }
}

function setup(k: number) {
  const scheduler = new Scheduler({ seed: 3 });
  const runtime = createSimRuntime(scheduler, 'tiered');
  const tier = new MemoryTier(runtime);
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

/** Two instances of which the first has loaded `k` (v1) through the tier. */
async function loadedByFirst(tier: { hold?: boolean; versioned?: boolean | 'garbage' }) {
  const s = setup(2);
  s.tier.hold = tier.hold ?? false;
  s.tier.versioned = tier.versioned ?? true;
  const first = s.caches[0]!.getOrLoad('k', s.origin);
  await s.scheduler.run({ untilMs: 100 });
  expect(await first).toBe('v1');
  return { ...s, c0: s.caches[0]!, c1: s.caches[1]! };
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
    // Refused, it is answered but not kept: the next read goes to the tier again.
    await scheduler.run({ untilMs: 110 });
    expect(caches[0]!.local.get('k')).toBeUndefined();
  });

  it('keeps an L1 copy when the message of the write it holds trails the read', async () => {
    const { scheduler, tier, origin, c0, c1 } = await loadedByFirst({ hold: true });
    const second = c1.getOrLoad('k', origin); // reads v1 from L2 before its message arrives
    await scheduler.run({ untilMs: 110 });
    expect(await second).toBe('v1');
    tier.deliver();
    expect(c1.local.get('k')).toBe('v1');
    // A newer write from elsewhere still drops it.
    tier.hold = false;
    await tier.setFenced('k', 'v9', 1n << 40n, 1_000, 'elsewhere');
    expect(c1.local.get('k')).toBeUndefined();
    expect(c0.local.get('k')).toBeUndefined();
  });

  it('stores a read whose own message overtook it on the wire', async () => {
    const { scheduler, tier, origin, c1 } = await loadedByFirst({ hold: true });
    tier.readLatencyMs = 10;
    const second = c1.getOrLoad('k', origin);
    await scheduler.run({ untilMs: 105 }); // the read happened; its reply is still on the wire
    tier.deliver();
    await scheduler.run({ untilMs: 120 });
    expect(await second).toBe('v1');
    expect(c1.local.get('k')).toBe('v1');
  });

  it('reads again when a newer write overtakes its read, and keeps the newer value', async () => {
    const { scheduler, tier, origin, c1 } = await loadedByFirst({});
    tier.readLatencyMs = 10;
    const second = c1.getOrLoad('k', origin);
    await scheduler.run({ untilMs: 105 }); // c1 read v1; its reply is on the wire
    await tier.setFenced('k', 'v2', 1n << 40n, 1_000, 'elsewhere');
    await scheduler.run({ untilMs: 150 });
    expect(await second).toBe('v2');
    expect(c1.local.get('k')).toBe('v2');
  });

  it.each([false, 'garbage'] as const)(
    'without tokens from the tier (versioned: %s), every announced change drops the L1 copy',
    async (versioned) => {
      const { scheduler, tier, origin, c1 } = await loadedByFirst({ hold: true, versioned });
      const second = c1.getOrLoad('k', origin);
      await scheduler.run({ untilMs: 110 });
      expect(await second).toBe('v1');
      tier.deliver();
      expect(c1.local.get('k')).toBeUndefined();
    },
  );

  it('a regenerator whose write was fenced off answers with the newer value and keeps that', async () => {
    const { scheduler, runtime, tier, caches } = setup(1);
    const c0 = caches[0]!;
    const slow = async (): Promise<string> => {
      // While this origin call runs, a regenerator with a newer lease writes.
      await tier.setFenced('k', 'newer', 1n << 40n, 1_000, 'elsewhere');
      await runtime.timers.sleep(50);
      return 'older';
    };
    const p = c0.getOrLoad('k', slow);
    await scheduler.run({ untilMs: 100 });
    expect(await p).toBe('newer');
    expect(c0.local.get('k')).toBe('newer');
    expect(c0.stats).toEqual({ originCalls: 1, rejectedWrites: 1 });
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

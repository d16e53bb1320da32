import { describe, it, expect } from 'vitest';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import { LockTimeoutError } from './errors.js';
import { MemorySemaphoreBackend } from './memory.js';
import { Semaphore } from './semaphore.js';
import type { Lease, SemaphoreBackend } from './types.js';

const drive = <T>(s: Scheduler, p: Promise<T>, forMs?: number): Promise<T> =>
  s.runUntilSettled(p, forMs);

function setup(permits: number) {
  const scheduler = new Scheduler({ seed: 5 });
  const server = createSimRuntime(scheduler, 'server');
  const client = createSimRuntime(scheduler, 'client');
  const backend = new MemorySemaphoreBackend({ runtime: server });
  return {
    scheduler,
    client,
    server,
    semaphore: new Semaphore(backend, { permits, runtime: client }),
  };
}

describe('Semaphore', () => {
  it('never grants more than `permits` at once, each permit with its own increasing token', async () => {
    const { scheduler, semaphore } = setup(3);
    let inUse = 0;
    let peak = 0;
    const tokens: bigint[] = [];
    const worker = async (i: number): Promise<void> => {
      const permit = await semaphore.acquire('pool', { ttlMs: 10_000 });
      tokens.push(permit.token);
      inUse++;
      peak = Math.max(peak, inUse);
      await createSimRuntime(scheduler, `w${i}`).timers.sleep(10 + i);
      inUse--;
      await permit.release();
    };
    await drive(scheduler, Promise.all(Array.from({ length: 10 }, (_, i) => worker(i))));
    expect(peak).toBe(3);
    expect(new Set(tokens).size).toBe(10);
    expect([...tokens].sort((a, b) => (a < b ? -1 : 1))).toEqual(tokens);
  });

  it('frees a permit when its holder stops renewing (server-side expiry) and times out waiters', async () => {
    const { scheduler, semaphore } = setup(1);
    const held: Lease = await drive(scheduler, semaphore.acquire('pool', { ttlMs: 500 }));
    await expect(
      drive(scheduler, semaphore.acquire('pool', { ttlMs: 500, waitMs: 100 })),
    ).rejects.toBeInstanceOf(LockTimeoutError);
    const next = await drive(scheduler, semaphore.acquire('pool', { ttlMs: 500 }));
    expect(held.valid).toBe(false);
    expect(next.token > held.token).toBe(true);
    expect((await drive(scheduler, semaphore.holders('pool'))).map((h) => h.token)).toEqual([
      next.token,
    ]);
  });

  it('validates permits and leaves no timers after close', async () => {
    expect(() => new Semaphore(new MemorySemaphoreBackend(), { permits: 0 })).toThrow(
      /permits.*got 0/,
    );
    expect(() => new Semaphore(new MemorySemaphoreBackend(), { permits: 1.5 })).toThrow(/permits/);
    const { scheduler, client, server, semaphore } = setup(2);
    await drive(scheduler, semaphore.acquire('pool', { ttlMs: 300, autoRenew: true }));
    await scheduler.run({ untilMs: 2_000 });
    expect(await drive(scheduler, semaphore.tryAcquire('pool', { ttlMs: 300 }))).not.toBeNull();
    expect(await drive(scheduler, semaphore.tryAcquire('pool', { ttlMs: 300 }))).toBeNull();
    await drive(scheduler, semaphore.close());
    expect(client.timers.pending).toBe(0);
    expect(server.timers.pending).toBe(0);
  });

  it('takes k of N permits as one lease, all or none, and serves a big request before later small ones', async () => {
    const { scheduler, semaphore } = setup(3);
    const a = await drive(scheduler, semaphore.acquire('pool', { ttlMs: 10_000, permits: 2 }));
    expect(
      await drive(scheduler, semaphore.tryAcquire('pool', { ttlMs: 10_000, permits: 2 })),
    ).toBeNull();
    const order: string[] = [];
    const big = semaphore
      .acquire('pool', { ttlMs: 10_000, permits: 3 })
      .then((l) => (order.push('big'), l));
    await scheduler.runFor(10);
    // One permit is free, but the big request came first: the small one waits behind it.
    const small = semaphore
      .acquire('pool', { ttlMs: 10_000 })
      .then((l) => (order.push('small'), l));
    await scheduler.runFor(10);
    expect(order).toEqual([]);
    await drive(scheduler, a.release());
    const bigLease = await drive(scheduler, big);
    expect((await drive(scheduler, semaphore.holders('pool'))).map((h) => h.permits)).toEqual([3]);
    await drive(scheduler, bigLease.release());
    await drive(scheduler, small);
    expect(order).toEqual(['big', 'small']);
  });

  it('refuses a permit count outside [1, permits] naming the field and the value', async () => {
    const { scheduler, semaphore } = setup(3);
    for (const permits of [0, 4, 2.5, Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      await expect(
        drive(scheduler, semaphore.acquire('pool', { ttlMs: 100, permits })),
      ).rejects.toThrow(
        new RangeError(`permits must be an integer in [1, 3] (got ${String(permits)})`),
      );
      await expect(
        drive(scheduler, semaphore.tryAcquire('pool', { ttlMs: 100, permits })),
      ).rejects.toThrow(RangeError);
    }
    await expect(
      drive(
        scheduler,
        semaphore.with('pool', { ttlMs: 100, permits: '2' as never }, () => 1),
      ),
    ).rejects.toThrow(/permits/);
    expect(await drive(scheduler, semaphore.holders('pool'))).toEqual([]);
  });

  it('refuses k > 1 on a backend that takes one permit per lease', async () => {
    const { scheduler, server } = setup(1);
    const inner = new MemorySemaphoreBackend({ runtime: server });
    const single: SemaphoreBackend = {
      name: 'single',
      guarantees: inner.guarantees,
      tryAcquire: (k, o, l, t, c) => inner.tryAcquire(k, o, l, t, c),
      extend: (k, o, tk, t, c) => inner.extend(k, o, tk, t, c),
      release: (k, o, c) => inner.release(k, o, c),
      waitForChange: (k, c) => inner.waitForChange(k, c),
      holders: (k, c) => inner.holders(k, c),
    };
    const semaphore = new Semaphore(single, { permits: 4 });
    await expect(
      drive(scheduler, semaphore.tryAcquire('p', { ttlMs: 100, permits: 2 })),
    ).rejects.toThrow(
      /permits must be 1 \(the single backend takes one permit per lease\) \(got 2\)/,
    );
  });
});

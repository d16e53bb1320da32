import { describe, it, expect } from 'vitest';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import { LockTimeoutError } from './errors.js';
import { MemorySemaphoreBackend } from './memory.js';
import { Semaphore } from './semaphore.js';
import type { Lease } from './types.js';

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
});

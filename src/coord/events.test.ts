import { channel } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import type { Demotion } from './election.js';
import { Election } from './election.js';
import { isLockLostError, isLockTimeoutError } from './errors.js';
import type { AcquireFailureEvent, LeaseEvent, LeaseLostEvent } from './events.js';
import { Lock } from './lock.js';
import { MemoryLockBackend, MemorySemaphoreBackend } from './memory.js';
import { Semaphore } from './semaphore.js';
import type { Leadership } from './types.js';

const boom = (): never => {
  throw new Error('listener bug');
};

function listen(client: {
  onAcquired(l: (e: LeaseEvent) => void): unknown;
  onReleased(l: (e: LeaseEvent) => void): unknown;
  onLost(l: (e: LeaseLostEvent) => void): unknown;
  onFailure(l: (e: AcquireFailureEvent) => void): unknown;
}) {
  const seen: string[] = [];
  const lost: LeaseLostEvent[] = [];
  const failures: AcquireFailureEvent[] = [];
  client.onAcquired((e) => seen.push(`acquired ${e.key} ${e.token}`));
  client.onReleased((e) => seen.push(`released ${e.key} ${e.token}`));
  client.onLost((e) => {
    seen.push(`lost ${e.key} ${e.token} ${e.error.reason}`);
    lost.push(e);
  });
  client.onFailure((e) => {
    seen.push(`failure ${String(e.key)}`);
    failures.push(e);
  });
  return { seen, lost, failures };
}

function setup() {
  const scheduler = new Scheduler({ seed: 5 });
  const server = createSimRuntime(scheduler, 'server');
  const client = createSimRuntime(scheduler, 'client');
  return { scheduler, server, client };
}

describe('Lock events', () => {
  it('reports acquired, released, lost and a failed acquire, with key and token', async () => {
    const { scheduler, server, client } = setup();
    const lock = new Lock(new MemoryLockBackend({ runtime: server }), { runtime: client });
    const { seen, lost, failures } = listen(lock);
    const first = await scheduler.runUntilSettled(lock.acquire('a', { ttlMs: 1_000 }));
    await scheduler.runUntilSettled(first.release());
    const second = await scheduler.runUntilSettled(lock.acquire('a', { ttlMs: 1_000 }));
    // Nobody renews it: the client's deadline timer reports the loss when the TTL runs out.
    await scheduler.run({ untilMs: scheduler.nowMs + 2_000 });
    expect(second.valid).toBe(false);
    const other = new Lock(new MemoryLockBackend({ runtime: server }), { runtime: client });
    const held = await scheduler.runUntilSettled(other.acquire('b', { ttlMs: 10_000 }));
    const busy = listen(other);
    const waited = other.acquire('b', { ttlMs: 1_000, waitMs: 100 });
    await expect(scheduler.runUntilSettled(waited)).rejects.toSatisfy(isLockTimeoutError);
    expect(await scheduler.runUntilSettled(other.tryAcquire('b', { ttlMs: 1_000 }))).toBeNull();
    expect(seen).toEqual(['acquired a 1', 'released a 1', 'acquired a 2', 'lost a 2 expired']);
    expect(isLockLostError(lost[0]?.error)).toBe(true);
    expect(failures).toEqual([]);
    expect(busy.seen).toEqual(['failure b']);
    expect(isLockTimeoutError(busy.failures[0]?.error)).toBe(true);
    await held.release();
    await lock.close();
    await other.close();
  });

  it('throwing listeners leave the lease and the client working', async () => {
    const { scheduler, server, client } = setup();
    const lock = new Lock(new MemoryLockBackend({ runtime: server }), { runtime: client });
    lock.onAcquired(boom);
    lock.onReleased(boom);
    lock.onLost(boom);
    const errors: unknown[] = [];
    const ch = channel('faultline:events:listener-error');
    const sub = (m: unknown) => errors.push(m);
    ch.subscribe(sub);
    try {
      const lease = await scheduler.runUntilSettled(lock.acquire('k', { ttlMs: 500 }));
      expect(lease.token).toBe(1n);
      await scheduler.runUntilSettled(lease.release());
      expect(lease.valid).toBe(false);
      const again = await scheduler.runUntilSettled(lock.acquire('k', { ttlMs: 500 }));
      await scheduler.run({ untilMs: scheduler.nowMs + 1_000 });
      expect(again.valid).toBe(false);
    } finally {
      ch.unsubscribe(sub);
    }
    // acquired, released, acquired, lost.
    expect(errors).toHaveLength(4);
    await scheduler.runUntilSettled(lock.close());
  });
});

describe('Semaphore events', () => {
  it('reports permits acquired and released, and a rejected acquire', async () => {
    const { scheduler, server, client } = setup();
    const pool = new Semaphore(new MemorySemaphoreBackend({ runtime: server }), {
      runtime: client,
      permits: 1,
    });
    const { seen, failures } = listen(pool);
    const result = await scheduler.runUntilSettled(
      pool.with('jobs', { ttlMs: 1_000 }, (lease) => `ran with ${lease.token}`),
    );
    expect(result).toBe('ran with 1');
    const bad = pool.acquire('', { ttlMs: 1_000 });
    await expect(bad).rejects.toThrow(/key/);
    expect(seen).toEqual(['acquired jobs 1', 'released jobs 1', 'failure ']);
    expect(failures[0]?.key).toBe('');
    await pool.close();
  });
});

describe('Lease.onLost', () => {
  it('a throwing listener no longer escapes from the lease (valid just reads false)', async () => {
    const { scheduler, server, client } = setup();
    const lock = new Lock(new MemoryLockBackend({ runtime: server }), { runtime: client });
    const lease = await scheduler.runUntilSettled(lock.acquire('k', { ttlMs: 200 }));
    const reasons: string[] = [];
    lease.onLost(boom);
    lease.onLost((e) => reasons.push(e.reason));
    // Let the clock pass the deadline with the timer firing: the loss must be recorded anyway.
    await scheduler.run({ untilMs: scheduler.nowMs + 500 });
    expect(lease.valid).toBe(false);
    expect(reasons).toEqual(['expired']);
    await lock.close();
  });
});

describe('Election events', () => {
  it('reports elected and demoted; throwing listeners do not break the hand-over', async () => {
    const scheduler = new Scheduler({ seed: 9 });
    const backend = new MemoryLockBackend({ runtime: createSimRuntime(scheduler, 'server') });
    const timing = { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 };
    const make = (id: string) =>
      new Election(backend, {
        key: 'leader',
        candidateId: id,
        runtime: createSimRuntime(scheduler, id),
        ...timing,
      });
    const a = make('a');
    const b = make('b');
    const elected: bigint[] = [];
    const demoted: Demotion[] = [];
    a.onElected(boom);
    a.onDemoted(boom);
    a.onElected((l: Leadership) => elected.push(l.term));
    a.onDemoted((d) => demoted.push(d));
    b.onElected((l: Leadership) => elected.push(l.term));
    const first = await scheduler.runUntilSettled(a.campaign());
    const second = b.campaign();
    await scheduler.runUntilSettled(a.resign());
    const next = await scheduler.runUntilSettled(second);
    expect(next.term).toBeGreaterThan(first.term);
    expect(elected).toEqual([first.term, next.term]);
    expect(demoted).toEqual([{ term: first.term, reason: 'resigned' }]);
    await scheduler.runUntilSettled(a.close());
    await scheduler.runUntilSettled(b.close());
  });
});

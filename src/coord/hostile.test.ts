/**
 * Hostile input at the coordination clients' edges: every bad value is refused up front with a
 * typed error naming the field, never a hang, a retry loop or a leak.
 */
import { describe, it, expect } from 'vitest';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import { Election } from './election.js';
import { BackendClosedError, isBackendClosedError } from './errors.js';
import { Lock } from './lock.js';
import { MemoryLockBackend, MemorySemaphoreBackend } from './memory.js';
import { Semaphore } from './semaphore.js';

const drive = <T>(s: Scheduler, p: Promise<T>, forMs?: number): Promise<T> =>
  s.runUntilSettled(p, forMs);

function setup(lockOptions: ConstructorParameters<typeof Lock>[1] = {}) {
  const scheduler = new Scheduler({ seed: 3 });
  const server = createSimRuntime(scheduler, 'server');
  const client = createSimRuntime(scheduler, 'client');
  const backend = new MemoryLockBackend({ runtime: server });
  const semaphoreBackend = new MemorySemaphoreBackend({ runtime: server });
  const lock = new Lock(backend, { runtime: client, ...lockOptions });
  const semaphore = new Semaphore(semaphoreBackend, {
    permits: 2,
    runtime: client,
    ...lockOptions,
  });
  return { scheduler, server, client, backend, lock, semaphore };
}

describe('TTLs that leave no validity after the drift allowance', () => {
  it('are refused by acquire and tryAcquire with a RangeError naming ttlMs', async () => {
    const { scheduler, lock, semaphore } = setup();
    // Default drift: 1% and 2 ms, so a TTL of 1 ms (or 2 ms) leaves nothing.
    for (const ttlMs of [1, 2, 2.02]) {
      await expect(drive(scheduler, lock.tryAcquire('k', { ttlMs }))).rejects.toThrow(
        new RegExp(`ttlMs.*got ${ttlMs}`),
      );
      await expect(drive(scheduler, lock.acquire('k', { ttlMs, waitMs: 50 }))).rejects.toThrow(
        RangeError,
      );
      await expect(drive(scheduler, semaphore.acquire('k', { ttlMs, waitMs: 50 }))).rejects.toThrow(
        /ttlMs/,
      );
      await expect(drive(scheduler, semaphore.tryAcquire('k', { ttlMs }))).rejects.toThrow(/ttlMs/);
    }
    // Just above the minimum is fine.
    const lease = await drive(scheduler, lock.acquire('k', { ttlMs: 3 }));
    await lease.release();
  });

  it('are refused when driftMarginMs is at least the TTL', async () => {
    const { scheduler, lock } = setup({ driftMarginMs: 500 });
    await expect(drive(scheduler, lock.acquire('k', { ttlMs: 500, waitMs: 50 }))).rejects.toThrow(
      /ttlMs.*got 500/,
    );
    await expect(drive(scheduler, lock.acquire('k', { ttlMs: 400 }))).rejects.toThrow(RangeError);
  });

  it('are refused by lease.extend(ttlMs) without touching the lease', async () => {
    const { scheduler, lock } = setup();
    const lease = await drive(scheduler, lock.acquire('k', { ttlMs: 1_000 }));
    await expect(drive(scheduler, lease.extend(1))).rejects.toThrow(/ttlMs.*got 1/);
    expect(lease.valid).toBe(true);
    await lease.release();
  });

  it('are refused by an Election whose lease duration leaves no validity', () => {
    const backend = new MemoryLockBackend();
    expect(
      () =>
        new Election(backend, {
          key: 'e',
          candidateId: 'a',
          leaseDurationMs: 1_500,
          renewDeadlineMs: 1_000,
          retryPeriodMs: 200,
          driftMarginMs: 1_500,
        }),
    ).toThrow(/leaseDurationMs.*got 1500/);
  });
});

describe('signal options that are not AbortSignals', () => {
  const notSignals: unknown[] = [{}, 'abort', 1, { aborted: false }, null];

  it('are a TypeError naming the field, and leave the client working', async () => {
    const { scheduler, lock, semaphore } = setup();
    for (const signal of notSignals) {
      const options = { ttlMs: 1_000, waitMs: 50, signal: signal as AbortSignal };
      await expect(drive(scheduler, lock.acquire('k', options))).rejects.toThrow(TypeError);
      await expect(drive(scheduler, lock.tryAcquire('k', options))).rejects.toThrow(/signal/);
      await expect(drive(scheduler, semaphore.acquire('k', options))).rejects.toThrow(TypeError);
      await expect(drive(scheduler, lock.holder('k', signal as AbortSignal))).rejects.toThrow(
        TypeError,
      );
      await expect(drive(scheduler, semaphore.holders('k', signal as AbortSignal))).rejects.toThrow(
        TypeError,
      );
    }
    // The client still interrupts its other waiters and closes cleanly.
    const held = await drive(scheduler, lock.acquire('k', { ttlMs: 1_000 }));
    const waiting = lock.acquire('k', { ttlMs: 1_000 });
    await scheduler.run({ untilMs: scheduler.nowMs + 10 });
    await lock.close();
    await expect(drive(scheduler, waiting)).rejects.toThrow(/closed/);
    expect(held.valid).toBe(false);
  });

  it('are a TypeError in Election.campaign and Election.leader', async () => {
    const scheduler = new Scheduler({ seed: 4 });
    const election = new Election(new MemoryLockBackend(), {
      key: 'e',
      candidateId: 'a',
      runtime: createSimRuntime(scheduler, 'a'),
    });
    expect(() => election.campaign({ signal: {} as AbortSignal })).toThrow(TypeError);
    await expect(election.leader({} as AbortSignal)).rejects.toThrow(/signal/);
    await election.close();
  });
});

describe('keys no backend can store faithfully', () => {
  it('refuses strings that are not well-formed UTF-16 (a lone surrogate)', async () => {
    const { scheduler, lock, semaphore } = setup();
    // Encoded as UTF-8, both would become U+FFFD: two keys, one lock.
    for (const key of ['\uD800', 'a\uDC00b']) {
      await expect(drive(scheduler, lock.acquire(key, { ttlMs: 100 }))).rejects.toThrow(
        /key.*well-formed/,
      );
      await expect(drive(scheduler, semaphore.tryAcquire(key, { ttlMs: 100 }))).rejects.toThrow(
        RangeError,
      );
    }
  });

  it('asks the backend about keys it cannot store, before any call', async () => {
    const { scheduler, client } = setup();
    const inner = new MemoryLockBackend();
    let calls = 0;
    const picky = Object.assign(Object.create(inner) as MemoryLockBackend, {
      checkKey(field: string, key: string): void {
        if (key.includes('\u0000')) throw new RangeError(`${field} must not contain NUL`);
      },
      tryAcquire(...args: Parameters<MemoryLockBackend['tryAcquire']>) {
        calls++;
        return inner.tryAcquire(...args);
      },
    });
    const lock = new Lock(picky, { runtime: client });
    await expect(drive(scheduler, lock.acquire('a\u0000b', { ttlMs: 100 }))).rejects.toThrow(
      /key must not contain NUL/,
    );
    await expect(drive(scheduler, lock.holder('a\u0000b'))).rejects.toThrow(RangeError);
    expect(calls).toBe(0);
  });
});

describe('holder reports', () => {
  it('never reveal the owner id, which would let anyone release the lease', async () => {
    const { scheduler, lock, semaphore, backend } = setup();
    const lease = await drive(scheduler, lock.acquire('k', { ttlMs: 1_000 }));
    const seen = await drive(scheduler, lock.holder('k'));
    expect(seen).toEqual({ token: lease.token, remainingMs: expect.any(Number) });
    expect(
      JSON.stringify(seen, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}` : v)),
    ).not.toContain(lease.owner);
    const permit = await drive(scheduler, semaphore.acquire('p', { ttlMs: 1_000 }));
    const permits = await drive(scheduler, semaphore.holders('p'));
    expect(permits).toEqual([{ token: permit.token, remainingMs: expect.any(Number) }]);
    // The backend (the trusted layer) still knows the owner.
    const o = { signal: new AbortController().signal };
    expect((await backend.holder('k', o))?.owner).toBe(lease.owner);
  });
});

describe('with(key, options, fn)', () => {
  it('passes the lease, releases on return and on throw, and refuses a non-function first', async () => {
    const { scheduler, lock, semaphore } = setup();
    let seen: bigint | undefined;
    const result = await drive(
      scheduler,
      lock.with('k', { ttlMs: 1_000 }, (lease) => {
        seen = lease.token;
        expect(lease.valid).toBe(true);
        return 42;
      }),
    );
    expect(result).toBe(42);
    expect(await drive(scheduler, lock.holder('k'))).toBeNull();
    const failure = new Error('work failed');
    await expect(
      drive(
        scheduler,
        lock.with('k', { ttlMs: 1_000 }, async (lease) => {
          expect(lease.token > (seen ?? 0n)).toBe(true);
          await Promise.resolve();
          throw failure;
        }),
      ),
    ).rejects.toBe(failure);
    expect(await drive(scheduler, lock.holder('k'))).toBeNull();
    await expect(lock.with('k', { ttlMs: 1_000 }, 'nope' as never)).rejects.toThrow(
      /fn must be a function/,
    );
    expect(await drive(scheduler, lock.holder('k'))).toBeNull();
    expect(
      await drive(
        scheduler,
        semaphore.with('p', { ttlMs: 1_000 }, (p) => p.token),
      ),
    ).toBeGreaterThan(0n);
    expect(await drive(scheduler, semaphore.holders('p'))).toEqual([]);
  });

  it('lets clients be disposed with await using', async () => {
    const { scheduler, lock } = setup();
    let held: { valid: boolean } | undefined;
    {
      await using scoped = lock;
      held = await drive(scheduler, scoped.acquire('k', { ttlMs: 1_000 }));
    }
    expect(held.valid).toBe(false);
    const election = new Election(new MemoryLockBackend(), { key: 'e', candidateId: 'a' });
    await election[Symbol.asyncDispose]();
    await expect(election.campaign()).rejects.toThrow(/closed/);
  });
});

describe('a closed backend', () => {
  it('ends a waiting acquire at once with BackendClosedError, not a timeout after waitMs', async () => {
    const { scheduler, client, backend } = setup();
    let closed = false;
    const closing = Object.assign(Object.create(backend) as MemoryLockBackend, {
      tryAcquire(...args: Parameters<MemoryLockBackend['tryAcquire']>) {
        if (closed) return Promise.reject(new BackendClosedError('memory', 'tryAcquire'));
        return backend.tryAcquire(...args);
      },
      acquireQueued(...args: Parameters<MemoryLockBackend['tryAcquire']>) {
        if (closed) return Promise.reject(new BackendClosedError('memory', 'acquireQueued'));
        return backend.acquireQueued(...args);
      },
    });
    const lock = new Lock(closing, { runtime: client });
    closed = true;
    const startedAt = scheduler.nowMs;
    const error = await drive(scheduler, lock.acquire('k', { ttlMs: 1_000, waitMs: 60_000 })).catch(
      (e: unknown) => e,
    );
    expect(isBackendClosedError(error)).toBe(true);
    expect(scheduler.nowMs - startedAt).toBeLessThan(1_000);
  });
});

describe('a backend of the wrong kind (from JavaScript)', () => {
  it('is a TypeError naming the missing method, not an acquire loop that never yields', () => {
    const lockBackend = new MemoryLockBackend() as unknown as MemorySemaphoreBackend;
    expect(() => new Semaphore(lockBackend, { permits: 2 })).toThrow(
      /backend must be a SemaphoreBackend: it has no holders\(\) method/,
    );
    const semaphoreBackend = new MemorySemaphoreBackend() as unknown as MemoryLockBackend;
    expect(() => new Lock(semaphoreBackend)).toThrow(
      /backend must be a LockBackend: it has no holder\(\)/,
    );
    expect(() => new Election(semaphoreBackend, { key: 'e', id: 'n1' } as never)).toThrow(
      /backend must be an ElectionBackend/,
    );
    expect(() => new Lock({} as never)).toThrow(TypeError);
    expect(() => new Lock(null as never)).toThrow(RangeError);
  });
});

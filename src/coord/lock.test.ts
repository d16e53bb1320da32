import { describe, it, expect } from 'vitest';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import type { SimRuntime } from '../sim/index.js';
import {
  LeaseReleasedError,
  LockLostError,
  LockTimeoutError,
  TooManyWaitersError,
  isLockLostError,
  BackendUnavailableError,
} from './errors.js';
import { Lock } from './lock.js';
import { MemoryLockBackend } from './memory.js';
import type { Lease, LockBackend } from './types.js';

const drive = <T>(s: Scheduler, p: Promise<T>, forMs?: number): Promise<T> =>
  s.runUntilSettled(p, forMs);

function setup(
  clientOptions: { driftPpm?: number } = {},
  lockOptions: ConstructorParameters<typeof Lock>[1] = {},
) {
  const scheduler = new Scheduler({ seed: 7 });
  const server = createSimRuntime(scheduler, 'server');
  const client = createSimRuntime(scheduler, 'client', clientOptions);
  const backend = new MemoryLockBackend({ runtime: server });
  const lock = new Lock(backend, { runtime: client, ...lockOptions });
  return { scheduler, server, client, backend, lock };
}

/** Wraps a backend so tests can make calls hang or fail. */
function flaky(inner: LockBackend, mode: { value: 'ok' | 'hang' | 'fail' }): LockBackend {
  const gate = <T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> => {
    if (mode.value === 'ok') return fn();
    if (mode.value === 'fail') return Promise.reject(new BackendUnavailableError('test', 'down'));
    return new Promise<T>(() => {
      void signal; // a lost backend: the promise never settles on its own
    });
  };
  return {
    name: 'flaky',
    guarantees: inner.guarantees,
    tryAcquire: (k, ow, t, o) => gate(() => inner.tryAcquire(k, ow, t, o), o.signal),
    extend: (k, ow, tok, t, o) => gate(() => inner.extend(k, ow, tok, t, o), o.signal),
    release: (k, ow, o) => gate(() => inner.release(k, ow, o), o.signal),
    holder: (k, o) => gate(() => inner.holder(k, o), o.signal),
    waitForChange: (k, o) => gate(() => inner.waitForChange(k, o), o.signal),
  };
}

describe('Lock', () => {
  it('grants increasing tokens and makes others wait until release', async () => {
    const { scheduler, lock } = setup();
    const a = await drive(scheduler, lock.acquire('k', { ttlMs: 1_000 }));
    expect(await drive(scheduler, lock.tryAcquire('k', { ttlMs: 1_000 }))).toBeNull();
    const waiting = lock.acquire('k', { ttlMs: 1_000, waitMs: 5_000 });
    await scheduler.run({ untilMs: 100 });
    expect(lock.waiting).toBe(1);
    await a.release();
    const b = await drive(scheduler, waiting);
    expect(b.token > a.token).toBe(true);
    expect(a.signal.reason).toBeInstanceOf(LeaseReleasedError);
    expect(b.valid).toBe(true);
    await b.release();
  });

  it('aborts the signal before the server-side expiry, even for a slow client clock', async () => {
    // The client clock runs 0.5% slow: its deadline must still fall before the server's expiry.
    const { scheduler, lock, backend } = setup({ driftPpm: -5_000 });
    const lease = await drive(scheduler, lock.acquire('k', { ttlMs: 1_000 }));
    let lostAt = -1;
    lease.onLost(() => (lostAt = scheduler.nowMs));
    await scheduler.run({ until: () => lostAt >= 0, untilMs: 2_000 });
    expect(lostAt).toBeGreaterThan(900);
    expect(lostAt).toBeLessThan(1_000);
    expect(lease.signal.reason).toBeInstanceOf(LockLostError);
    expect((lease.signal.reason as LockLostError).reason).toBe('expired');
    // The server still had it at that moment.
    expect(await backend.holder('k', { signal: new AbortController().signal })).not.toBeNull();
  });

  it('checks the deadline synchronously when the signal is read after a pause', async () => {
    const { scheduler, client, lock } = setup();
    const lease = await drive(scheduler, lock.acquire('k', { ttlMs: 1_000 }));
    client.timers.pause();
    await scheduler.run({ untilMs: 1_500 });
    // The deadline timer could not fire while paused, but the lease must not look valid.
    expect(lease.valid).toBe(false);
    expect(() => lease.assertValid()).toThrow(LockLostError);
    client.timers.resume();
  });

  it('times out a wait with LockTimeoutError and honours abort', async () => {
    const { scheduler, lock } = setup();
    await drive(scheduler, lock.acquire('k', { ttlMs: 10_000 }));
    await expect(
      drive(scheduler, lock.acquire('k', { ttlMs: 1_000, waitMs: 300 })),
    ).rejects.toBeInstanceOf(LockTimeoutError);
    const controller = new AbortController();
    const waiting = lock.acquire('k', { ttlMs: 1_000, signal: controller.signal });
    await scheduler.run({ untilMs: scheduler.nowMs + 50 });
    controller.abort(new Error('stop'));
    await expect(drive(scheduler, waiting)).rejects.toThrow('stop');
    expect(lock.waiting).toBe(0);
  });

  it('serves waiters in FIFO order on the memory backend', async () => {
    const { scheduler, lock } = setup();
    const first = await drive(scheduler, lock.acquire('k', { ttlMs: 10_000 }));
    const order: number[] = [];
    const waits = [0, 1, 2, 3].map((i) =>
      lock.acquire('k', { ttlMs: 10_000 }).then(async (lease) => {
        order.push(i);
        await lease.release();
      }),
    );
    await scheduler.run({ untilMs: scheduler.nowMs + 10 });
    await first.release();
    await drive(scheduler, Promise.all(waits));
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it('bounds its waiters', async () => {
    const { scheduler, lock } = setup({}, { maxWaiters: 1 });
    await drive(scheduler, lock.acquire('k', { ttlMs: 10_000 }));
    void lock.acquire('k', { ttlMs: 1_000 }).catch(() => undefined);
    await expect(lock.acquire('k', { ttlMs: 1_000 })).rejects.toBeInstanceOf(TooManyWaitersError);
    await lock.close();
  });

  it('extends manually, moves the deadline, and keeps the token', async () => {
    const { scheduler, lock } = setup();
    const lease = await drive(scheduler, lock.acquire('k', { ttlMs: 1_000 }));
    await scheduler.run({ untilMs: 800 });
    await drive(scheduler, lease.extend());
    await scheduler.run({ untilMs: 1_500 });
    expect(lease.valid).toBe(true);
    expect(lease.remainingMs()).toBeGreaterThan(200);
    await lease.release();
  });

  it('keeps a lease alive with the watchdog and releases with await using', async () => {
    const { scheduler, client, lock } = setup();
    const lease = await drive(scheduler, lock.acquire('k', { ttlMs: 300, autoRenew: true }));
    await scheduler.run({ untilMs: 5_000 });
    expect(lease.valid).toBe(true);
    {
      await using held = lease;
      expect(held.token).toBe(lease.token);
    }
    expect(lease.signal.reason).toBeInstanceOf(LeaseReleasedError);
    await scheduler.run({ untilMs: 6_000 });
    await lock.close();
    expect(client.timers.pending).toBe(0);
  });

  it('reports a paused holder as expired once someone else took the key', async () => {
    const { scheduler, lock, client } = setup();
    const lease = await drive(scheduler, lock.acquire('k', { ttlMs: 300 }));
    client.timers.pause();
    await scheduler.run({ untilMs: 400 });
    const other = new Lock(lock.backend, { runtime: createSimRuntime(scheduler, 'other') });
    const stealer = await drive(scheduler, other.acquire('k', { ttlMs: 1_000 }));
    client.timers.resume();
    const error = await lease.extend().catch((e: unknown) => e);
    expect(isLockLostError(error)).toBe(true);
    // The local deadline already passed, which the lease reports first.
    expect((error as LockLostError).reason).toBe('expired');
    expect(stealer.token > lease.token).toBe(true);
  });

  it('reports stolen from a renewal answered by the backend', async () => {
    const { scheduler, lock, backend } = setup();
    const lease = await drive(scheduler, lock.acquire('k', { ttlMs: 1_000 }));
    // An operator deletes the key and someone else takes it before our deadline.
    await backend.release('k', lease.owner, { signal: new AbortController().signal });
    await backend.tryAcquire('k', 'intruder', 1_000, { signal: new AbortController().signal });
    const error = await drive(scheduler, lease.extend()).catch((e: unknown) => e);
    expect((error as LockLostError).reason).toBe('stolen');
    expect(lease.valid).toBe(false);
  });

  it('loses the lease as unreachable when renewals hang, without unhandled rejections', async () => {
    const scheduler = new Scheduler({ seed: 3 });
    const server = createSimRuntime(scheduler, 'server');
    const client: SimRuntime = createSimRuntime(scheduler, 'client');
    const mode = { value: 'ok' as 'ok' | 'hang' | 'fail' };
    const lock = new Lock(flaky(new MemoryLockBackend({ runtime: server }), mode), {
      runtime: client,
      callTimeoutMs: 100,
    });
    const lease = await drive(scheduler, lock.acquire('k', { ttlMs: 600, autoRenew: true }));
    mode.value = 'hang';
    let reason = '';
    lease.onLost((e) => (reason = e.reason));
    await scheduler.run({ untilMs: 2_000 });
    expect(reason).toBe('unreachable');
    expect(scheduler.nowMs).toBe(2_000);
    await drive(scheduler, lease.release()); // bounded by callTimeoutMs though the backend hangs
    await scheduler.run({ untilMs: 3_000 });
    expect(client.timers.pending).toBe(0);
  });

  it('never leaves acquire pending on a hung backend: it times out with a cause', async () => {
    const scheduler = new Scheduler({ seed: 4 });
    const client = createSimRuntime(scheduler, 'client');
    const mode = { value: 'hang' as 'ok' | 'hang' | 'fail' };
    const lock = new Lock(flaky(new MemoryLockBackend({ runtime: client }), mode), {
      runtime: client,
      callTimeoutMs: 50,
    });
    const error = await drive(scheduler, lock.acquire('k', { ttlMs: 100, waitMs: 500 })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect((error as LockTimeoutError).cause).toBeInstanceOf(BackendUnavailableError);
    await expect(drive(scheduler, lock.tryAcquire('k', { ttlMs: 100 }))).rejects.toBeInstanceOf(
      BackendUnavailableError,
    );
  });

  it('gives every acquisition a fresh 128-bit owner from the runtime (seeded in simulation)', async () => {
    const owners = async () => {
      const { scheduler, lock } = setup();
      const a = await drive(scheduler, lock.acquire('k', { ttlMs: 100 }));
      await a.release();
      const b = await drive(scheduler, lock.acquire('k', { ttlMs: 100 }));
      return [a.owner, b.owner];
    };
    const first = await owners();
    expect(first[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(first[0]).not.toBe(first[1]);
    expect(await owners()).toEqual(first);
  });

  it('rejects bad input with a RangeError naming the field and value', async () => {
    const { lock } = setup();
    await expect(lock.acquire('k', { ttlMs: 0 })).rejects.toThrow(/ttlMs.*got 0/);
    await expect(lock.acquire('k', { ttlMs: -5 })).rejects.toThrow(RangeError);
    await expect(lock.acquire('k', { ttlMs: 10, waitMs: -1 })).rejects.toThrow(/waitMs.*got -1/);
    await expect(lock.acquire('', { ttlMs: 10 })).rejects.toThrow(/key.*got ""/);
    await expect(lock.acquire('k', { ttlMs: Number.NaN })).rejects.toThrow(/ttlMs/);
    await expect(lock.acquire('k', undefined as never)).rejects.toThrow(/options.*got undefined/);
    await expect(lock.acquire('k', { ttlMs: 10, autoRenew: 1 as never })).rejects.toThrow(
      /autoRenew/,
    );
    expect(() => new Lock(lock.backend, { callTimeoutMs: 0 })).toThrow(/callTimeoutMs/);
    expect(() => new Lock(lock.backend, { driftFactor: 0.5 })).toThrow(/driftFactor/);
    expect(() => new Lock(lock.backend, { maxWaiters: 0 })).toThrow(/maxWaiters/);
  });

  it('close() aborts waiters and releases held leases, leaving no timers', async () => {
    const { scheduler, lock, client, server } = setup();
    const held = await drive(scheduler, lock.acquire('a', { ttlMs: 1_000, autoRenew: true }));
    const waiting = lock.acquire('a', { ttlMs: 1_000 });
    await scheduler.run({ untilMs: 10 });
    await lock.close();
    await expect(drive(scheduler, waiting)).rejects.toThrow(/closed/);
    expect(held.valid).toBe(false);
    expect(client.timers.pending).toBe(0);
    expect(server.timers.pending).toBe(0);
  });

  describe('without a server-side queue', () => {
    /** The memory backend without `acquireQueued` (like Redis), counting calls. */
    function plain(inner: MemoryLockBackend, hooks: { onBusy?: () => Promise<void> } = {}) {
      const count = { tryAcquire: 0, waitForChange: 0 };
      const backend: LockBackend = {
        name: 'plain',
        guarantees: { ...inner.guarantees, fifo: false },
        tryAcquire: async (k, ow, t, o) => {
          count.tryAcquire++;
          const r = await inner.tryAcquire(k, ow, t, o);
          if (r.kind === 'busy') await hooks.onBusy?.();
          return r;
        },
        extend: (k, ow, tok, t, o) => inner.extend(k, ow, tok, t, o),
        release: (k, ow, o) => inner.release(k, ow, o),
        holder: (k, o) => inner.holder(k, o),
        waitForChange: (k, o) => {
          count.waitForChange++;
          return inner.waitForChange(k, o);
        },
      };
      return { backend, count };
    }

    it('opens no watch for an uncontended acquire and creates no lease signal', async () => {
      const { scheduler, backend: inner, client } = setup();
      const { backend, count } = plain(inner);
      const lock = new Lock(backend, { runtime: client });
      for (let i = 0; i < 5; i++) {
        const lease = await drive(scheduler, lock.acquire('k', { ttlMs: 1_000 }));
        expect(lease.valid).toBe(true);
        await lease.release();
        expect(lease.valid).toBe(false);
        expect(() => lease.assertValid()).toThrow(LeaseReleasedError);
      }
      expect(count).toEqual({ tryAcquire: 5, waitForChange: 0 });
      // No lease timer: only the client's one call-deadline timer, which close() cancels.
      expect(client.timers.pending).toBe(1);
      await lock.close();
      expect(client.timers.pending).toBe(0);
    });

    it('after a busy answer, opens the watch and retries at once, so a release in between is not missed', async () => {
      const { scheduler, backend: inner, client, server } = setup();
      const holderLock = new Lock(inner, { runtime: client });
      const held = await drive(scheduler, holderLock.acquire('k', { ttlMs: 100_000 }));
      let released = false;
      // The holder releases right after the waiter's first busy answer, before its watch opens.
      const { backend, count } = plain(inner, {
        onBusy: async () => {
          if (released) return;
          released = true;
          await inner.release('k', held.owner, { signal: new AbortController().signal });
        },
      });
      const lock = new Lock(backend, { runtime: client, recheckMs: 5_000 });
      const start = scheduler.nowMs;
      const lease = await drive(scheduler, lock.acquire('k', { ttlMs: 1_000 }));
      expect(scheduler.nowMs - start).toBeLessThan(5_000);
      expect(lease.token).toBeGreaterThan(held.token);
      expect(count).toEqual({ tryAcquire: 2, waitForChange: 1 });
      await lease.release();
      await holderLock.close();
      await lock.close();
      await scheduler.run({ untilMs: scheduler.nowMs + 10 });
      expect(client.timers.pending).toBe(0);
      expect(server.timers.pending).toBe(0);
    });

    it('waits on the watch after the second busy answer and wakes on release', async () => {
      const { scheduler, backend: inner, client } = setup();
      const { backend, count } = plain(inner);
      const lock = new Lock(backend, { runtime: client, recheckMs: 60_000 });
      const held = await drive(scheduler, lock.acquire('k', { ttlMs: 100_000 }));
      const waiting = lock.acquire('k', { ttlMs: 1_000 });
      await scheduler.run({ untilMs: scheduler.nowMs + 1_000 });
      expect(count).toEqual({ tryAcquire: 3, waitForChange: 1 });
      const releasedAt = scheduler.nowMs;
      await held.release();
      const lease = await drive(scheduler, waiting);
      expect(scheduler.nowMs - releasedAt).toBeLessThan(100);
      expect(lease.token).toBeGreaterThan(held.token);
      await lock.close();
    });
  });

  it('keeps no abort listener per call on shared signals: 50 concurrent acquires, no warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const { scheduler, lock, client } = setup();
      const caller = new AbortController();
      const leases = await drive(
        scheduler,
        Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            lock.acquire(`k${i}`, {
              ttlMs: 10_000,
              ...(i % 2 === 0 ? { signal: caller.signal } : {}),
            }),
          ),
        ),
      );
      expect(new Set(leases.map((l) => l.token)).size).toBeGreaterThan(0);
      await drive(scheduler, lock.close());
      expect(leases.every((l) => !l.valid)).toBe(true);
      expect(leases[0]?.signal.reason).toBeInstanceOf(LeaseReleasedError);
      expect(client.timers.pending).toBe(0);
      // Warnings are emitted on a later tick.
      await new Promise<void>((resolve) => process.nextTick(resolve));
      await Promise.resolve();
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  describe('queued grants', () => {
    /** The memory backend (queued), optionally marking its grants anchored, counting extends. */
    function queued(inner: MemoryLockBackend, anchored: boolean) {
      const count = { extend: 0 };
      const backend: LockBackend = {
        name: 'queued',
        guarantees: inner.guarantees,
        tryAcquire: (k, ow, t, o) => inner.tryAcquire(k, ow, t, o),
        acquireQueued: async (k, ow, t, o) => {
          const r = await inner.acquireQueued(k, ow, t, o);
          return r.kind === 'acquired' && anchored ? { ...r, anchored: true } : r;
        },
        extend: (k, ow, tok, t, o) => {
          count.extend++;
          return inner.extend(k, ow, tok, t, o);
        },
        release: (k, ow, o) => inner.release(k, ow, o),
        holder: (k, o) => inner.holder(k, o),
        waitForChange: (k, o) => inner.waitForChange(k, o),
      };
      return { backend, count };
    }

    it.each([false, true])(
      'gives every chunk of a long queued wait the same owner only when the backend keeps places (%s)',
      async (keepsQueuePlace) => {
        const { scheduler, backend: inner, client } = setup();
        const owners: string[] = [];
        const backend: LockBackend = {
          ...queued(inner, false).backend,
          keepsQueuePlace,
          acquireQueued: (k, ow, t, o) => {
            owners.push(ow);
            return inner.acquireQueued(k, ow, t, o);
          },
        };
        // recheckMs 20: each queued chunk lasts at most 200 ms.
        const lock = new Lock(backend, { runtime: client, recheckMs: 20 });
        const held = await drive(scheduler, lock.acquire('k', { ttlMs: 10_000 }));
        owners.length = 0; // The holder's own (immediately granted) queued call.
        const waiting = lock.acquire('k', { ttlMs: 10_000 });
        await scheduler.run({ untilMs: scheduler.nowMs + 1_000 });
        await held.release();
        const next = await drive(scheduler, waiting);
        expect(owners.length).toBeGreaterThanOrEqual(5);
        expect(new Set(owners).size).toBe(keepsQueuePlace ? 1 : owners.length);
        expect(next.owner).toBe(owners.at(-1));
        await lock.close();
      },
    );

    it("anchors a grant a later chunk finds at the first chunk's send time (its TTL started then)", async () => {
      const { scheduler, backend: inner, client } = setup();
      let grantedAt: number | undefined;
      const backend: LockBackend = {
        ...queued(inner, false).backend,
        keepsQueuePlace: true,
        acquireQueued: (_k, _ow, ttlMs, o) => {
          if (grantedAt !== undefined) {
            // What the Redis backend answers when its owner already holds the key: the token.
            return Promise.resolve({ kind: 'acquired', token: 7n, ttlMs });
          }
          // The first chunk: the server hands the key over 150 ms in; the answer is lost.
          client.timers.setTimer(150, () => {
            grantedAt = scheduler.nowMs;
          });
          return new Promise((resolve) => {
            o.signal.addEventListener(
              'abort',
              () => resolve({ kind: 'busy', retryAfterMs: undefined }),
              { once: true },
            );
          });
        },
      };
      // recheckMs 20: chunks of 200 ms, so the second chunk finds the grant of the first.
      const lock = new Lock(backend, { runtime: client, recheckMs: 20 });
      const lease = await drive(scheduler, lock.acquire('k', { ttlMs: 1_000 }));
      expect(grantedAt).toBe(150);
      expect(scheduler.nowMs).toBeGreaterThanOrEqual(200);
      // The server expires the key at grantedAt + 1000; the client must stop believing before.
      expect(scheduler.nowMs + lease.remainingMs()).toBeLessThanOrEqual(150 + 1_000);
      await lock.close();
    });

    it('uses a fresh queued grant without a confirming extend, anchored or not', async () => {
      for (const anchored of [false, true]) {
        const { scheduler, backend: inner, client } = setup();
        const { backend, count } = queued(inner, anchored);
        const lock = new Lock(backend, { runtime: client });
        const lease = await drive(scheduler, lock.acquire('k', { ttlMs: 1_000 }));
        expect(lease.valid).toBe(true);
        expect(count.extend).toBe(0);
        await lock.close();
      }
    });

    it.each([false, true])(
      'anchors a queued grant (anchored: %s) at the send time, and confirms it once half its validity is spent',
      async (anchored) => {
        const { scheduler, backend: inner, client } = setup();
        const { backend, count } = queued(inner, anchored);
        const lock = new Lock(backend, { runtime: client });
        const first = await drive(scheduler, lock.acquire('k', { ttlMs: 1_000 }));
        // A short wait: the deadline still counts from the waiter's send time.
        const sentAt = scheduler.nowMs;
        const short = lock.acquire('k', { ttlMs: 1_000 });
        await scheduler.run({ untilMs: sentAt + 200 });
        await first.release();
        const second = await drive(scheduler, short);
        expect(count.extend).toBe(0);
        expect(scheduler.nowMs + second.remainingMs()).toBeLessThanOrEqual(
          sentAt + 1_000 * 0.99 - 2,
        );
        // A long wait (over half the TTL): the grant is confirmed, the deadline re-anchored.
        const longSentAt = scheduler.nowMs;
        const long = lock.acquire('k', { ttlMs: 1_000 });
        await scheduler.run({ untilMs: longSentAt + 700 });
        await second.release();
        const third = await drive(scheduler, long);
        expect(count.extend).toBe(1);
        expect(scheduler.nowMs + third.remainingMs()).toBeGreaterThan(longSentAt + 1_000);
        await lock.close();
      },
    );
  });

  describe('leases nobody observes', () => {
    it('arm no deadline timer until the signal or a loss listener is asked for', async () => {
      const { scheduler, lock, client } = setup();
      const a = await drive(scheduler, lock.acquire('a', { ttlMs: 1_000 }));
      const b = await drive(scheduler, lock.acquire('b', { ttlMs: 1_000 }));
      expect(client.timers.pending).toBe(0);
      const signal = a.signal;
      expect(client.timers.pending).toBe(1);
      let lost: unknown;
      b.onLost((e) => (lost = e));
      expect(client.timers.pending).toBe(2);
      await scheduler.run({ untilMs: scheduler.nowMs + 1_000 });
      expect(signal.aborted).toBe(true);
      expect((signal.reason as LockLostError).reason).toBe('expired');
      expect(isLockLostError(lost)).toBe(true);
      expect(client.timers.pending).toBe(0);
    });

    it('still end at the deadline for every synchronous check', async () => {
      const { scheduler, lock } = setup();
      const lease = await drive(scheduler, lock.acquire('a', { ttlMs: 1_000 }));
      expect(lease.valid).toBe(true);
      await scheduler.run({ untilMs: scheduler.nowMs + 1_000 });
      expect(lease.valid).toBe(false);
      expect(lease.remainingMs()).toBe(0);
      expect(() => lease.assertValid()).toThrow(LockLostError);
      expect(lease.signal.aborted).toBe(true);
    });

    it('are swept from the client once expired, so close() does not release them all', async () => {
      const { scheduler, backend: inner, client } = setup();
      let releases = 0;
      const backend: LockBackend = {
        name: 'counting',
        guarantees: inner.guarantees,
        tryAcquire: (k, ow, t, o) => inner.tryAcquire(k, ow, t, o),
        extend: (k, ow, tok, t, o) => inner.extend(k, ow, tok, t, o),
        release: (k, ow, o) => {
          releases++;
          return inner.release(k, ow, o);
        },
        holder: (k, o) => inner.holder(k, o),
        waitForChange: (k, o) => inner.waitForChange(k, o),
      };
      const lock = new Lock(backend, { runtime: client });
      for (let i = 0; i < 100; i++)
        await drive(scheduler, lock.tryAcquire(`e${i}`, { ttlMs: 100 }));
      await scheduler.run({ untilMs: scheduler.nowMs + 1_000 });
      let live: Lease | null = null;
      for (let i = 0; i < 100; i++)
        live = await drive(scheduler, lock.tryAcquire(`l${i}`, { ttlMs: 10_000 }));
      await drive(scheduler, lock.close());
      // Without the sweep close() would release all 200; the 100 expired ones were dropped.
      expect(releases).toBe(100);
      expect(live?.valid).toBe(false);
    });
  });
});

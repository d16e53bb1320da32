import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import { lockBackendConformance, semaphoreBackendConformance } from './conformance.js';
import { MemoryLockBackend, MemorySemaphoreBackend } from './memory.js';
import { TooManyWaitersError, isBackendUnavailableError } from './errors.js';

function setup(options: { maxKeys?: number; maxWaitersPerKey?: number } = {}) {
  const scheduler = new Scheduler({ seed: 1 });
  const runtime = createSimRuntime(scheduler, 'server');
  const backend = new MemoryLockBackend({ runtime, ...options });
  return { scheduler, runtime, backend };
}

const call = () => ({ signal: new AbortController().signal });

lockBackendConformance({ describe, it, expect }, 'memory', async () => {
  const { scheduler, backend } = setup();
  return {
    backend,
    elapse: async (ms: number) => scheduler.runFor(ms),
    cleanup: async () => backend.close(),
  };
});

semaphoreBackendConformance({ describe, it, expect }, 'memory', async () => {
  const scheduler = new Scheduler({ seed: 2 });
  const backend = new MemorySemaphoreBackend({ runtime: createSimRuntime(scheduler, 'server') });
  return {
    backend,
    elapse: async (ms: number) => scheduler.runFor(ms),
    cleanup: async () => backend.close(),
  };
});

describe('MemoryLockBackend', () => {
  it('serves queued waiters in FIFO order as the key frees', async () => {
    const { backend } = setup();
    const first = await backend.tryAcquire('k', 'a', 1_000, call());
    expect(first.kind).toBe('acquired');
    const order: string[] = [];
    const waits = ['b', 'c', 'd'].map((owner) =>
      backend.acquireQueued('k', owner, 1_000, call()).then((r) => {
        order.push(owner);
        return r;
      }),
    );
    // A plain tryAcquire must not jump the queue.
    expect((await backend.tryAcquire('k', 'x', 1_000, call())).kind).toBe('busy');
    await backend.release('k', 'a', call());
    await Promise.resolve();
    await backend.release('k', 'b', call());
    await Promise.resolve();
    await backend.release('k', 'c', call());
    const results = await Promise.all(waits);
    expect(order).toEqual(['b', 'c', 'd']);
    const tokens = results.map((r) => (r.kind === 'acquired' ? r.token : -1n));
    expect(tokens[0]! < tokens[1]! && tokens[1]! < tokens[2]!).toBe(true);
  });

  it('grants the queue head when the holder expires (timer-driven, no polling)', async () => {
    const { scheduler, backend } = setup();
    await backend.tryAcquire('k', 'a', 100, call());
    let granted = false;
    const wait = backend.acquireQueued('k', 'b', 100, call()).then((r) => {
      granted = r.kind === 'acquired';
    });
    scheduler.runFor(99);
    await Promise.resolve();
    expect(granted).toBe(false);
    scheduler.runFor(1);
    await wait;
    expect(granted).toBe(true);
  });

  it('removes an aborted queued waiter and answers busy', async () => {
    const { backend } = setup();
    await backend.tryAcquire('k', 'a', 1_000, call());
    const controller = new AbortController();
    const wait = backend.acquireQueued('k', 'b', 1_000, { signal: controller.signal });
    controller.abort();
    expect(await wait).toEqual({ kind: 'busy', retryAfterMs: undefined });
    await backend.release('k', 'a', call());
    expect(await backend.holder('k', call())).toBeNull();
    expect(backend.activeKeys).toBe(0);
  });

  it('bounds waiters per key and keys overall', async () => {
    const { backend } = setup({ maxWaitersPerKey: 2, maxKeys: 2 });
    await backend.tryAcquire('k', 'a', 1_000, call());
    void backend.acquireQueued('k', 'b', 1_000, call());
    void backend.waitForChange('k', call());
    await expect(backend.acquireQueued('k', 'c', 1_000, call())).rejects.toBeInstanceOf(
      TooManyWaitersError,
    );
    await backend.tryAcquire('k2', 'a', 1_000, call());
    const third = backend.tryAcquire('k3', 'a', 1_000, call());
    await expect(third).rejects.toSatisfy(isBackendUnavailableError);
    backend.close();
  });

  it('forgets idle keys and leaves no timer after release or close', async () => {
    const { runtime, backend } = setup();
    await backend.tryAcquire('k', 'a', 1_000, call());
    expect(runtime.timers.pending).toBe(1);
    await backend.release('k', 'a', call());
    expect(backend.activeKeys).toBe(0);
    expect(runtime.timers.pending).toBe(0);
    await backend.tryAcquire('k', 'a', 1_000, call());
    backend.close();
    expect(runtime.timers.pending).toBe(0);
    await expect(backend.tryAcquire('k', 'a', 1_000, call())).rejects.toSatisfy(
      isBackendUnavailableError,
    );
  });

  it('rejects bad arguments with a RangeError naming the field', async () => {
    const { backend } = setup();
    await expect(backend.tryAcquire('', 'a', 1_000, call())).rejects.toThrow(/key/);
    await expect(backend.tryAcquire('k', 'a', 0, call())).rejects.toThrow(RangeError);
    await expect(backend.tryAcquire('k', '', 10, call())).rejects.toThrow(/owner/);
    expect(() => new MemoryLockBackend({ maxKeys: 0 })).toThrow(/maxKeys/);
  });
});

type Op =
  | { kind: 'acquire'; owner: number; ttl: number }
  | { kind: 'extend'; owner: number; ttl: number }
  | { kind: 'release'; owner: number }
  | { kind: 'advance'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('acquire' as const),
    owner: fc.nat(3),
    ttl: fc.integer({ min: 1, max: 50 }),
  }),
  fc.record({
    kind: fc.constant('extend' as const),
    owner: fc.nat(3),
    ttl: fc.integer({ min: 1, max: 50 }),
  }),
  fc.record({ kind: fc.constant('release' as const), owner: fc.nat(3) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40 }) }),
);

describe('MemoryLockBackend against a reference model', () => {
  it('agrees with a one-holder lease table on every answer, with increasing tokens', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), async (ops) => {
        const { scheduler, backend } = setup();
        // The reference: at most one holder, alive while now < expiresAt.
        let held: { owner: number; token: bigint; expiresAt: number } | undefined;
        const tokens = new Map<number, bigint>();
        let lastToken = 0n;
        const alive = () =>
          held !== undefined && scheduler.nowMs < held.expiresAt ? held : undefined;
        for (const op of ops) {
          if (op.kind === 'advance') {
            scheduler.runFor(op.ms);
            continue;
          }
          const owner = `o${op.owner}`;
          if (op.kind === 'acquire') {
            const r = await backend.tryAcquire('k', owner, op.ttl, call());
            expect(r.kind).toBe(alive() === undefined ? 'acquired' : 'busy');
            if (r.kind === 'acquired') {
              expect(r.token > lastToken).toBe(true);
              lastToken = r.token;
              tokens.set(op.owner, r.token);
              held = { owner: op.owner, token: r.token, expiresAt: scheduler.nowMs + op.ttl };
            }
          } else if (op.kind === 'extend') {
            const r = await backend.extend('k', owner, tokens.get(op.owner) ?? 0n, op.ttl, call());
            const h = alive();
            const mine = h !== undefined && h.owner === op.owner;
            expect(r.kind).toBe(mine ? 'extended' : 'lost');
            if (r.kind === 'lost') expect(r.reason).toBe(h === undefined ? 'expired' : 'stolen');
            if (mine) h.expiresAt = scheduler.nowMs + op.ttl;
          } else {
            await backend.release('k', owner, call());
            if (alive()?.owner === op.owner) held = undefined;
          }
          const h = alive();
          const holder = await backend.holder('k', call());
          expect(holder === null ? undefined : holder.token).toBe(h?.token);
        }
        backend.close();
      }),
      { numRuns: 200 },
    );
  });
});

describe('MemorySemaphoreBackend', () => {
  it('grants up to limit permits with distinct increasing tokens, expiring on server time', async () => {
    const scheduler = new Scheduler({ seed: 2 });
    const runtime = createSimRuntime(scheduler, 'server');
    const backend = new MemorySemaphoreBackend({ runtime });
    const a = await backend.tryAcquire('s', 'a', 2, 100, call());
    const b = await backend.tryAcquire('s', 'b', 2, 200, call());
    expect((await backend.tryAcquire('s', 'c', 2, 100, call())).kind).toBe('busy');
    expect(a.kind === 'acquired' && b.kind === 'acquired' && a.token < b.token).toBe(true);
    expect((await backend.holders('s', call())).map((h) => h.owner)).toEqual(['a', 'b']);
    scheduler.runFor(100);
    expect((await backend.holders('s', call())).map((h) => h.owner)).toEqual(['b']);
    const c = await backend.tryAcquire('s', 'c', 2, 100, call());
    expect(c.kind === 'acquired' && b.kind === 'acquired' && c.token > b.token).toBe(true);
    expect(await backend.extend('s', 'a', 1n, 100, call())).toEqual({
      kind: 'lost',
      reason: 'expired',
    });
    backend.close();
    expect(runtime.timers.pending).toBe(0);
  });
});

describe('MemorySemaphoreBackend with leases of several permits', () => {
  const semOp = fc.oneof(
    fc.record({
      kind: fc.constant('acquire' as const),
      owner: fc.integer({ min: 0, max: 4 }),
      permits: fc.integer({ min: 1, max: 4 }),
      ttl: fc.integer({ min: 1, max: 60 }),
    }),
    fc.record({ kind: fc.constant('release' as const), owner: fc.integer({ min: 0, max: 4 }) }),
    fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40 }) }),
  );

  it('agrees with a reference permit table on every answer: all or none, never past the limit', async () => {
    const LIMIT = 4;
    await fc.assert(
      fc.asyncProperty(fc.array(semOp, { maxLength: 40 }), async (ops) => {
        const scheduler = new Scheduler({ seed: 3 });
        const backend = new MemorySemaphoreBackend({
          runtime: createSimRuntime(scheduler, 'server'),
        });
        // The reference: owner -> permits and server-side expiry, alive while now < expiresAt.
        const held = new Map<number, { permits: number; expiresAt: number }>();
        const purge = (): void => {
          for (const [o, h] of held) if (scheduler.nowMs >= h.expiresAt) held.delete(o);
        };
        const used = (): number => [...held.values()].reduce((sum, h) => sum + h.permits, 0);
        for (const op of ops) {
          if (op.kind === 'advance') {
            scheduler.runFor(op.ms);
            continue;
          }
          purge();
          const owner = `o${op.owner}`;
          if (op.kind === 'acquire') {
            const options = { signal: new AbortController().signal, permits: op.permits };
            const r = await backend.tryAcquire('k', owner, LIMIT, op.ttl, options);
            const fits = !held.has(op.owner) && used() + op.permits <= LIMIT;
            expect(r.kind).toBe(fits ? 'acquired' : 'busy');
            if (fits)
              held.set(op.owner, { permits: op.permits, expiresAt: scheduler.nowMs + op.ttl });
          } else {
            await backend.release('k', owner, call());
            held.delete(op.owner);
          }
          purge();
          const holders = await backend.holders('k', call());
          expect(holders.map((h) => [h.owner, h.permits ?? 1]).sort()).toEqual(
            [...held].map(([o, h]) => [`o${o}`, h.permits]).sort(),
          );
          expect(used()).toBeLessThanOrEqual(LIMIT);
        }
        await backend.close();
      }),
      { numRuns: 150 },
    );
  });
});

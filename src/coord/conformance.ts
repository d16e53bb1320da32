/**
 * Conformance suites for {@link LockBackend} and {@link SemaphoreBackend} implementations. Adapters run it from their own test
 * files against a real server, so every backend is held to the same SPI contract. It imports no
 * test framework: pass vitest's `describe`, `it` and `expect`.
 *
 * @example
 * import { describe, it, expect } from 'vitest';
 * import { lockBackendConformance } from '../../coord/conformance.js';
 * lockBackendConformance({ describe, it, expect }, 'redis', async () => ({ backend: new RedisLockBackend(redis) }));
 *
 * @module
 */
import type { LockBackend, SemaphoreBackend, SemaphoreCallOptions } from './types.js';

/** The part of a test framework the suite uses (vitest's shapes fit). */
export interface TestApi {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>): void;
  expect(value: unknown): {
    toBe(expected: unknown): void;
    toEqual(expected: unknown): void;
    toBeNull(): void;
    toBeGreaterThan(n: number | bigint): void;
    toBeLessThanOrEqual(n: number | bigint): void;
  };
}

/** What the suite needs from the harness for each test. */
export interface ConformanceFixture {
  readonly backend: LockBackend;
  /**
   * Makes `ms` milliseconds of server time pass (advance a simulated clock, or sleep for a real
   * server). Without it the expiry tests are left out.
   */
  readonly elapse?: (ms: number) => Promise<void>;
  /** Called after each test (close clients, stop servers). */
  readonly cleanup?: () => Promise<void>;
}

const opts = (): { signal: AbortSignal } => ({ signal: new AbortController().signal });

let counter = 0;
/** A key no other test of the run uses. */
function freshKey(prefix: string): string {
  counter += 1;
  return `conformance/${prefix}/${counter}`;
}

async function withFixture(
  make: () => Promise<ConformanceFixture>,
  body: (f: ConformanceFixture) => Promise<void>,
): Promise<void> {
  const fixture = await make();
  try {
    await body(fixture);
  } finally {
    await fixture.cleanup?.();
  }
}

function grantedToken(result: Awaited<ReturnType<LockBackend['tryAcquire']>>): bigint {
  if (result.kind !== 'acquired')
    throw new Error(`expected a grant, got ${JSON.stringify(result)}`);
  return result.token;
}

/** Registers the conformance tests of a {@link LockBackend} under `describe(name)`. */
export function lockBackendConformance(
  t: TestApi,
  name: string,
  make: () => Promise<ConformanceFixture>,
): void {
  t.describe(`LockBackend conformance: ${name}`, () => {
    grantTests(t, make);
    lifecycleTests(t, make);
  });
}

/** Grant, busy and token-order tests. */
function grantTests(t: TestApi, make: () => Promise<ConformanceFixture>): void {
  const { it, expect } = t;
  it('grants a free key with a positive token and the applied ttl', () =>
    withFixture(make, async ({ backend }) => {
      const r = await backend.tryAcquire(freshKey('grant'), 'owner-a', 5_000, opts());
      expect(grantedToken(r) > 0n).toBe(true);
      if (r.kind === 'acquired') {
        expect(r.ttlMs).toBeGreaterThan(0);
        expect(r.ttlMs).toBeLessThanOrEqual(5_000);
      }
    }));

  it('answers busy to everyone else, including a second acquire by the same owner', () =>
    withFixture(make, async ({ backend }) => {
      const key = freshKey('busy');
      grantedToken(await backend.tryAcquire(key, 'owner-a', 5_000, opts()));
      expect((await backend.tryAcquire(key, 'owner-b', 5_000, opts())).kind).toBe('busy');
      expect((await backend.tryAcquire(key, 'owner-a', 5_000, opts())).kind).toBe('busy');
    }));

  it('issues strictly increasing tokens across releases', () =>
    withFixture(make, async ({ backend }) => {
      const key = freshKey('tokens');
      let last = 0n;
      for (let i = 0; i < 5; i++) {
        const token = grantedToken(await backend.tryAcquire(key, `owner-${i}`, 5_000, opts()));
        expect(token > last).toBe(true);
        last = token;
        await backend.release(key, `owner-${i}`, opts());
      }
    }));
}

/** Ownership, release, stealing, waiting and expiry tests. */
function lifecycleTests(t: TestApi, make: () => Promise<ConformanceFixture>): void {
  const { it, expect } = t;
  it('lets only the owner extend or release, and keeps the token on extend', () =>
    withFixture(make, async ({ backend }) => {
      const key = freshKey('owner');
      const token = grantedToken(await backend.tryAcquire(key, 'owner-a', 5_000, opts()));
      expect((await backend.extend(key, 'owner-b', token, 5_000, opts())).kind).toBe('lost');
      await backend.release(key, 'owner-b', opts());
      expect((await backend.holder(key, opts()))?.token).toBe(token);
      expect((await backend.extend(key, 'owner-a', token, 5_000, opts())).kind).toBe('extended');
      expect((await backend.holder(key, opts()))?.owner).toBe('owner-a');
    }));

  it('releases idempotently and reports an extend after release as lost', () =>
    withFixture(make, async ({ backend }) => {
      const key = freshKey('release');
      const token = grantedToken(await backend.tryAcquire(key, 'owner-a', 5_000, opts()));
      await backend.release(key, 'owner-a', opts());
      await backend.release(key, 'owner-a', opts());
      expect(await backend.holder(key, opts())).toBeNull();
      expect(await backend.extend(key, 'owner-a', token, 5_000, opts())).toEqual({
        kind: 'lost',
        reason: 'expired',
      });
    }));

  it('reports stolen when another owner holds the key', () =>
    withFixture(make, async ({ backend }) => {
      const key = freshKey('stolen');
      const token = grantedToken(await backend.tryAcquire(key, 'owner-a', 5_000, opts()));
      await backend.release(key, 'owner-a', opts());
      grantedToken(await backend.tryAcquire(key, 'owner-b', 5_000, opts()));
      expect(await backend.extend(key, 'owner-a', token, 5_000, opts())).toEqual({
        kind: 'lost',
        reason: 'stolen',
      });
    }));

  it('wakes a change waiter on release and rejects it on abort', () =>
    withFixture(make, async ({ backend }) => {
      const key = freshKey('wait');
      grantedToken(await backend.tryAcquire(key, 'owner-a', 5_000, opts()));
      const woke = backend.waitForChange(key, opts());
      await backend.release(key, 'owner-a', opts());
      await woke;
      const controller = new AbortController();
      const aborted = backend.waitForChange(key, { signal: controller.signal }).then(
        () => 'resolved',
        () => 'rejected',
      );
      controller.abort(new Error('stop'));
      const outcome = await aborted;
      // A spurious wake-up is allowed; hanging is not.
      expect(outcome === 'rejected' || outcome === 'resolved').toBe(true);
    }));

  it('expires a lease by server time and then grants a newer token', () =>
    withFixture(make, async ({ backend, elapse }) => {
      if (elapse === undefined) return;
      const key = freshKey('expiry');
      const token = grantedToken(await backend.tryAcquire(key, 'owner-a', 100, opts()));
      await elapse(150);
      expect(await backend.holder(key, opts())).toBeNull();
      expect((await backend.extend(key, 'owner-a', token, 100, opts())).kind).toBe('lost');
      const next = grantedToken(await backend.tryAcquire(key, 'owner-b', 100, opts()));
      expect(next > token).toBe(true);
    }));
}

// ---------------------------------------------------------------------------------------------
// SemaphoreBackend
// ---------------------------------------------------------------------------------------------

/** What the semaphore suite needs from the harness for each test. */
export interface SemaphoreConformanceFixture {
  readonly backend: SemaphoreBackend;
  /** As {@link ConformanceFixture.elapse}; without it the expiry tests are left out. */
  readonly elapse?: (ms: number) => Promise<void>;
  /**
   * How many waiters the server-side queue of `key` holds (for backends with `acquireQueued`).
   * Without it the suite lets a few microtask turns pass instead, which is enough only for an
   * in-process backend.
   */
  readonly queued?: (key: string) => Promise<number>;
  /** Called after each test (close clients, stop servers). */
  readonly cleanup?: () => Promise<void>;
}

/** Call options asking for `permits` permits. */
const take = (permits: number): SemaphoreCallOptions => ({
  signal: new AbortController().signal,
  permits,
});

async function withSemaphoreFixture(
  make: () => Promise<SemaphoreConformanceFixture>,
  body: (f: SemaphoreConformanceFixture) => Promise<void>,
): Promise<void> {
  const fixture = await make();
  try {
    await body(fixture);
  } finally {
    await fixture.cleanup?.();
  }
}

/** The error's constructor name when `pending` rejects, or `resolved`. */
async function outcomeOf(pending: Promise<unknown>): Promise<string> {
  try {
    await pending;
    return 'resolved';
  } catch (error) {
    return error instanceof Error ? error.constructor.name : typeof error;
  }
}

/** Resolves once the queue of `key` holds `n` waiters (bounded), or after a few turns without a probe. */
async function untilQueued(f: SemaphoreConformanceFixture, key: string, n: number): Promise<void> {
  if (f.queued === undefined) {
    for (let i = 0; i < 50; i++) await Promise.resolve();
    return;
  }
  for (let i = 0; i < 20_000; i++) {
    if ((await f.queued(key)) === n) return;
  }
  throw new Error(`the queue of ${key} never held ${n} waiter(s)`);
}

/**
 * Registers the conformance tests of a {@link SemaphoreBackend} under `describe(name)`: counting,
 * tokens, ownership, expiry, and, where the backend declares them, leases of several permits
 * (`multiPermit`) and FIFO queueing (`acquireQueued`).
 */
export function semaphoreBackendConformance(
  t: TestApi,
  name: string,
  make: () => Promise<SemaphoreConformanceFixture>,
): void {
  t.describe(`SemaphoreBackend conformance: ${name}`, () => {
    semaphoreGrantTests(t, make);
    semaphoreLifecycleTests(t, make);
    multiPermitTests(t, make);
    queueTests(t, make);
  });
}

function semaphoreGrantTests(t: TestApi, make: () => Promise<SemaphoreConformanceFixture>): void {
  const { it, expect } = t;
  it('grants up to the limit with increasing tokens, then answers busy (the same owner too)', () =>
    withSemaphoreFixture(make, async ({ backend }) => {
      const key = freshKey('sem-limit');
      const a = grantedToken(await backend.tryAcquire(key, 'owner-a', 2, 5_000, opts()));
      const b = grantedToken(await backend.tryAcquire(key, 'owner-b', 2, 5_000, opts()));
      expect(a > 0n && b > a).toBe(true);
      expect((await backend.tryAcquire(key, 'owner-c', 2, 5_000, opts())).kind).toBe('busy');
      await backend.release(key, 'owner-b', opts());
      expect((await backend.tryAcquire(key, 'owner-a', 2, 5_000, opts())).kind).toBe('busy');
      const holders = await backend.holders(key, opts());
      expect(holders.map((h) => h.owner)).toEqual(['owner-a']);
      expect(holders[0]?.remainingMs).toBeLessThanOrEqual(5_000);
    }));

  it('issues strictly increasing tokens across releases', () =>
    withSemaphoreFixture(make, async ({ backend }) => {
      const key = freshKey('sem-tokens');
      let last = 0n;
      for (let i = 0; i < 5; i++) {
        const token = grantedToken(await backend.tryAcquire(key, `owner-${i}`, 1, 5_000, opts()));
        expect(token > last).toBe(true);
        last = token;
        await backend.release(key, `owner-${i}`, opts());
      }
    }));
}

function semaphoreLifecycleTests(
  t: TestApi,
  make: () => Promise<SemaphoreConformanceFixture>,
): void {
  const { it, expect } = t;
  it('lets only the owner extend or release, keeps the token, and releases idempotently', () =>
    withSemaphoreFixture(make, async ({ backend }) => {
      const key = freshKey('sem-owner');
      const token = grantedToken(await backend.tryAcquire(key, 'owner-a', 3, 5_000, opts()));
      expect((await backend.extend(key, 'owner-b', token, 5_000, opts())).kind).toBe('lost');
      await backend.release(key, 'owner-b', opts());
      expect((await backend.holders(key, opts())).map((h) => h.token)).toEqual([token]);
      expect((await backend.extend(key, 'owner-a', token, 5_000, opts())).kind).toBe('extended');
      expect((await backend.extend(key, 'owner-a', token + 1n, 5_000, opts())).kind).toBe('lost');
      await backend.release(key, 'owner-a', opts());
      await backend.release(key, 'owner-a', opts());
      expect(await backend.holders(key, opts())).toEqual([]);
      expect((await backend.extend(key, 'owner-a', token, 5_000, opts())).kind).toBe('lost');
    }));

  it('wakes a change waiter on release', () =>
    withSemaphoreFixture(make, async ({ backend }) => {
      const key = freshKey('sem-wait');
      grantedToken(await backend.tryAcquire(key, 'owner-a', 1, 5_000, opts()));
      const woke = backend.waitForChange(key, opts());
      await backend.release(key, 'owner-a', opts());
      await woke;
    }));

  it('expires leases by server time, even 1 ms ones, and then grants newer tokens', () =>
    withSemaphoreFixture(make, async ({ backend, elapse }) => {
      if (elapse === undefined) return;
      const key = freshKey('sem-expiry');
      const token = grantedToken(await backend.tryAcquire(key, 'owner-a', 2, 100, opts()));
      const short = grantedToken(await backend.tryAcquire(key, 'owner-b', 2, 1, opts()));
      await elapse(150);
      expect(await backend.holders(key, opts())).toEqual([]);
      expect((await backend.extend(key, 'owner-a', token, 100, opts())).kind).toBe('lost');
      const next = grantedToken(await backend.tryAcquire(key, 'owner-c', 2, 100, opts()));
      expect(next > token && next > short).toBe(true);
    }));
}

function multiPermitTests(t: TestApi, make: () => Promise<SemaphoreConformanceFixture>): void {
  const { it, expect } = t;
  it('takes several permits as one lease, all or none, and frees them all on release', () =>
    withSemaphoreFixture(make, async ({ backend }) => {
      if (backend.multiPermit !== true) return;
      const key = freshKey('sem-multi');
      const two = grantedToken(await backend.tryAcquire(key, 'owner-a', 3, 5_000, take(2)));
      expect((await backend.tryAcquire(key, 'owner-b', 3, 5_000, take(2))).kind).toBe('busy');
      const one = grantedToken(await backend.tryAcquire(key, 'owner-c', 3, 5_000, take(1)));
      expect((await backend.tryAcquire(key, 'owner-d', 3, 5_000, opts())).kind).toBe('busy');
      const holders = await backend.holders(key, opts());
      expect(holders.map((h) => [h.token, h.permits ?? 1])).toEqual([
        [two, 2],
        [one, 1],
      ]);
      await backend.release(key, 'owner-a', opts());
      grantedToken(await backend.tryAcquire(key, 'owner-b', 3, 5_000, take(2)));
      expect((await backend.tryAcquire(key, 'owner-e', 3, 5_000, take(1))).kind).toBe('busy');
    }));

  it('refuses a permit count outside [1, limit] with a RangeError', () =>
    withSemaphoreFixture(make, async ({ backend }) => {
      if (backend.multiPermit !== true) return;
      const key = freshKey('sem-hostile');
      for (const permits of [0, 4, 1.5, Number.NaN, -1, Number.POSITIVE_INFINITY]) {
        const attempt = backend.tryAcquire(key, 'owner-a', 3, 5_000, take(permits));
        expect(await outcomeOf(attempt)).toBe('RangeError');
      }
      expect(await backend.holders(key, opts())).toEqual([]);
    }));
}

function queueTests(t: TestApi, make: () => Promise<SemaphoreConformanceFixture>): void {
  const { it, expect } = t;
  it('serves queued waiters in arrival order; the head blocks smaller requests and newcomers', () =>
    withSemaphoreFixture(make, async (f) => {
      const { backend } = f;
      const queued = backend.acquireQueued?.bind(backend);
      if (queued === undefined || backend.multiPermit !== true) return;
      const key = freshKey('sem-fifo');
      const held = grantedToken(await backend.tryAcquire(key, 'holder', 2, 5_000, opts()));
      const order: string[] = [];
      const big = queued(key, 'big', 2, 5_000, take(2)).then((r) => (order.push('big'), r));
      await untilQueued(f, key, 1);
      // One permit is free, but the head of the queue needs two: nobody overtakes it.
      expect((await backend.tryAcquire(key, 'newcomer', 2, 5_000, opts())).kind).toBe('busy');
      const small = queued(key, 'small', 2, 5_000, opts()).then((r) => (order.push('small'), r));
      await untilQueued(f, key, 2);
      expect(order).toEqual([]);
      await backend.release(key, 'holder', opts());
      const bigToken = grantedToken(await big);
      expect(bigToken > held).toBe(true);
      expect(order).toEqual(['big']);
      await backend.release(key, 'big', opts());
      expect(grantedToken(await small) > bigToken).toBe(true);
      expect(order).toEqual(['big', 'small']);
      await backend.release(key, 'small', opts());
    }));

  it('lets a waiter that gives up leave the queue without a grant', () =>
    withSemaphoreFixture(make, async (f) => {
      const { backend } = f;
      const queued = backend.acquireQueued?.bind(backend);
      if (queued === undefined) return;
      const key = freshKey('sem-leave');
      grantedToken(await backend.tryAcquire(key, 'holder', 1, 5_000, opts()));
      const controller = new AbortController();
      const gaveUp = queued(key, 'quitter', 1, 5_000, { signal: controller.signal });
      await untilQueued(f, key, 1);
      controller.abort(new Error('gave up'));
      const outcome = await gaveUp.then(
        (r) => r.kind,
        () => 'rejected',
      );
      expect(outcome === 'busy' || outcome === 'rejected').toBe(true);
      await untilQueued(f, key, 0);
      await backend.release(key, 'holder', opts());
      // The quitter got nothing: the permit is free for a newcomer.
      grantedToken(await backend.tryAcquire(key, 'newcomer', 1, 5_000, opts()));
      expect((await backend.holders(key, opts())).map((h) => h.owner)).toEqual(['newcomer']);
    }));
}

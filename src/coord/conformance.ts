/**
 * A conformance suite for {@link LockBackend} implementations. Adapters run it from their own test
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
import type { LockBackend } from './types.js';

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

/**
 * A conformance suite for {@link IdempotencyStore} implementations: every store (memory, Redis,
 * PostgreSQL) is held to the same contract, including the fencing of completion and deletion by
 * owner and epoch. It imports no test framework: pass vitest's `describe`, `it` and `expect`.
 *
 * @module
 */
import type { IdempotencyStore, StoredOutcome } from './types.js';

/** The part of a test framework the suite uses (vitest's shapes fit). */
export interface StoreTestApi {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>): void;
  expect(value: unknown): {
    toBe(expected: unknown): void;
    toEqual(expected: unknown): void;
    toBeNull(): void;
    toBeGreaterThan(n: number): void;
    toBeLessThanOrEqual(n: number): void;
  };
}

/** What the suite needs for each test. */
export interface StoreFixture {
  readonly store: IdempotencyStore;
  /** Makes `ms` of the store's time pass (advance a simulated clock, or sleep for a real server). */
  readonly elapse: (ms: number) => Promise<void>;
  /** Called after each test. */
  readonly cleanup?: () => Promise<void>;
}

const call = (): { signal: AbortSignal } => ({ signal: new AbortController().signal });
const LONG = 60_000;
/** The lease of the expiry tests; `elapse(SHORT * 2)` is well past it. */
const SHORT = 100;
const value = (data: string): StoredOutcome => ({ kind: 'value', data });

let counter = 0;
function freshKey(prefix: string): string {
  counter += 1;
  return `idem-conformance/${prefix}/${counter}`;
}

/** Registers the suite under `describe('<name> idempotency store')`. */
export function idempotencyStoreConformance(
  t: StoreTestApi,
  name: string,
  make: () => Promise<StoreFixture>,
): void {
  const { describe, it, expect } = t;
  const test = (title: string, body: (f: StoreFixture) => Promise<void>): void =>
    it(title, async () => {
      const f = await make();
      try {
        await body(f);
      } finally {
        await f.cleanup?.();
      }
    });

  describe(`${name} idempotency store`, () => {
    test('starts a new key at epoch 1, then reports it in progress to another owner', async ({
      store,
    }) => {
      const key = freshKey('new');
      const first = await store.begin(
        { key, fingerprint: 'f', owner: 'a', leaseMs: LONG, ttlMs: LONG },
        call(),
      );
      expect(first).toEqual({ kind: 'started', epoch: 1, takeover: false });
      const second = await store.begin(
        { key, fingerprint: 'f', owner: 'b', leaseMs: LONG, ttlMs: LONG },
        call(),
      );
      expect(second.kind).toBe('in-progress');
      if (second.kind === 'in-progress') {
        expect(second.retryAfterMs).toBeGreaterThan(0);
        expect(second.retryAfterMs).toBeLessThanOrEqual(LONG);
      }
    });

    test('reports a different fingerprint under the same key as a mismatch', async ({ store }) => {
      const key = freshKey('mismatch');
      await store.begin({ key, fingerprint: 'f1', owner: 'a', leaseMs: LONG, ttlMs: LONG }, call());
      const other = await store.begin(
        { key, fingerprint: 'f2', owner: 'b', leaseMs: LONG, ttlMs: LONG },
        call(),
      );
      expect(other).toEqual({ kind: 'mismatch', storedFingerprint: 'f1' });
    });

    test('completes for the owner at its epoch and replays the outcome', async ({ store }) => {
      const key = freshKey('complete');
      await store.begin({ key, fingerprint: 'f', owner: 'a', leaseMs: LONG, ttlMs: LONG }, call());
      expect(await store.complete(key, 'b', 1, value('x'), LONG, call())).toBe('fenced');
      expect(await store.complete(key, 'a', 2, value('x'), LONG, call())).toBe('fenced');
      expect(await store.complete(key, 'a', 1, value('"ok"'), LONG, call())).toBe('ok');
      const again = await store.begin(
        { key, fingerprint: 'f', owner: 'c', leaseMs: LONG, ttlMs: LONG },
        call(),
      );
      expect(again).toEqual({ kind: 'completed', outcome: value('"ok"') });
      // A completed record cannot be completed again or deleted, even by its owner.
      expect(await store.complete(key, 'a', 1, value('"other"'), LONG, call())).toBe('fenced');
      expect(await store.release(key, 'a', 1, call())).toBe('fenced');
      const rec = await store.get(key, call());
      expect(rec?.state).toBe('completed');
      expect(rec?.outcome).toEqual(value('"ok"'));
      expect(rec?.epoch).toBe(1);
    });

    test('stores recorded failures as error outcomes', async ({ store }) => {
      const key = freshKey('error');
      await store.begin({ key, fingerprint: 'f', owner: 'a', leaseMs: LONG, ttlMs: LONG }, call());
      const failure: StoredOutcome = { kind: 'error', data: '{"name":"E","message":"m"}' };
      expect(await store.complete(key, 'a', 1, failure, LONG, call())).toBe('ok');
      const again = await store.begin(
        { key, fingerprint: 'f', owner: 'b', leaseMs: LONG, ttlMs: LONG },
        call(),
      );
      expect(again).toEqual({ kind: 'completed', outcome: failure });
    });

    test('release (forget) deletes only the holder’s in-progress record', async ({ store }) => {
      const key = freshKey('release');
      await store.begin({ key, fingerprint: 'f', owner: 'a', leaseMs: LONG, ttlMs: LONG }, call());
      expect(await store.release(key, 'b', 1, call())).toBe('fenced');
      expect(await store.release(key, 'a', 1, call())).toBe('ok');
      expect(await store.get(key, call())).toBeNull();
      const again = await store.begin(
        { key, fingerprint: 'f2', owner: 'b', leaseMs: LONG, ttlMs: LONG },
        call(),
      );
      expect(again.kind).toBe('started');
    });

    test('a takeover after the lease expired fences the late invocation', async ({
      store,
      elapse,
    }) => {
      const key = freshKey('takeover');
      await store.begin(
        { key, fingerprint: 'f', owner: 'late', leaseMs: SHORT, ttlMs: LONG },
        call(),
      );
      await elapse(SHORT * 2);
      const retry = await store.begin(
        { key, fingerprint: 'f', owner: 'retry', leaseMs: LONG, ttlMs: LONG },
        call(),
      );
      expect(retry).toEqual({ kind: 'started', epoch: 2, takeover: true });
      // The invocation that timed out finishes late: it can neither complete, renew nor delete.
      expect(await store.complete(key, 'late', 1, value('"late"'), LONG, call())).toBe('fenced');
      expect(await store.extend(key, 'late', 1, LONG, call())).toBe('fenced');
      expect(await store.release(key, 'late', 1, call())).toBe('fenced');
      const rec = await store.get(key, call());
      expect(rec?.state).toBe('in-progress');
      expect(rec?.owner).toBe('retry');
      expect(rec?.epoch).toBe(2);
      expect(await store.complete(key, 'retry', 2, value('"retry"'), LONG, call())).toBe('ok');
      const replay = await store.begin(
        { key, fingerprint: 'f', owner: 'x', leaseMs: LONG, ttlMs: LONG },
        call(),
      );
      expect(replay).toEqual({ kind: 'completed', outcome: value('"retry"') });
    });

    test('extend keeps the lease past its first expiry', async ({ store, elapse }) => {
      const key = freshKey('extend');
      await store.begin(
        { key, fingerprint: 'f', owner: 'a', leaseMs: SHORT * 3, ttlMs: LONG },
        call(),
      );
      await elapse(SHORT * 2);
      expect(await store.extend(key, 'a', 1, SHORT * 3, call())).toBe('ok');
      await elapse(SHORT * 2);
      const other = await store.begin(
        { key, fingerprint: 'f', owner: 'b', leaseMs: LONG, ttlMs: LONG },
        call(),
      );
      expect(other.kind).toBe('in-progress');
    });

    test('an expired completed record counts as absent and is reaped', async ({
      store,
      elapse,
    }) => {
      const key = freshKey('expire');
      await store.begin({ key, fingerprint: 'f', owner: 'a', leaseMs: LONG, ttlMs: LONG }, call());
      expect(await store.complete(key, 'a', 1, value('1'), SHORT, call())).toBe('ok');
      await elapse(SHORT * 2);
      expect(await store.get(key, call())).toBeNull();
      const reaped = await store.reap(1_000, call());
      expect(reaped).toBeLessThanOrEqual(1_000);
      const again = await store.begin(
        { key, fingerprint: 'other', owner: 'b', leaseMs: LONG, ttlMs: LONG },
        call(),
      );
      expect(again.kind).toBe('started');
    });
  });
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AbortedError } from '../core/errors.js';
import { createSimRuntime, Scheduler } from '../sim/index.js';
import { RetryBudget } from './budget.js';
import { isRetryBudgetExhaustedError } from './errors.js';
import type { ExecuteContext } from './policy.js';
import { Retry } from './retry.js';
import type { RetryEvent } from './retry.js';

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

function sim(seed = 1) {
  const scheduler = new Scheduler({ seed });
  const runtime = createSimRuntime(scheduler, 'retry');
  /** Drives the simulation until `promise` settles. */
  async function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
    let out: Settled<T> | undefined;
    promise.then(
      (value) => (out = { ok: true, value }),
      (error: unknown) => (out = { ok: false, error }),
    );
    await scheduler.run({ until: () => out !== undefined, untilMs: 10_000_000 });
    if (out === undefined) throw new Error('the promise did not settle');
    return out;
  }
  return { scheduler, runtime, settle };
}

/** A callee that fails `failures` times (recording virtual call times), then returns 'ok'. */
function flaky(
  runtime: { clock: { monotonicMs(): number } },
  failures: number,
  error: () => unknown = () => new Error('boom'),
) {
  const times: number[] = [];
  const fn = async (): Promise<string> => {
    times.push(runtime.clock.monotonicMs());
    if (times.length <= failures) throw error();
    return 'ok';
  };
  return { fn, times };
}

describe('Retry', () => {
  it('retries up to maxAttempts on the exponential schedule, then rethrows the last error', async () => {
    const { runtime, settle } = sim();
    const retry = new Retry({ maxAttempts: 4, backoff: { baseMs: 100, jitter: 'none' }, runtime });
    const { fn, times } = flaky(runtime, 10);
    const out = await settle(retry.execute(fn));
    expect(out.ok).toBe(false);
    expect(times).toEqual([0, 100, 300, 700]);
    expect(runtime.timers.pending).toBe(0);
  });

  it('returns the first success', async () => {
    const { runtime, settle } = sim();
    const retry = new Retry({ maxAttempts: 5, backoff: { baseMs: 10, jitter: 'none' }, runtime });
    const { fn, times } = flaky(runtime, 2);
    expect(await settle(retry.execute(fn))).toEqual({ ok: true, value: 'ok' });
    expect(times).toEqual([0, 10, 30]);
  });

  it('caps each delay at capMs', async () => {
    const { runtime, settle } = sim();
    const retry = new Retry({
      maxAttempts: 6,
      backoff: { baseMs: 100, capMs: 250, jitter: 'none' },
      runtime,
    });
    const { fn, times } = flaky(runtime, 10);
    await settle(retry.execute(fn));
    expect(times).toEqual([0, 100, 300, 550, 800, 1050]);
  });

  it('jittered delays stay within the formula bounds (seeded)', async () => {
    const { runtime, settle } = sim(99);
    const retry = new Retry({
      maxAttempts: 8,
      backoff: { baseMs: 10, capMs: 100, jitter: 'equal' },
      runtime,
    });
    const { fn, times } = flaky(runtime, 10);
    await settle(retry.execute(fn));
    for (let n = 1; n < times.length; n++) {
      const t = Math.min(100, 10 * 2 ** (n - 1));
      const gap = times[n]! - times[n - 1]!;
      // Virtual times are sums of fractional delays: allow a rounding margin on differences.
      expect(gap).toBeGreaterThanOrEqual(t / 2 - 1e-9);
      expect(gap).toBeLessThanOrEqual(t + 1e-9);
    }
  });

  it('does not start a retry that would end past maxElapsedMs', async () => {
    const { runtime, settle } = sim();
    const retry = new Retry({
      maxAttempts: 10,
      maxElapsedMs: 350,
      backoff: { baseMs: 100, jitter: 'none' },
      runtime,
    });
    const { fn, times } = flaky(runtime, 10);
    await settle(retry.execute(fn));
    expect(times).toEqual([0, 100, 300]);
  });

  it('honours retryAfterMs on the error instead of the backoff', async () => {
    const { runtime, settle } = sim();
    const retry = new Retry({ maxAttempts: 2, backoff: { baseMs: 10, jitter: 'none' }, runtime });
    const { fn, times } = flaky(runtime, 1, () =>
      Object.assign(new Error('429'), { retryAfterMs: 1234 }),
    );
    expect((await settle(retry.execute(fn))).ok).toBe(true);
    expect(times).toEqual([0, 1234]);
  });

  it('honours an HTTP-date Retry-After header read against the runtime wall clock', async () => {
    const { runtime, settle } = sim();
    const retry = new Retry({ maxAttempts: 2, backoff: { baseMs: 10, jitter: 'none' }, runtime });
    const at = new Date(runtime.clock.wallMs() + 5000).toUTCString();
    const { fn, times } = flaky(runtime, 1, () => ({
      status: 503,
      headers: { 'retry-after': at },
    }));
    expect((await settle(retry.execute(fn))).ok).toBe(true);
    expect(times).toEqual([0, 5000]);
  });

  it('gives up when the server asks for more than maxRetryAfterMs', async () => {
    const { runtime, settle } = sim();
    const retry = new Retry({ maxAttempts: 5, maxRetryAfterMs: 1000, runtime });
    const { fn, times } = flaky(runtime, 1, () => ({ retryAfter: '30' }));
    expect(await settle(retry.execute(fn))).toEqual({ ok: false, error: { retryAfter: '30' } });
    expect(times).toEqual([0]);
  });

  it('fails with RetryBudgetExhaustedError when the shared budget is empty', async () => {
    const { runtime, settle } = sim();
    const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0, runtime });
    const a = new Retry({
      maxAttempts: 3,
      backoff: { baseMs: 1, jitter: 'none' },
      budget,
      runtime,
    });
    const b = new Retry({
      maxAttempts: 3,
      backoff: { baseMs: 1, jitter: 'none' },
      budget,
      runtime,
    });
    const failing = flaky(runtime, 100);
    const out = await settle(a.execute(failing.fn));
    expect(out.ok).toBe(false);
    expect(isRetryBudgetExhaustedError(!out.ok && out.error)).toBe(true);
    expect(((out as { error: Error }).error.cause as Error).message).toBe('boom');
    expect(failing.times).toEqual([0]);
    // Two successes through b deposit one token, shared with a: one retry is now possible.
    await settle(b.execute(async () => 1));
    await settle(b.execute(async () => 1));
    const again = flaky(runtime, 100);
    const out2 = await settle(a.execute(again.fn));
    expect(isRetryBudgetExhaustedError(!out2.ok && out2.error)).toBe(true);
    expect(again.times.length).toBe(2);
  });

  it('never retries a non-idempotent call without an idempotency key', async () => {
    const { runtime, settle } = sim();
    const policyWide = new Retry({ maxAttempts: 5, idempotent: false, runtime });
    const one = flaky(runtime, 1);
    expect((await settle(policyWide.execute(one.fn))).ok).toBe(false);
    expect(one.times.length).toBe(1);

    const retry = new Retry({ maxAttempts: 5, backoff: { baseMs: 1 }, runtime });
    const two = flaky(runtime, 1);
    expect((await settle(retry.execute(two.fn, { idempotent: false }))).ok).toBe(false);
    expect(two.times.length).toBe(1);
  });

  it('retries a non-idempotent call that carries an idempotency key, passing the key along', async () => {
    const { runtime, settle } = sim();
    const retry = new Retry({ maxAttempts: 5, idempotent: false, backoff: { baseMs: 1 }, runtime });
    const keys: (string | undefined)[] = [];
    let calls = 0;
    const fn = async (ctx: ExecuteContext): Promise<string> => {
      keys.push(ctx.idempotencyKey);
      if (++calls < 3) throw new Error('boom');
      return 'charged';
    };
    expect(await settle(retry.execute(fn, { idempotencyKey: 'k-1' }))).toEqual({
      ok: true,
      value: 'charged',
    });
    expect(keys).toEqual(['k-1', 'k-1', 'k-1']);
  });

  it('stops waiting as soon as the signal aborts, leaving no timer', async () => {
    const { scheduler, runtime, settle } = sim();
    const retry = new Retry({ maxAttempts: 5, backoff: { baseMs: 1000, jitter: 'none' }, runtime });
    const controller = new AbortController();
    scheduler.after(500, () => controller.abort(new AbortedError('stop')));
    const { fn, times } = flaky(runtime, 10);
    const out = await settle(retry.execute(fn, controller.signal));
    expect(out.ok).toBe(false);
    expect((out as { error: Error }).error.message).toBe('stop');
    expect(times).toEqual([0]);
    expect(runtime.timers.pending).toBe(0);
  });

  it('does not retry aborts by default', async () => {
    const { runtime, settle } = sim();
    const retry = new Retry({ maxAttempts: 5, runtime });
    const { fn, times } = flaky(runtime, 10, () => new AbortedError());
    expect((await settle(retry.execute(fn))).ok).toBe(false);
    expect(times.length).toBe(1);
  });

  it('retries results that shouldRetry rejects, and returns the last one when out of attempts', async () => {
    const { runtime, settle } = sim();
    const seen: string[] = [];
    const retry = new Retry({
      maxAttempts: 3,
      backoff: { baseMs: 1 },
      shouldRetry: (o) => (o.kind === 'result' ? o.value === 'busy' : true),
      runtime,
    });
    expect(await settle(retry.execute(async () => (seen.push('x'), 'busy')))).toEqual({
      ok: true,
      value: 'busy',
    });
    expect(seen.length).toBe(3);
    let n = 0;
    expect(await settle(retry.execute(async () => (++n < 2 ? 'busy' : 'done')))).toEqual({
      ok: true,
      value: 'done',
    });
  });

  it('emits onRetry with the attempt and delay', async () => {
    const { runtime, settle } = sim();
    const retry = new Retry({ maxAttempts: 3, backoff: { baseMs: 10, jitter: 'none' }, runtime });
    const events: RetryEvent[] = [];
    const sub = retry.onRetry((e) => events.push(e));
    await settle(retry.execute(flaky(runtime, 10).fn));
    sub.dispose();
    expect(events.map((e) => [e.attempt, e.delayMs, e.outcome.kind])).toEqual([
      [0, 10, 'error'],
      [1, 20, 'error'],
    ]);
  });

  it('retries synchronous throws and returns synchronous values', async () => {
    const { runtime, settle } = sim();
    const retry = new Retry({ maxAttempts: 2, backoff: { baseMs: 1 }, runtime });
    let n = 0;
    const fn = (): number => {
      if (n++ === 0) throw new Error('sync');
      return 42;
    };
    expect(await settle(retry.execute(fn))).toEqual({ ok: true, value: 42 });
  });

  it('never exceeds maxAttempts, capMs or maxElapsedMs (property, seeded runs)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 10 }),
        fc.constantFrom('none', 'full', 'equal', 'decorrelated' as const),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 50, max: 400 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.integer(),
        async (maxAttempts, failures, jitter, baseMs, capMs, maxElapsedMs, seed) => {
          const { runtime, settle } = sim(seed);
          const retry = new Retry({
            maxAttempts,
            maxElapsedMs,
            backoff: { baseMs, capMs, jitter },
            runtime,
          });
          const { fn, times } = flaky(runtime, failures);
          const out = await settle(retry.execute(fn));
          expect(times.length).toBeLessThanOrEqual(maxAttempts);
          // Virtual times are sums of fractional delays: compare differences with a rounding margin.
          const eps = 1e-9;
          expect(times.at(-1)! - times[0]!).toBeLessThanOrEqual(maxElapsedMs + eps);
          for (let i = 1; i < times.length; i++)
            expect(times[i]! - times[i - 1]!).toBeLessThanOrEqual(capMs + eps);
          // It succeeds exactly when the success came within the attempts it was allowed to make.
          expect(out.ok).toBe(times.length === failures + 1);
          expect(runtime.timers.pending).toBe(0);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('validates options', () => {
    expect(() => new Retry({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => new Retry({ maxElapsedMs: -1 })).toThrow(/maxElapsedMs/);
    expect(() => new Retry({ maxRetryAfterMs: -1 })).toThrow(/maxRetryAfterMs/);
    expect(() => new Retry({ budget: {} as RetryBudget })).toThrow(/budget/);
    expect(() => new Retry({ shouldRetry: 1 as never })).toThrow(/shouldRetry/);
    expect(() => new Retry({ idempotent: 'false' as never })).toThrow(/idempotent/);
    expect(() => new Retry({ honourRetryAfter: 0 as never })).toThrow(/honourRetryAfter/);
  });
});

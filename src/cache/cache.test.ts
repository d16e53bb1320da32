import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { isAbortedError } from '../core/errors.js';
import { isTimeoutError } from '../resilience/errors.js';
import { createSimRuntime, Scheduler } from '../sim/index.js';
import type { CacheEvent, CacheOptions } from './cache.js';
import { Cache } from './cache.js';
import { isCacheClosedError, isCachedFailureError } from './errors.js';

function setup(options: Omit<CacheOptions<string>, 'runtime'> = {}) {
  const scheduler = new Scheduler({ seed: 7 });
  const runtime = createSimRuntime(scheduler, 'cache');
  const cache = new Cache<string>({ ...options, runtime });
  const events: CacheEvent[] = [];
  cache.onHit((e) => events.push(e));
  cache.onMiss((e) => events.push(e));
  cache.onStale((e) => events.push(e));
  cache.onLoad((e) => events.push(e));
  cache.onEvict((e) => events.push(e));
  let calls = 0;
  /** An origin that takes `ms` and answers `v<call number>`. */
  const origin =
    (ms = 50) =>
    async (signal: AbortSignal) => {
      const n = ++calls;
      await runtime.timers.sleep(ms, signal);
      return `v${n}`;
    };
  const count = (kind: CacheEvent['kind']) => events.filter((e) => e.kind === kind).length;
  return { scheduler, runtime, cache, events, origin, calls: () => calls, count };
}

describe('Cache.getOrLoad', () => {
  it('a cold key under 1,000 concurrent callers costs one origin call; then it hits', async () => {
    const { scheduler, cache, origin, calls, count } = setup({ ttlMs: 1_000 });
    const load = origin();
    const all = Array.from({ length: 1_000 }, () => cache.getOrLoad('k', load));
    await scheduler.run({ untilMs: 60 });
    expect(new Set(await Promise.all(all))).toEqual(new Set(['v1']));
    expect(calls()).toBe(1);
    expect(await cache.getOrLoad('k', load)).toBe('v1');
    expect([count('miss'), count('load'), count('hit')]).toEqual([1_000, 1, 1]);
  });

  it('reloads after the TTL and keeps per-call TTL overrides', async () => {
    const { scheduler, cache, origin, calls } = setup({ ttlMs: 1_000, beta: 0 });
    const load = origin(10);
    const first = cache.getOrLoad('k', load, { ttlMs: 100 });
    await scheduler.run({ untilMs: 20 });
    expect(await first).toBe('v1');
    await scheduler.run({ untilMs: 105 });
    expect(await cache.getOrLoad('k', load)).toBe('v1');
    await scheduler.run({ untilMs: 115 });
    const second = cache.getOrLoad('k', load);
    await scheduler.run({ untilMs: 130 });
    expect(await second).toBe('v2');
    expect(calls()).toBe(2);
  });

  it('stale-while-revalidate serves the stale value at once and refreshes once', async () => {
    const { scheduler, cache, origin, calls, count } = setup({ ttlMs: 100, staleMs: 500, beta: 0 });
    const load = origin(50);
    const first = cache.getOrLoad('k', load);
    await scheduler.run({ untilMs: 60 });
    await first;
    await scheduler.run({ untilMs: 200 }); // expired at 150, stale until 650
    const stale = await Promise.all(Array.from({ length: 100 }, () => cache.getOrLoad('k', load)));
    expect(new Set(stale)).toEqual(new Set(['v1']));
    expect(count('stale')).toBe(100);
    await scheduler.run({ untilMs: 260 });
    expect(calls()).toBe(2);
    expect(await cache.getOrLoad('k', load)).toBe('v2');
  });

  it('beyond the grace a caller waits for the load', async () => {
    const { scheduler, cache, origin } = setup({ ttlMs: 100, staleMs: 100, beta: 0 });
    const load = origin(50);
    const first = cache.getOrLoad('k', load);
    await scheduler.run({ untilMs: 60 });
    await first;
    await scheduler.run({ untilMs: 400 });
    let got: string | undefined;
    void cache.getOrLoad('k', load).then((v) => (got = v));
    await scheduler.run({ untilMs: 420 });
    expect(got).toBeUndefined();
    await scheduler.run({ untilMs: 460 });
    expect(got).toBe('v2');
  });

  it('XFetch refreshes before expiry, once per window, while every caller is served from cache', async () => {
    const { scheduler, cache, origin, calls, events } = setup({ ttlMs: 1_000, beta: 1 });
    const load = origin(200); // δ = 200 ms
    const first = cache.getOrLoad('k', load);
    await scheduler.run({ untilMs: 200 });
    expect(await first).toBe('v1'); // expires at 1,200
    let waited = 0;
    for (let t = 210; t < 1_200; t += 5) {
      await scheduler.run({ untilMs: t });
      let done = false;
      void cache.getOrLoad('k', load).then(() => (done = true));
      await Promise.resolve();
      await Promise.resolve();
      if (!done) waited++;
    }
    expect(waited).toBe(0);
    const early = events.filter((e) => e.kind === 'hit' && e.early);
    expect(early.length).toBeGreaterThan(0);
    // The try-lock: hits that draw "early" while the refresh runs do not start another one.
    expect(calls()).toBeLessThanOrEqual(3);
    expect(calls()).toBeGreaterThanOrEqual(2);
  });

  it('measures δ per key: a slow key refreshes earlier than a fast one', async () => {
    const { scheduler, runtime, cache, events } = setup({ ttlMs: 10_000, beta: 1 });
    const slow = async () => {
      await runtime.timers.sleep(2_000);
      return 'slow';
    };
    const fast = async () => {
      await runtime.timers.sleep(10);
      return 'fast';
    };
    const firstEarly: Record<string, number> = {};
    cache.onHit((e) => {
      if (e.early) firstEarly[e.key] ??= scheduler.nowMs;
    });
    const keys = Array.from({ length: 20 }, (_, i) => i);
    await Promise.all(
      keys
        .flatMap((i) => [cache.getOrLoad(`s${i}`, slow), cache.getOrLoad(`f${i}`, fast)])
        .map(async (p) => {
          await scheduler.run({ untilMs: 2_100 });
          return p;
        }),
    );
    // Both sets were stored at about the same instant; measure how long before expiry each refreshed.
    for (let t = 2_100; t < 12_100; t += 20) {
      await scheduler.run({ untilMs: t });
      for (const i of keys) {
        void cache.getOrLoad(`s${i}`, slow);
        void cache.getOrLoad(`f${i}`, fast);
      }
    }
    const mean = (prefix: string) => {
      const ts = keys.map((i) => firstEarly[`${prefix}${i}`] ?? 13_000);
      return ts.reduce((a, b) => a + b, 0) / ts.length;
    };
    expect(events.length).toBeGreaterThan(0);
    expect(mean('s')).toBeLessThan(mean('f') - 500);
  });

  it('β = 0 turns early recomputation off', async () => {
    const { scheduler, cache, origin, events } = setup({ ttlMs: 1_000, beta: 0 });
    const load = origin(200);
    void cache.getOrLoad('k', load);
    await scheduler.run({ untilMs: 200 });
    for (let t = 210; t < 1_200; t += 5) {
      await scheduler.run({ untilMs: t });
      void cache.getOrLoad('k', load);
    }
    expect(events.filter((e) => e.kind === 'hit' && e.early)).toEqual([]);
  });

  it('a soft timeout serves the old value and lets the load finish in the background', async () => {
    const { scheduler, cache, origin, calls } = setup({
      ttlMs: 100,
      beta: 0,
      staleIfErrorMs: 10_000,
      softTimeoutMs: 20,
    });
    void cache.getOrLoad('k', origin(10));
    await scheduler.run({ untilMs: 20 });
    await scheduler.run({ untilMs: 200 });
    let got: string | undefined;
    void cache.getOrLoad('k', origin(300)).then((v) => (got = v));
    await scheduler.run({ untilMs: 225 });
    expect(got).toBe('v1');
    await scheduler.run({ untilMs: 520 });
    expect(calls()).toBe(2);
    expect(await cache.getOrLoad('k', origin(300))).toBe('v2');
  });

  it('a hard timeout aborts the loader and fails with a TimeoutError', async () => {
    const { scheduler, runtime, cache } = setup({ hardTimeoutMs: 30 });
    let loaderSignal: AbortSignal | undefined;
    const stuck = (signal: AbortSignal) => {
      loaderSignal = signal;
      return runtime.timers.sleep(10_000).then(() => 'late');
    };
    const result = cache.getOrLoad('k', stuck).catch((e: unknown) => e);
    await scheduler.run({ untilMs: 40 });
    expect(isTimeoutError(await result)).toBe(true);
    expect(loaderSignal?.aborted).toBe(true);
    expect(cache.loading).toBe(0);
  });

  it('stale-on-error serves the old value when the loader fails', async () => {
    const { scheduler, cache, origin, count } = setup({
      ttlMs: 100,
      beta: 0,
      staleIfErrorMs: 1_000,
    });
    void cache.getOrLoad('k', origin(10));
    await scheduler.run({ untilMs: 500 });
    const failing = () => Promise.reject(new Error('origin down'));
    expect(await cache.getOrLoad('k', failing)).toBe('v1');
    expect(count('stale')).toBe(1);
    await scheduler.run({ untilMs: 1_200 }); // past keepUntil (110 + 1,000)
    await expect(cache.getOrLoad('k', failing)).rejects.toThrow('origin down');
  });

  it('negative caching: a failing origin gets one call per negativeTtlMs', async () => {
    const { scheduler, cache } = setup({ negativeTtlMs: 1_000 });
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(new Error('not found'));
    };
    await expect(cache.getOrLoad('k', failing)).rejects.toThrow('not found');
    for (let i = 0; i < 50; i++) {
      const e = await cache.getOrLoad('k', failing).catch((x: unknown) => x);
      expect(isCachedFailureError(e) && (e.cause as Error).message === 'not found').toBe(true);
    }
    expect(calls).toBe(1);
    await scheduler.run({ untilMs: 1_001 });
    await expect(cache.getOrLoad('k', failing)).rejects.toThrow('not found');
    expect(calls).toBe(2);
  });

  it('is an LRU bounded by entries and by bytes, and reports evictions', async () => {
    const { cache, events } = setup({ maxEntries: 3, maxBytes: 100 });
    cache.set('a', 'x'.repeat(10));
    cache.set('b', 'x'.repeat(10));
    cache.set('c', 'x'.repeat(10));
    expect(await cache.getOrLoad('a', () => 'unused')).toBe('x'.repeat(10)); // a is now recent
    cache.set('d', 'x'.repeat(10));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.size).toBe(3);
    cache.set('e', 'y'.repeat(40)); // 80 bytes: only e and one 20-byte entry fit in 100
    expect(cache.bytes).toBeLessThanOrEqual(100);
    expect(cache.get('e')).toBe('y'.repeat(40));
    const reasons = events
      .filter((e) => e.kind === 'evict')
      .map((e) => e.kind === 'evict' && e.reason);
    expect(reasons).toContain('capacity');
    expect(reasons).toContain('bytes');
  });

  it('a delete during a load keeps its result out of the cache', async () => {
    const { scheduler, cache, origin, calls } = setup();
    const first = cache.getOrLoad('k', origin(50));
    await scheduler.run({ untilMs: 10 });
    cache.delete('k');
    await scheduler.run({ untilMs: 60 });
    expect(await first).toBe('v1');
    const second = cache.getOrLoad('k', origin(50));
    await scheduler.run({ untilMs: 120 });
    expect(await second).toBe('v2');
    expect(calls()).toBe(2);
  });

  it('a caller that aborts detaches; the shared load goes on for the others', async () => {
    const { scheduler, cache, origin, calls } = setup();
    const load = origin(50);
    const leaving = new AbortController();
    const a = cache.getOrLoad('k', load, { signal: leaving.signal }).catch((e: unknown) => e);
    const b = cache.getOrLoad('k', load);
    await scheduler.run({ untilMs: 10 });
    leaving.abort();
    await scheduler.run({ untilMs: 60 });
    expect(isAbortedError(await a)).toBe(true);
    expect(await b).toBe('v1');
    expect(calls()).toBe(1);
  });

  it('without coalescing every concurrent miss calls the origin (the stampede)', async () => {
    const { scheduler, cache, origin, calls } = setup({ coalesce: false });
    const load = origin(50);
    const all = Array.from({ length: 100 }, () => cache.getOrLoad('k', load));
    await scheduler.run({ untilMs: 60 });
    await Promise.all(all);
    expect(calls()).toBe(100);
  });

  it('close aborts background refreshes, leaves no timer and rejects later calls', async () => {
    const { scheduler, runtime, cache, origin } = setup({ ttlMs: 100, staleMs: 1_000, beta: 0 });
    void cache.getOrLoad('k', origin(10));
    await scheduler.run({ untilMs: 150 });
    let refreshSignal: AbortSignal | undefined;
    await cache.getOrLoad('k', (signal) => {
      refreshSignal = signal;
      return runtime.timers.sleep(1_000, signal).then(() => 'late');
    });
    await cache.close();
    expect(refreshSignal?.aborted).toBe(true);
    await scheduler.run({ untilMs: 200 });
    expect(runtime.timers.pending).toBe(0);
    const e = await cache.getOrLoad('k', origin()).catch((x: unknown) => x);
    expect(isCacheClosedError(e)).toBe(true);
  });

  it('rejects hostile options and keys naming the field', async () => {
    const runtime = createSimRuntime(new Scheduler({ seed: 1 }), 'x');
    expect(() => new Cache({ ttlMs: 0, runtime })).toThrow(
      /ttlMs must be a finite number > 0 \(got 0\)/,
    );
    expect(() => new Cache({ beta: -1, runtime })).toThrow(/beta/);
    expect(() => new Cache({ maxEntries: 1.5, runtime })).toThrow(/maxEntries/);
    expect(() => new Cache({ maxBytes: Number.NaN, runtime })).toThrow(/maxBytes/);
    expect(() => new Cache({ staleMs: Number.POSITIVE_INFINITY, runtime })).toThrow(/staleMs/);
    const cache = new Cache<string>({ runtime });
    expect(() => cache.getOrLoad('', () => 'v')).toThrow(/key must be/);
    expect(() => cache.getOrLoad('x'.repeat(2_000), () => 'v')).toThrow(/key must be/);
    expect(() => cache.getOrLoad('k', () => 'v', { softTimeoutMs: -5 })).toThrow(/softTimeoutMs/);
    const bad = new Cache<string>({ runtime, sizeOf: () => Number.NaN });
    await expect(bad.getOrLoad('k', () => 'v')).rejects.toThrow(/sizeOf/);
  });

  it('publishes its events on node:diagnostics_channel', async () => {
    const { scheduler, cache, origin } = setup();
    const seen: unknown[] = [];
    const listener = (message: unknown) => seen.push(message);
    subscribe('faultline:cache:miss', listener);
    subscribe('faultline:cache:load', listener);
    try {
      const p = cache.getOrLoad('diag', origin(10));
      await scheduler.run({ untilMs: 20 });
      await p;
    } finally {
      unsubscribe('faultline:cache:miss', listener);
      unsubscribe('faultline:cache:load', listener);
    }
    expect(seen.map((e) => (e as CacheEvent).kind)).toEqual(['miss', 'load']);
  });
});

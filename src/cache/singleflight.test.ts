import { describe, expect, it } from 'vitest';
import { isAbortedError } from '../core/errors.js';
import { isTimeoutError } from '../resilience/errors.js';
import { createSimRuntime, Scheduler } from '../sim/index.js';
import { isTooManyFlightsError } from './errors.js';
import { Singleflight } from './singleflight.js';

function setup() {
  const scheduler = new Scheduler({ seed: 1 });
  const runtime = createSimRuntime(scheduler, 'sf');
  return { scheduler, runtime, flights: new Singleflight<string>({ runtime }) };
}

function settle<T>(p: Promise<T>) {
  const state: { value?: T; error?: unknown; done: boolean } = { done: false };
  p.then(
    (value) => Object.assign(state, { value, done: true }),
    (error: unknown) => Object.assign(state, { error, done: true }),
  );
  return state;
}

describe('Singleflight', () => {
  it('shares one load among concurrent callers and starts a new one after it settled', async () => {
    const { scheduler, runtime, flights } = setup();
    let calls = 0;
    const loader = async (signal: AbortSignal) => {
      calls++;
      await runtime.timers.sleep(50, signal);
      return `v${calls}`;
    };
    const joins = Array.from({ length: 100 }, () => flights.join('k', loader));
    expect(flights.loading('k')).toBe(true);
    // Callers without a signal or timeout share the load's promise and are not counted as leavable.
    expect(flights.waiters('k')).toBe(0);
    await scheduler.run({ untilMs: 60 });
    const results = await Promise.all(joins);
    expect(calls).toBe(1);
    expect(results.every((r) => r.value === 'v1')).toBe(true);
    expect(results.filter((r) => !r.shared).length).toBe(1);
    expect(flights.size).toBe(0);
    const again = flights.do('k', loader);
    await scheduler.run({ untilMs: 200 });
    expect(await again).toBe('v2');
  });

  it('a caller that aborts detaches alone; the others get the value and the load is not aborted', async () => {
    const { scheduler, runtime, flights } = setup();
    let loadSignal: AbortSignal | undefined;
    const loader = async (signal: AbortSignal) => {
      loadSignal = signal;
      await runtime.timers.sleep(50, signal);
      return 'v';
    };
    const leaving = new AbortController();
    const a = settle(flights.do('k', loader, { signal: leaving.signal }));
    const b = settle(flights.do('k', loader));
    await scheduler.run({ untilMs: 10 });
    leaving.abort(new Error('caller a left'));
    await scheduler.run({ untilMs: 11 });
    expect(a.done).toBe(true);
    expect((a.error as Error).message).toBe('caller a left');
    expect(loadSignal?.aborted).toBe(false);
    await scheduler.run({ untilMs: 60 });
    expect(b).toMatchObject({ done: true, value: 'v' });
  });

  it('aborts the load when its last waiter leaves, and the next caller starts afresh', async () => {
    const { scheduler, runtime, flights } = setup();
    let calls = 0;
    const signals: AbortSignal[] = [];
    const loader = async (signal: AbortSignal) => {
      calls++;
      signals.push(signal);
      await runtime.timers.sleep(50, signal);
      return `v${calls}`;
    };
    const one = new AbortController();
    const two = new AbortController();
    const a = settle(flights.do('k', loader, { signal: one.signal }));
    const b = settle(flights.do('k', loader, { signal: two.signal }));
    await scheduler.run({ untilMs: 5 });
    one.abort();
    await scheduler.run({ untilMs: 6 });
    expect(signals[0]?.aborted).toBe(false);
    two.abort();
    await scheduler.run({ untilMs: 7 });
    expect(signals[0]?.aborted).toBe(true);
    expect(isAbortedError(a.error) && isAbortedError(b.error)).toBe(true);
    expect(flights.size).toBe(0);
    const c = flights.do('k', loader);
    await scheduler.run({ untilMs: 100 });
    expect(await c).toBe('v2');
    expect(calls).toBe(2);
  });

  it('each caller keeps its own timeout', async () => {
    const { scheduler, runtime, flights } = setup();
    const loader = async (signal: AbortSignal) => {
      await runtime.timers.sleep(50, signal);
      return 'v';
    };
    const short = settle(flights.do('k', loader, { timeoutMs: 20 }));
    const long = settle(flights.do('k', loader, { timeoutMs: 80 }));
    await scheduler.run({ untilMs: 25 });
    expect(short.done && isTimeoutError(short.error)).toBe(true);
    expect(long.done).toBe(false);
    await scheduler.run({ untilMs: 60 });
    expect(long).toMatchObject({ done: true, value: 'v' });
    expect(runtime.timers.pending).toBe(0);
  });

  it('coalesces a burst longer than any TTL: the window is the load itself', async () => {
    const { scheduler, runtime, flights } = setup();
    let calls = 0;
    const loader = async () => {
      calls++;
      await runtime.timers.sleep(500);
      return 'v';
    };
    const all: Promise<string>[] = [];
    // Callers arrive every 10 ms for 450 ms while one 500 ms load runs.
    for (let t = 0; t < 450; t += 10) {
      all.push(flights.do('k', loader));
      await scheduler.run({ untilMs: t + 10 });
    }
    await scheduler.run({ untilMs: 600 });
    expect(await Promise.all(all)).toEqual(all.map(() => 'v'));
    expect(calls).toBe(1);
  });

  it('passes a loader failure to every waiter and does not cache it', async () => {
    const { scheduler, runtime, flights } = setup();
    let calls = 0;
    const loader = async () => {
      calls++;
      await runtime.timers.sleep(10);
      throw new Error(`boom ${calls}`);
    };
    const a = settle(flights.do('k', loader));
    const b = settle(flights.do('k', loader));
    await scheduler.run({ untilMs: 20 });
    expect((a.error as Error).message).toBe('boom 1');
    expect((b.error as Error).message).toBe('boom 1');
    const c = settle(flights.do('k', loader));
    await scheduler.run({ untilMs: 40 });
    expect((c.error as Error).message).toBe('boom 2');
  });

  it('forget lets the next caller start a new load while old waiters keep theirs', async () => {
    const { scheduler, runtime, flights } = setup();
    let calls = 0;
    const loader = async () => {
      const n = ++calls;
      await runtime.timers.sleep(10);
      return `v${n}`;
    };
    const a = flights.do('k', loader);
    flights.forget('k');
    const b = flights.do('k', loader);
    await scheduler.run({ untilMs: 20 });
    expect([await a, await b]).toEqual(['v1', 'v2']);
  });

  it('rejects hostile input with a typed error naming the field', async () => {
    const { flights } = setup();
    await expect(flights.do('', () => 'v')).rejects.toThrow(/key must be/);
    await expect(flights.do('k', () => 'v', { timeoutMs: -1 })).rejects.toThrow(/timeoutMs/);
    await expect(flights.do('k', 5 as never)).rejects.toThrow(/loader must be a function/);
    expect(() => new Singleflight({ maxFlights: 0 })).toThrow(/maxFlights/);
    const bounded = new Singleflight<string>({ maxFlights: 1 });
    const pending = bounded.do('a', () => new Promise<string>(() => undefined));
    const refused = await bounded.do('b', () => 'v').catch((e: unknown) => e);
    expect(isTooManyFlightsError(refused)).toBe(true);
    void pending;
  });

  it('an already-aborted signal rejects without starting a load', async () => {
    const { flights } = setup();
    let calls = 0;
    const error = await flights
      .do('k', () => String(++calls), { signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect(isAbortedError(error)).toBe(true);
    expect(calls).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { AbortedError } from '../core/errors.js';
import { createSimRuntime, Scheduler } from '../sim/index.js';
import type { TimeoutError } from './errors.js';
import { isTimeoutError } from './errors.js';
import type { ExecuteContext } from './policy.js';
import { CircuitBreaker } from './breaker.js';
import { pipeline } from './pipeline.js';
import { Retry } from './retry.js';
import { Timeout } from './timeout.js';
import type { TimeoutOptions } from './timeout.js';

function setup(options: Omit<TimeoutOptions, 'runtime'>) {
  const scheduler = new Scheduler({ seed: 1 });
  const runtime = createSimRuntime(scheduler, 'timeout');
  return { scheduler, runtime, timeout: new Timeout({ ...options, runtime }) };
}

function track<T>(p: Promise<T>) {
  const state: { value?: T; error?: unknown; done: boolean; at?: number } = { done: false };
  p.then(
    (value) => Object.assign(state, { value, done: true }),
    (error: unknown) => Object.assign(state, { error, done: true }),
  );
  return state;
}

describe('Timeout', () => {
  it('passes a fast result through and leaves no timer', async () => {
    const { timeout, runtime, scheduler } = setup({ timeoutMs: 100 });
    const p = timeout.execute(() => runtime.timers.sleep(50).then(() => 'ok'));
    expect(runtime.timers.pending).toBe(2); // the callee's sleep and the deadline
    await scheduler.run({ untilMs: 60 });
    expect(await p).toBe('ok');
    expect(runtime.timers.pending).toBe(0);
    expect(await timeout.execute(() => 5)).toBe(5);
    expect(runtime.timers.pending).toBe(0);
  });

  it('cooperative: aborts the callee signal at the deadline and reports a TimeoutError', async () => {
    const { timeout, runtime, scheduler } = setup({ timeoutMs: 100 });
    let abortedAt: number | undefined;
    const s = track(
      timeout.execute(async ({ signal }) => {
        signal?.addEventListener('abort', () => (abortedAt = runtime.clock.monotonicMs()));
        await runtime.timers.sleep(1000, signal);
        return 'late';
      }),
    );
    await scheduler.run({ untilMs: 2000 });
    expect(abortedAt).toBe(100);
    expect(isTimeoutError(s.error)).toBe(true);
    expect((s.error as TimeoutError).timeoutMs).toBe(100);
    expect(runtime.timers.pending).toBe(0);
  });

  it('cooperative: waits for a callee that ignores the signal', async () => {
    const { timeout, runtime, scheduler } = setup({ timeoutMs: 100 });
    const s = track(timeout.execute(() => runtime.timers.sleep(300).then(() => 'late')));
    await scheduler.run({ untilMs: 200 });
    expect(s.done).toBe(false);
    await scheduler.run({ untilMs: 400 });
    expect(s.value).toBe('late');
    expect(runtime.timers.pending).toBe(0);
  });

  it('aggressive: rejects at the deadline even if the callee ignores the signal', async () => {
    const { timeout, runtime, scheduler } = setup({ timeoutMs: 100, strategy: 'aggressive' });
    let finishedAt: number | undefined;
    const s = track(
      timeout.execute(() =>
        runtime.timers.sleep(300).then(() => {
          finishedAt = runtime.clock.monotonicMs();
          throw new Error('fails late'); // must not become an unhandled rejection
        }),
      ),
    );
    await scheduler.run({ untilMs: 100 });
    expect(isTimeoutError(s.error)).toBe(true);
    await scheduler.run({ untilMs: 400 });
    expect(finishedAt).toBe(300);
    expect(runtime.timers.pending).toBe(0);
  });

  it('creates no signal for a callee that never reads it (lazy), and one on first read', async () => {
    const { timeout } = setup({ timeoutMs: 100 });
    let seen: ExecuteContext | undefined;
    await timeout.execute((ctx) => {
      seen = ctx;
      return 1;
    });
    // The context's controller was never created: reading the signal after completion creates one
    // now, not aborted (the call finished before its deadline).
    expect((seen as unknown as { controller: unknown }).controller).toBeUndefined();
    expect(seen?.signal?.aborted).toBe(false);
  });

  it('allocates no AbortController per call when the callee does not read its signal, even in a pipeline', async () => {
    const { timeout, runtime } = setup({ timeoutMs: 100 });
    const Original = globalThis.AbortController;
    let created = 0;
    globalThis.AbortController = class extends Original {
      constructor() {
        super();
        created++;
      }
    };
    try {
      const breaker = new CircuitBreaker({ runtime });
      const policy = pipeline(new Retry({ runtime }), breaker, timeout);
      for (let i = 0; i < 10; i++) {
        await timeout.execute(() => i);
        await timeout.execute(async () => i);
        await policy.execute(async () => i);
      }
      expect(created).toBe(0);
      await timeout.execute(({ signal }) => signal?.aborted);
      expect(created).toBe(1);
    } finally {
      globalThis.AbortController = Original;
    }
    expect(runtime.timers.pending).toBe(0);
  });

  it("signal: 'none' hands the callee the caller's signal", async () => {
    const { timeout } = setup({ timeoutMs: 100, signal: 'none' });
    const controller = new AbortController();
    let got: AbortSignal | undefined;
    await timeout.execute(({ signal }) => ((got = signal), 1), controller.signal);
    expect(got).toBe(controller.signal);
    let none: AbortSignal | undefined = new AbortController().signal;
    await timeout.execute(({ signal }) => ((none = signal), 1));
    expect(none).toBeUndefined();
  });

  it('forwards the caller abort to the callee signal, and aggressive rejects with it', async () => {
    const { timeout, runtime, scheduler } = setup({ timeoutMs: 1000, strategy: 'aggressive' });
    const controller = new AbortController();
    let calleeReason: unknown;
    const s = track(
      timeout.execute(async ({ signal }) => {
        signal?.addEventListener('abort', () => (calleeReason = signal.reason));
        await runtime.timers.sleep(5000);
      }, controller.signal),
    );
    scheduler.after(10, () => controller.abort(new AbortedError('caller gave up')));
    await scheduler.run({ untilMs: 20 });
    expect((s.error as Error).message).toBe('caller gave up');
    expect((calleeReason as Error).message).toBe('caller gave up');
    await scheduler.run({ untilMs: 6000 });
    expect(runtime.timers.pending).toBe(0);
  });

  it('passes a synchronous throw through and clears the timer', async () => {
    const { timeout, runtime } = setup({ timeoutMs: 100 });
    await expect(
      timeout.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(runtime.timers.pending).toBe(0);
  });

  it('eager mode creates the signal up front', async () => {
    const { timeout } = setup({ timeoutMs: 100, signal: 'eager' });
    let ctx: ExecuteContext | undefined;
    await timeout.execute((c) => ((ctx = c), 1));
    expect((ctx as unknown as { controller: unknown }).controller).toBeInstanceOf(AbortController);
  });

  it('validates options', () => {
    expect(() => new Timeout({ timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => new Timeout({ timeoutMs: 1, strategy: 'x' as 'aggressive' })).toThrow(/strategy/);
    expect(() => new Timeout({ timeoutMs: 1, signal: 'x' as 'lazy' })).toThrow(/signal/);
  });
});

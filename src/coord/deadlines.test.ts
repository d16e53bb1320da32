import { describe, expect, it } from 'vitest';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import { BackendUnavailableError } from './errors.js';
import { AbortScope } from '../core/abort.js';
import { CallDeadlines } from './deadlines.js';
import type { Abortable } from '../core/abort.js';
import type { Runtime } from '../core/runtime.js';
import type { CallOptions } from './types.js';

/** One {@link CallDeadlines} per runtime, as one client has (the calls of a test share buckets). */
const clients = new WeakMap<Runtime, CallDeadlines>();

function callWithDeadline<T>(
  runtime: Runtime,
  operation: string,
  timeoutMs: number,
  stop: Abortable | undefined,
  fn: (o: CallOptions) => Promise<T>,
  signal: 'shared' | 'exclusive' = 'shared',
): Promise<T> {
  let deadlines = clients.get(runtime);
  if (deadlines === undefined) {
    deadlines = new CallDeadlines(runtime);
    clients.set(runtime, deadlines);
  }
  return deadlines.call({ operation, timeoutMs, stop, signal }, fn);
}

function setup() {
  const scheduler = new Scheduler({ seed: 3 });
  const runtime = createSimRuntime(scheduler, 'client');
  return { scheduler, runtime };
}

/** A backend call that never answers on its own; records the signal it was given. */
function hung(signals: AbortSignal[]): (o: CallOptions) => Promise<never> {
  return (o) => {
    signals.push(o.signal);
    return new Promise<never>(() => undefined);
  };
}

function settledAt(
  scheduler: Scheduler,
  p: Promise<unknown>,
): { at: number | undefined; error: unknown } {
  const r: { at: number | undefined; error: unknown } = { at: undefined, error: undefined };
  p.then(
    () => (r.at = scheduler.nowMs),
    (e: unknown) => {
      r.at = scheduler.nowMs;
      r.error = e;
    },
  );
  return r;
}

describe('callWithDeadline', () => {
  it('lets every call of a bucket listen to its shared signal without a listener warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const { scheduler, runtime } = setup();
      let aborted = 0;
      const listening = (o: CallOptions): Promise<never> => {
        o.signal.addEventListener('abort', () => aborted++);
        return new Promise<never>(() => undefined);
      };
      const results = Array.from({ length: 50 }, () =>
        settledAt(scheduler, callWithDeadline(runtime, 'tryAcquire', 2_000, undefined, listening)),
      );
      await scheduler.run({ untilMs: 2_016 });
      expect(results.every((r) => r.error instanceof BackendUnavailableError)).toBe(true);
      expect(aborted).toBe(50);
      // Warnings are emitted on a later tick.
      await new Promise<void>((resolve) => process.nextTick(resolve));
      await Promise.resolve();
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('concurrent calls share one timer and one signal, and all time out after their deadline', async () => {
    const { scheduler, runtime } = setup();
    const signals: AbortSignal[] = [];
    const results = Array.from({ length: 50 }, () =>
      settledAt(
        scheduler,
        callWithDeadline(runtime, 'tryAcquire', 2_000, undefined, hung(signals)),
      ),
    );
    expect(runtime.timers.pending).toBe(1);
    expect(new Set(signals).size).toBe(1);
    await scheduler.run({ untilMs: 1_999 });
    expect(results.every((r) => r.at === undefined)).toBe(true);
    expect(signals[0]?.aborted).toBe(false);
    await scheduler.run({ untilMs: 2_016 });
    for (const r of results) {
      expect(r.at).toBeGreaterThanOrEqual(2_000);
      expect(r.at).toBeLessThanOrEqual(2_016);
      expect(r.error).toBeInstanceOf(BackendUnavailableError);
      expect((r.error as Error).message).toMatch(/tryAcquire.*2000 ms/);
    }
    expect(signals[0]?.aborted).toBe(true);
    expect(runtime.timers.pending).toBe(0);
  });

  it('keeps one timer across calls that answer, reuses the unaborted signal, and close() cancels it', async () => {
    const { scheduler, runtime } = setup();
    const signals: AbortSignal[] = [];
    const answer = (o: CallOptions): Promise<number> => {
      signals.push(o.signal);
      return Promise.resolve(1);
    };
    await callWithDeadline(runtime, 'release', 2_000, undefined, answer);
    // Left armed for the next call (a sequential caller would otherwise arm and cancel one per call).
    expect(runtime.timers.pending).toBe(1);
    await scheduler.run({ untilMs: 100 });
    await callWithDeadline(runtime, 'release', 2_000, undefined, answer);
    expect(runtime.timers.pending).toBe(1);
    expect(signals[0]).toBe(signals[1]);
    expect(signals[0]?.aborted).toBe(false);
    // With no call in flight when it fires, it ends without arming again.
    await scheduler.run({ untilMs: 2_100 });
    expect(runtime.timers.pending).toBe(0);
    expect(signals[0]?.aborted).toBe(false);
    await callWithDeadline(runtime, 'release', 2_000, undefined, answer);
    expect(runtime.timers.pending).toBe(1);
    clients.get(runtime)?.close();
    expect(runtime.timers.pending).toBe(0);
  });

  it('re-arms for the earliest call still in flight, and times out each call after its own deadline', async () => {
    const { scheduler, runtime } = setup();
    const early = settledAt(
      scheduler,
      callWithDeadline(runtime, 'holder', 1_000, undefined, hung([])),
    );
    await scheduler.run({ untilMs: 500 });
    const late = settledAt(
      scheduler,
      callWithDeadline(runtime, 'holder', 1_000, undefined, hung([])),
    );
    expect(runtime.timers.pending).toBe(1);
    await scheduler.run({ untilMs: 3_000 });
    expect(early.at).toBeGreaterThanOrEqual(1_000);
    expect(early.at).toBeLessThanOrEqual(1_016);
    expect(late.at).toBeGreaterThanOrEqual(1_500);
    expect(late.at).toBeLessThanOrEqual(1_516);
    expect(runtime.timers.pending).toBe(0);
  });

  it('arms the timer earlier for a call with a shorter deadline than the armed one', async () => {
    const { scheduler, runtime } = setup();
    const long = settledAt(
      scheduler,
      callWithDeadline(runtime, 'holder', 2_000, undefined, hung([])),
    );
    const short = settledAt(
      scheduler,
      callWithDeadline(runtime, 'extend', 80, undefined, hung([])),
    );
    expect(runtime.timers.pending).toBe(1);
    await scheduler.run({ untilMs: 3_000 });
    expect(short.at).toBeGreaterThanOrEqual(80);
    expect(short.at).toBeLessThanOrEqual(90);
    expect(long.at).toBeGreaterThanOrEqual(2_000);
    expect(long.at).toBeLessThanOrEqual(2_016);
  });

  it('never rounds a short timeout up by more than an eighth of it', async () => {
    const { scheduler, runtime } = setup();
    await scheduler.run({ untilMs: 3 });
    const r = settledAt(scheduler, callWithDeadline(runtime, 'extend', 40, undefined, hung([])));
    await scheduler.run({ untilMs: 1_000 });
    expect(r.at).toBeGreaterThanOrEqual(43);
    expect(r.at).toBeLessThanOrEqual(48);
  });

  it('a scope releases every call in flight through a set, not a listener per call on a signal', async () => {
    const { scheduler, runtime } = setup();
    const scope = new AbortScope();
    const signals: AbortSignal[] = [];
    const calls = Array.from({ length: 30 }, () =>
      settledAt(scheduler, callWithDeadline(runtime, 'holder', 2_000, scope, hung(signals))),
    );
    scope.abort(new Error('closed'));
    await scheduler.run({ untilMs: 1 });
    for (const c of calls) expect((c.error as Error).message).toBe('closed');
    // The shared backend signal is not aborted by one caller's stop; its timer ends at the deadline.
    expect(signals[0]?.aborted).toBe(false);
    await scheduler.run({ untilMs: 2_100 });
    expect(signals[0]?.aborted).toBe(false);
    expect(runtime.timers.pending).toBe(0);
    await expect(callWithDeadline(runtime, 'holder', 2_000, scope, hung([]))).rejects.toThrow(
      'closed',
    );
  });

  it('an exclusive call gets its own signal, aborted with the caller’s reason', async () => {
    const { scheduler, runtime } = setup();
    const controller = new AbortController();
    const signals: AbortSignal[] = [];
    const r = settledAt(
      scheduler,
      callWithDeadline(
        runtime,
        'acquireQueued',
        5_000,
        controller.signal,
        hung(signals),
        'exclusive',
      ),
    );
    const other = callWithDeadline(
      runtime,
      'acquireQueued',
      5_000,
      undefined,
      hung(signals),
      'exclusive',
    );
    other.catch(() => undefined);
    expect(signals[0]).not.toBe(signals[1]);
    controller.abort(new Error('gave up'));
    await scheduler.run({ untilMs: 1 });
    expect((r.error as Error).message).toBe('gave up');
    expect(signals[0]?.reason).toEqual(new Error('gave up'));
    expect(signals[1]?.aborted).toBe(false);
    await scheduler.run({ untilMs: 5_000 });
    expect(signals[1]?.aborted).toBe(true);
    expect(runtime.timers.pending).toBe(0);
  });

  it('a caller signal stops only its own call', async () => {
    const { scheduler, runtime } = setup();
    const a = new AbortController();
    const ra = settledAt(scheduler, callWithDeadline(runtime, 'x', 1_000, a.signal, hung([])));
    const rb = settledAt(scheduler, callWithDeadline(runtime, 'x', 1_000, undefined, hung([])));
    a.abort(new Error('a'));
    await scheduler.run({ untilMs: 10 });
    expect((ra.error as Error).message).toBe('a');
    expect(rb.at).toBeUndefined();
    await scheduler.run({ untilMs: 2_000 });
    expect(rb.error).toBeInstanceOf(BackendUnavailableError);
  });
});

describe('AbortScope', () => {
  it('fires each listener once, links a caller signal, and unregisters cleanly', () => {
    const scope = new AbortScope();
    const seen: unknown[] = [];
    const off = scope.listen((r) => seen.push(['a', r]));
    scope.listen((r) => seen.push(['b', r]));
    off();
    const caller = new AbortController();
    const linked = scope.link(caller.signal);
    expect(scope.link(undefined)).toBe(scope);
    linked.listen((r) => seen.push(['linked', r]));
    caller.abort('mine');
    expect(linked.aborted).toBe(true);
    expect(linked.reason).toBe('mine');
    expect(scope.aborted).toBe(false);
    scope.abort('closed');
    scope.abort('again');
    expect(seen).toEqual([
      ['linked', 'mine'],
      ['b', 'closed'],
    ]);
    expect(scope.reason).toBe('closed');
    let late = false;
    scope.listen(() => (late = true));
    expect(late).toBe(false);
  });
});

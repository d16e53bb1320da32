import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSystemRuntime, settleMicrotasks, SystemRandom, yieldToEventLoop } from './system.js';
import { isAbortedError } from './errors.js';

// These tests exercise the real timers with zero delays only: no test waits for real time.
describe('system runtime', () => {
  it('has a monotonic clock that never decreases', () => {
    const { clock } = createSystemRuntime();
    let last = clock.monotonicMs();
    for (let i = 0; i < 1000; i++) {
      const now = clock.monotonicMs();
      expect(now).toBeGreaterThanOrEqual(last);
      last = now;
    }
    expect(clock.wallMs()).toBeGreaterThan(1_600_000_000_000);
  });

  it('fires a timer and leaves none pending', async () => {
    const { timers } = createSystemRuntime();
    const fired = await new Promise<boolean>((resolve) => timers.setTimer(0, () => resolve(true)));
    expect(fired).toBe(true);
    expect(timers.pending).toBe(0);
  });

  it('cancels a timer: it never fires and is not pending', async () => {
    const { timers } = createSystemRuntime();
    let fired = false;
    const cancel = timers.setTimer(0, () => (fired = true));
    expect(timers.pending).toBe(1);
    cancel();
    cancel();
    expect(timers.pending).toBe(0);
    await timers.sleep(0);
    expect(fired).toBe(false);
  });

  it('rejects sleep at once with the signal reason and clears its timer', async () => {
    const { timers } = createSystemRuntime();
    const controller = new AbortController();
    const sleeping = timers.sleep(60_000, controller.signal);
    expect(timers.pending).toBe(1);
    controller.abort(new Error('stop'));
    await expect(sleeping).rejects.toThrow('stop');
    expect(timers.pending).toBe(0);
  });

  it('rejects sleep on an already-aborted signal without arming a timer', async () => {
    const { timers } = createSystemRuntime();
    const controller = new AbortController();
    controller.abort();
    const error = await timers.sleep(10, controller.signal).catch((e: unknown) => e);
    expect(isAbortedError(error)).toBe(true);
    expect(timers.pending).toBe(0);
  });

  it('rejects negative delays naming the field', () => {
    const { timers } = createSystemRuntime();
    expect(() => timers.setTimer(-1, () => undefined)).toThrow(/ms must be/);
  });

  it('draws secure bytes that differ between calls', () => {
    const r = new SystemRandom();
    const a = Buffer.from(r.bytes(16)).toString('hex');
    const b = Buffer.from(r.bytes(16)).toString('hex');
    expect(a).toHaveLength(32);
    expect(a).not.toBe(b);
    const u = r.next();
    expect(u >= 0 && u < 1).toBe(true);
  });
});

describe('yieldToEventLoop', () => {
  afterEach(() => void vi.unstubAllGlobals());

  async function yieldsAfterMicrotasks(): Promise<void> {
    const order: string[] = [];
    const turn = yieldToEventLoop().then(() => order.push('yield'));
    void Promise.resolve()
      .then(() => order.push('micro 1'))
      .then(() => order.push('micro 2'));
    await turn;
    expect(order).toEqual(['micro 1', 'micro 2', 'yield']);
  }

  it('runs every pending microtask first (setImmediate on Node)', yieldsAfterMicrotasks);

  it('falls back to a MessageChannel turn where setImmediate is missing (browsers)', async () => {
    vi.stubGlobal('setImmediate', undefined);
    await yieldsAfterMicrotasks();
    // Concurrent yields resolve in the order they were asked for.
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3].map((i) => yieldToEventLoop().then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3]);
  });
});

describe('settleMicrotasks', () => {
  afterEach(() => void vi.unstubAllGlobals());

  it('resolves once every microtask ran, those queued by microtasks too, before any macrotask', async () => {
    const order: string[] = [];
    setImmediate(() => order.push('macrotask'));
    const settled = settleMicrotasks().then(() => order.push('settled'));
    let chain = Promise.resolve();
    for (let i = 0; i < 50; i++) chain = chain.then(() => void order.push(`micro ${i}`));
    // A continuation queued by a continuation, after the chain above.
    void chain.then(() => Promise.resolve().then(() => order.push('nested')));
    await settled;
    expect(order.slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, i) => `micro ${i}`));
    expect(order.slice(50)).toEqual(['nested', 'settled']);
  });

  it('is a macrotask turn where process.nextTick is missing (browsers)', async () => {
    vi.stubGlobal('process', undefined);
    const order: string[] = [];
    const settled = settleMicrotasks().then(() => order.push('settled'));
    vi.unstubAllGlobals();
    setImmediate(() => order.push('macrotask'));
    await settled;
    expect(order).toEqual(['settled']);
    await yieldToEventLoop();
    expect(order).toEqual(['settled', 'macrotask']);
  });
});

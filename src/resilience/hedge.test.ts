import { describe, expect, it } from 'vitest';
import { LatencyQuantiles } from '../detect/quantile.js';
import { createSimRuntime, Scheduler } from '../sim/index.js';
import { RetryBudget } from './budget.js';
import { Hedge } from './hedge.js';
import type { HedgeOptions, LatencyEstimator } from './hedge.js';
import type { ExecuteContext } from './policy.js';

function setup(options: Omit<HedgeOptions, 'runtime'>) {
  const scheduler = new Scheduler({ seed: 1 });
  const runtime = createSimRuntime(scheduler, 'hedge');
  const hedge = new Hedge({ ...options, runtime });
  const starts: number[] = [];
  const aborted: number[] = [];
  /** Attempt i takes latencies[i] ms (or fails when negative) and honours its signal. */
  const replica =
    (latencies: number[]) =>
    async ({ signal }: ExecuteContext): Promise<string> => {
      const i = starts.length;
      starts.push(runtime.clock.monotonicMs());
      signal?.addEventListener('abort', () => aborted.push(i));
      const ms = latencies[i] ?? 1000;
      await runtime.timers.sleep(Math.abs(ms), signal);
      if (ms < 0) throw new Error(`attempt ${i} failed`);
      return `attempt ${i}`;
    };
  return { scheduler, runtime, hedge, starts, aborted, replica };
}

describe('Hedge', () => {
  it('sends a hedge after the delay; the first success wins and the loser is aborted', async () => {
    const { hedge, scheduler, runtime, starts, aborted, replica } = setup({
      initialDelayMs: 50,
      maxHedges: 1,
    });
    const p = hedge.execute(replica([500, 20]));
    await scheduler.run();
    expect(await p).toBe('attempt 1');
    expect(starts).toEqual([0, 50]);
    expect(aborted).toEqual([0]);
    expect(runtime.timers.pending).toBe(0);
  });

  it('sends no hedge when the first attempt is fast', async () => {
    const { hedge, scheduler, starts, replica } = setup({ initialDelayMs: 50 });
    const p = hedge.execute(replica([10]));
    await scheduler.run();
    expect(await p).toBe('attempt 0');
    expect(starts).toEqual([0]);
  });

  it('respects maxHedges', async () => {
    const { hedge, scheduler, starts, aborted, replica } = setup({
      initialDelayMs: 10,
      maxHedges: 2,
    });
    const p = hedge.execute(replica([1000, 1000, 1000, 1]));
    await scheduler.run();
    expect(await p).toBe('attempt 0');
    expect(starts).toEqual([0, 10, 20]);
    expect(aborted).toEqual([1, 2]);
  });

  it('reads the delay from the estimator quantile, clamped', () => {
    const estimator = new LatencyQuantiles({ windowSize: 100 });
    const { hedge } = setup({
      estimator,
      quantile: 0.9,
      initialDelayMs: 77,
      minDelayMs: 5,
      maxDelayMs: 60,
    });
    expect(hedge.delayMs()).toBe(60); // the cold-start delay, clamped to maxDelayMs
    for (let i = 1; i <= 100; i++) estimator.record(i / 2);
    expect(hedge.delayMs()).toBe(45);
    const low: LatencyEstimator = { record: () => undefined, quantile: () => 1 };
    expect(setup({ estimator: low, minDelayMs: 5 }).hedge.delayMs()).toBe(5);
  });

  it('records the winning latency into the estimator, which moves the next delay', async () => {
    const recorded: number[] = [];
    const estimator: LatencyEstimator = {
      record: (ms) => void recorded.push(ms),
      quantile: () => recorded.at(-1),
    };
    const { hedge, scheduler, starts, replica } = setup({ estimator, initialDelayMs: 100 });
    const p = hedge.execute(replica([30]));
    await scheduler.run();
    await p;
    expect(recorded).toEqual([30]);
    expect(hedge.delayMs()).toBe(30);
    expect(starts).toEqual([0]);
  });

  it('hedges at once after a failure, and rejects when every attempt failed', async () => {
    const { hedge, scheduler, starts, replica } = setup({ initialDelayMs: 100, maxHedges: 1 });
    const p = hedge.execute(replica([-5, -7])).catch((e: unknown) => e);
    await scheduler.run();
    expect(((await p) as Error).message).toBe('attempt 1 failed');
    expect(starts).toEqual([0, 5]);
  });

  it('sends no hedge when the budget is empty', async () => {
    const scheduler = new Scheduler({ seed: 1 });
    const runtime = createSimRuntime(scheduler, 'hedge');
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0, runtime });
    const hedge = new Hedge({ initialDelayMs: 10, budget, runtime });
    let attempts = 0;
    const p = hedge.execute(async () => {
      attempts++;
      await runtime.timers.sleep(100);
      return 'only';
    });
    await scheduler.run();
    expect(await p).toBe('only');
    expect(attempts).toBe(1);
  });

  it('aborts every attempt when the caller aborts', async () => {
    const { hedge, scheduler, aborted, replica, runtime } = setup({
      initialDelayMs: 10,
      maxHedges: 1,
    });
    const controller = new AbortController();
    const p = hedge.execute(replica([1000, 1000]), controller.signal).catch((e: unknown) => e);
    scheduler.after(50, () => controller.abort(new Error('caller')));
    await scheduler.run();
    expect(((await p) as Error).message).toBe('caller');
    expect(aborted.sort()).toEqual([0, 1]);
    expect(runtime.timers.pending).toBe(0);
  });

  it('never duplicates a non-idempotent call unless it carries an idempotency key', async () => {
    const policyWide = setup({ initialDelayMs: 10, maxHedges: 2, idempotent: false });
    const p1 = policyWide.hedge.execute(policyWide.replica([100]));
    await policyWide.scheduler.run();
    expect(await p1).toBe('attempt 0');
    expect(policyWide.starts).toEqual([0]); // no hedge at 10 or 20 ms

    const perCall = setup({ initialDelayMs: 10, maxHedges: 1 });
    const p2 = perCall.hedge.execute(perCall.replica([100]), { idempotent: false });
    await perCall.scheduler.run();
    expect(await p2).toBe('attempt 0');
    expect(perCall.starts).toEqual([0]);
    expect(perCall.runtime.timers.pending).toBe(0);

    const keyed = setup({ initialDelayMs: 10, maxHedges: 1, idempotent: false });
    const keys: (string | undefined)[] = [];
    const p3 = keyed.hedge.execute(
      (ctx) => {
        keys.push(ctx.idempotencyKey);
        return keyed.replica([100, 20])(ctx);
      },
      { idempotencyKey: 'pay-7' },
    );
    await keyed.scheduler.run();
    expect(await p3).toBe('attempt 1');
    expect(keyed.starts).toEqual([0, 10]);
    expect(keys).toEqual(['pay-7', 'pay-7']);
  });

  it('validates options', () => {
    expect(() => new Hedge({ idempotent: 'no' as unknown as boolean })).toThrow(/idempotent/);
    expect(() => new Hedge({ maxHedges: 11 })).toThrow(/maxHedges/);
    expect(() => new Hedge({ quantile: 2 })).toThrow(/quantile/);
    expect(() => new Hedge({ minDelayMs: 10, maxDelayMs: 5 })).toThrow(/maxDelayMs/);
    expect(() => new Hedge({ estimator: {} as LatencyEstimator })).toThrow(/estimator/);
  });
});

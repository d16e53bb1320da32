import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AbortedError } from '../core/errors.js';
import { createSimRuntime, Scheduler } from '../sim/index.js';
import { Bulkhead } from './bulkhead.js';
import type { BulkheadRejectedError } from './errors.js';
import { isBulkheadRejectedError } from './errors.js';

function setup(maxConcurrent: number, maxQueue: number) {
  const scheduler = new Scheduler({ seed: 1 });
  const runtime = createSimRuntime(scheduler, 'bulkhead');
  const bulkhead = new Bulkhead({ maxConcurrent, maxQueue });
  let running = 0;
  let peak = 0;
  const log: string[] = [];
  const job = (name: string, ms: number) => async (): Promise<string> => {
    running++;
    peak = Math.max(peak, running);
    log.push(`start ${name} @${runtime.clock.monotonicMs()}`);
    await runtime.timers.sleep(ms);
    running--;
    return name;
  };
  return { scheduler, runtime, bulkhead, job, log, peak: () => peak };
}

describe('Bulkhead', () => {
  it('runs at most maxConcurrent calls and queues the rest in FIFO order', async () => {
    const { bulkhead, scheduler, job, log, peak } = setup(2, 3);
    const all = ['a', 'b', 'c', 'd', 'e'].map((n) => bulkhead.execute(job(n, 10)));
    expect(bulkhead.running).toBe(2);
    expect(bulkhead.queueLength).toBe(3);
    await scheduler.run();
    expect(await Promise.all(all)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(peak()).toBe(2);
    expect(log).toEqual(['start a @0', 'start b @0', 'start c @10', 'start d @10', 'start e @20']);
    expect(bulkhead.running).toBe(0);
  });

  it('rejects with BulkheadRejectedError when the queue is full', async () => {
    const { bulkhead, scheduler, job } = setup(1, 1);
    const a = bulkhead.execute(job('a', 10));
    const b = bulkhead.execute(job('b', 10));
    const c = await bulkhead.execute(job('c', 10)).catch((e: unknown) => e);
    expect(isBulkheadRejectedError(c)).toBe(true);
    expect((c as BulkheadRejectedError).code).toBe('FAULTLINE_BULKHEAD_REJECTED');
    await scheduler.run();
    expect(await Promise.all([a, b])).toEqual(['a', 'b']);
  });

  it('frees the slot when a call fails, throws synchronously or returns a plain value', async () => {
    const { bulkhead } = setup(1, 0);
    await expect(bulkhead.execute(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(
      bulkhead.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(await bulkhead.execute(() => 7)).toBe(7);
    expect(bulkhead.running).toBe(0);
  });

  it('lets a queued waiter leave when its signal aborts, and never runs it', async () => {
    const { bulkhead, scheduler, job, log } = setup(1, 2);
    const controller = new AbortController();
    const a = bulkhead.execute(job('a', 10));
    const b = bulkhead.execute(job('b', 10), controller.signal).catch((e: unknown) => e);
    const c = bulkhead.execute(job('c', 10));
    scheduler.after(5, () => controller.abort(new AbortedError('no longer needed')));
    await scheduler.run();
    expect(((await b) as Error).message).toBe('no longer needed');
    expect(await Promise.all([a, c])).toEqual(['a', 'c']);
    expect(log).toEqual(['start a @0', 'start c @10']);
    expect(bulkhead.queueLength).toBe(0);
  });

  it('rejects at once a call whose signal has already aborted when it would queue', async () => {
    const { bulkhead, scheduler, job } = setup(1, 1);
    const a = bulkhead.execute(job('a', 10));
    const aborted = AbortSignal.abort(new AbortedError('already'));
    await expect(bulkhead.execute(job('b', 1), aborted)).rejects.toThrow('already');
    expect(bulkhead.queueLength).toBe(0);
    await scheduler.run();
    await a;
  });

  it('never exceeds its limits, and admits exactly what fits (random arrivals, property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.array(
          fc.record({ at: fc.integer({ min: 0, max: 50 }), ms: fc.integer({ min: 1, max: 30 }) }),
          { maxLength: 25 },
        ),
        async (maxConcurrent, maxQueue, jobs) => {
          const scheduler = new Scheduler({ seed: 5 });
          const runtime = createSimRuntime(scheduler, 'bulkhead');
          const bulkhead = new Bulkhead({ maxConcurrent, maxQueue });
          let running = 0;
          let completed = 0;
          let rejectedCount = 0;
          let expectedRejected = 0;
          const all: Promise<unknown>[] = [];
          for (const job of jobs) {
            scheduler.at(job.at, () => {
              // The reference: a call is rejected exactly when every slot and queue place is taken.
              if (bulkhead.running === maxConcurrent && bulkhead.queueLength === maxQueue)
                expectedRejected++;
              all.push(
                bulkhead
                  .execute(async () => {
                    running++;
                    expect(running).toBeLessThanOrEqual(maxConcurrent);
                    await runtime.timers.sleep(job.ms);
                    running--;
                    completed++;
                  })
                  .catch((e: unknown) => {
                    expect(isBulkheadRejectedError(e)).toBe(true);
                    rejectedCount++;
                  }),
              );
              expect(bulkhead.queueLength).toBeLessThanOrEqual(maxQueue);
            });
          }
          await scheduler.run();
          await Promise.all(all);
          expect(rejectedCount).toBe(expectedRejected);
          expect(completed + rejectedCount).toBe(jobs.length);
          expect(bulkhead.running).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('validates options', () => {
    expect(() => new Bulkhead({ maxConcurrent: 0 })).toThrow(/maxConcurrent/);
    expect(() => new Bulkhead({ maxConcurrent: 1, maxQueue: -1 })).toThrow(/maxQueue/);
  });
});

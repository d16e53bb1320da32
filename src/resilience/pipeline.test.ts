import { describe, expect, expectTypeOf, it } from 'vitest';
import { createSimRuntime, Scheduler } from '../sim/index.js';
import { CircuitBreaker } from './breaker.js';
import { Bulkhead } from './bulkhead.js';
import { isBrokenCircuitError, isTimeoutError } from './errors.js';
import { pipeline, Pipeline } from './pipeline.js';
import type { ExecuteContext, Policy, Step } from './policy.js';
import { callCallee, contextOf } from './policy.js';
import { Retry } from './retry.js';
import { Timeout } from './timeout.js';

/** A policy that logs when calls enter and leave it. */
class Tracer implements Policy {
  constructor(
    private readonly name: string,
    private readonly log: string[],
  ) {}
  execute<T>(fn: (ctx: ExecuteContext) => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
    return this.run(callCallee<T>, fn, contextOf(signal));
  }
  async run<A, T>(step: Step<A, T>, arg: A, context: ExecuteContext): Promise<T> {
    this.log.push(`>${this.name}`);
    try {
      return await step(arg, context);
    } finally {
      this.log.push(`<${this.name}`);
    }
  }
}

describe('pipeline', () => {
  it('applies policies outermost first', async () => {
    const log: string[] = [];
    const p = pipeline(new Tracer('a', log), new Tracer('b', log), new Tracer('c', log));
    expect(await p.execute(() => (log.push('fn'), 1))).toBe(1);
    expect(log).toEqual(['>a', '>b', '>c', 'fn', '<c', '<b', '<a']);
  });

  it('nests, and passes the context through every layer', async () => {
    const log: string[] = [];
    const inner = pipeline(new Tracer('b', log));
    const outer = pipeline(new Tracer('a', log), inner);
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    await outer.execute(({ signal }) => ((seen = signal), 0), controller.signal);
    expect(seen).toBe(controller.signal);
    expect(log).toEqual(['>a', '>b', '<b', '<a']);
  });

  it('retry outside a timeout retries each timed-out attempt; inside, one timeout bounds all', async () => {
    const scheduler = new Scheduler({ seed: 1 });
    const runtime = createSimRuntime(scheduler, 'pipeline');
    const slow = (): Promise<never> =>
      runtime.timers.sleep(1000).then(() => Promise.reject(new Error('slow')));
    let attempts = 0;
    const counted = (): Promise<never> => (attempts++, slow());
    const retry = new Retry({ maxAttempts: 3, backoff: { baseMs: 1, jitter: 'none' }, runtime });
    const timeout = new Timeout({ timeoutMs: 100, strategy: 'aggressive', runtime });

    const perAttempt = pipeline(retry, timeout)
      .execute(counted)
      .catch((e: unknown) => e);
    await scheduler.run();
    expect(isTimeoutError(await perAttempt)).toBe(true);
    expect(attempts).toBe(3);

    attempts = 0;
    const overall = pipeline(timeout, retry)
      .execute(counted)
      .catch((e: unknown) => e);
    await scheduler.run();
    expect(isTimeoutError(await overall)).toBe(true);
    expect(attempts).toBe(1);
    expect(runtime.timers.pending).toBe(0);
  });

  it('retry outside a breaker sees BrokenCircuitError once the circuit opens', async () => {
    const scheduler = new Scheduler({ seed: 1 });
    const runtime = createSimRuntime(scheduler, 'pipeline');
    const breaker = new CircuitBreaker({ policy: { kind: 'consecutive', threshold: 2 }, runtime });
    const policy = pipeline(
      new Retry({ maxAttempts: 5, backoff: { baseMs: 1 }, runtime }),
      breaker,
      new Bulkhead({ maxConcurrent: 1 }),
    );
    let calls = 0;
    const out = policy
      .execute(() => (calls++, Promise.reject(new Error('down'))))
      .catch((e: unknown) => e);
    await scheduler.run();
    expect(isBrokenCircuitError(await out)).toBe(true);
    expect(calls).toBe(2);
  });

  it('keeps the types of its policies', () => {
    const p = pipeline(new Retry(), new Timeout({ timeoutMs: 10 }));
    expectTypeOf(p.policies).toEqualTypeOf<readonly [Retry, Timeout]>();
    expect(p.policies[0]).toBeInstanceOf(Retry);
    expect(p.policies[1]).toBeInstanceOf(Timeout);
  });

  it('rejects an empty or invalid list', () => {
    expect(() => new Pipeline([])).toThrow(/policies.length/);
    expect(() => new Pipeline([{} as Policy])).toThrow(/policies\[0\]/);
  });
});

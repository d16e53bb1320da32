import { channel } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import type { ListenerErrorMessage } from '../core/events.js';
import { createSimRuntime, Scheduler } from '../sim/index.js';
import { CircuitBreaker } from './breaker.js';
import { Bulkhead } from './bulkhead.js';
import { isBulkheadRejectedError, isTimeoutError } from './errors.js';
import type { CallFailureEvent, CallSuccessEvent } from './events.js';
import { Hedge } from './hedge.js';
import type { HedgeEvent } from './hedge.js';
import { Pipeline } from './pipeline.js';
import { Retry } from './retry.js';
import type { RetryEvent, RetryGiveUpEvent } from './retry.js';
import { Timeout } from './timeout.js';
import type { TimeoutEvent } from './timeout.js';

function sim() {
  const scheduler = new Scheduler({ seed: 3 });
  const runtime = createSimRuntime(scheduler, 'events');
  return { scheduler, runtime };
}

/** Records every outcome a policy reports. */
function outcomes(policy: {
  onSuccess(l: (e: CallSuccessEvent) => void): unknown;
  onFailure(l: (e: CallFailureEvent) => void): unknown;
}) {
  const successes: CallSuccessEvent[] = [];
  const failures: CallFailureEvent[] = [];
  policy.onSuccess((e) => successes.push(e));
  policy.onFailure((e) => failures.push(e));
  return { successes, failures };
}

/** Collects what `faultline:events:listener-error` reports while `fn` runs. */
async function listenerErrors(fn: () => Promise<void>): Promise<ListenerErrorMessage[]> {
  const seen: ListenerErrorMessage[] = [];
  const ch = channel('faultline:events:listener-error');
  const sub = (m: unknown) => seen.push(m as ListenerErrorMessage);
  ch.subscribe(sub);
  try {
    await fn();
  } finally {
    ch.unsubscribe(sub);
  }
  return seen;
}

const boom = (): never => {
  throw new Error('listener bug');
};

describe('Retry events', () => {
  it('reports retries, the final success with its total duration, and the give-up', async () => {
    const { scheduler, runtime } = sim();
    const retry = new Retry({
      maxAttempts: 3,
      backoff: { kind: 'constant', baseMs: 100, jitter: 'none' },
      runtime,
    });
    const { successes, failures } = outcomes(retry);
    const retries: RetryEvent[] = [];
    const giveUps: RetryGiveUpEvent[] = [];
    retry.onRetry((e) => retries.push(e));
    retry.onGiveUp((e) => giveUps.push(e));
    let calls = 0;
    const ok = retry.execute(() => (++calls < 3 ? Promise.reject(new Error(`e${calls}`)) : 'ok'));
    expect(await scheduler.runUntilSettled(ok)).toBe('ok');
    expect(retries.map((r) => [r.attempt, r.delayMs])).toEqual([
      [0, 100],
      [1, 100],
    ]);
    expect(successes).toEqual([{ durationMs: 200 }]);
    expect(failures).toEqual([]);
    expect(giveUps).toEqual([]);

    const last = new Error('still down');
    const bad = retry.execute(() => Promise.reject(last));
    await expect(scheduler.runUntilSettled(bad)).rejects.toBe(last);
    expect(giveUps).toEqual([
      { attempts: 3, reason: 'attempts', outcome: { kind: 'error', error: last, attempt: 2 } },
    ]);
    expect(failures).toEqual([{ error: last, durationMs: 200 }]);
  });

  it('gives up a non-idempotent call at once and names why', async () => {
    const { scheduler, runtime } = sim();
    const retry = new Retry({ maxAttempts: 5, runtime });
    const giveUps: RetryGiveUpEvent[] = [];
    retry.onGiveUp((e) => giveUps.push(e));
    const p = retry.execute(() => Promise.reject(new Error('x')), { idempotent: false });
    await expect(scheduler.runUntilSettled(p)).rejects.toThrow('x');
    expect(giveUps.map((g) => [g.attempts, g.reason])).toEqual([[1, 'non-idempotent']]);
  });

  it('a throwing listener changes nothing and is reported on the listener-error channel', async () => {
    const { scheduler, runtime } = sim();
    const retry = new Retry({ maxAttempts: 2, backoff: { baseMs: 10, jitter: 'none' }, runtime });
    for (const on of [retry.onSuccess, retry.onFailure, retry.onRetry, retry.onGiveUp])
      on.call(retry, boom);
    let calls = 0;
    const errors = await listenerErrors(async () => {
      const ok = retry.execute(() => (++calls === 1 ? Promise.reject(new Error('once')) : 7));
      expect(await scheduler.runUntilSettled(ok)).toBe(7);
      const bad = retry.execute(() => Promise.reject(new Error('always')));
      await expect(scheduler.runUntilSettled(bad)).rejects.toThrow('always');
    });
    // onRetry, onSuccess; then onRetry, onGiveUp, onFailure.
    expect(errors.map((e) => (e.error as Error).message)).toEqual(Array(5).fill('listener bug'));
  });
});

describe('CircuitBreaker listeners', () => {
  it('a throwing onSuccess no longer turns a success into a rejection', async () => {
    const breaker = new CircuitBreaker();
    breaker.onSuccess(boom);
    breaker.onFailure(boom);
    const errors = await listenerErrors(async () => {
      expect(await breaker.execute(() => 42)).toBe(42);
      await expect(breaker.execute(() => Promise.reject(new Error('down')))).rejects.toThrow(
        'down',
      );
    });
    expect(errors).toHaveLength(2);
  });
});

describe('Timeout events', () => {
  it('reports the deadline, then the failure; a fast call as a success', async () => {
    const { scheduler, runtime } = sim();
    const timeout = new Timeout({ timeoutMs: 100, runtime });
    const { successes, failures } = outcomes(timeout);
    const deadlines: TimeoutEvent[] = [];
    timeout.onTimeout((e) => deadlines.push(e));
    const slow = timeout.execute(({ signal }) => runtime.timers.sleep(500, signal));
    await expect(scheduler.runUntilSettled(slow)).rejects.toSatisfy(isTimeoutError);
    expect(deadlines).toEqual([{ timeoutMs: 100 }]);
    expect(failures).toHaveLength(1);
    expect(isTimeoutError(failures[0]?.error)).toBe(true);
    expect(failures[0]?.durationMs).toBe(100);
    const fast = timeout.execute(() => runtime.timers.sleep(30).then(() => 'fast'));
    expect(await scheduler.runUntilSettled(fast)).toBe('fast');
    expect(successes).toEqual([{ durationMs: 30 }]);
    expect(deadlines).toHaveLength(1);
  });

  it('a throwing listener does not change the result', async () => {
    const { scheduler, runtime } = sim();
    const timeout = new Timeout({ timeoutMs: 100, strategy: 'aggressive', runtime });
    timeout.onTimeout(boom);
    timeout.onFailure(boom);
    timeout.onSuccess(boom);
    const errors = await listenerErrors(async () => {
      const slow = timeout.execute(() => runtime.timers.sleep(500));
      await expect(scheduler.runUntilSettled(slow)).rejects.toSatisfy(isTimeoutError);
      expect(await scheduler.runUntilSettled(timeout.execute(() => 1))).toBe(1);
    });
    expect(errors).toHaveLength(3);
  });
});

describe('Bulkhead events', () => {
  it('reports rejections (not as failures) and the outcome of admitted calls', async () => {
    const { scheduler, runtime } = sim();
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, runtime });
    const { successes, failures } = outcomes(bulkhead);
    const rejected: unknown[] = [];
    bulkhead.onRejected((e) => rejected.push(e));
    const first = bulkhead.execute(() => runtime.timers.sleep(50).then(() => 'a'));
    const queued = bulkhead.execute(() => Promise.reject(new Error('b'))).catch((e: unknown) => e);
    const third = bulkhead.execute(() => 'c');
    await expect(third).rejects.toSatisfy(isBulkheadRejectedError);
    expect(rejected).toEqual([{ active: 1, queued: 1 }]);
    expect(await scheduler.runUntilSettled(first)).toBe('a');
    expect(await scheduler.runUntilSettled(queued)).toEqual(new Error('b'));
    expect(successes).toEqual([{ durationMs: 50 }]);
    // The queued call waited 50 ms for its slot: durationMs includes the queue.
    expect(failures.map((f) => [(f.error as Error).message, f.durationMs])).toEqual([['b', 50]]);
  });

  it('a throwing listener does not leak a slot or change results', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    bulkhead.onRejected(boom);
    bulkhead.onSuccess(boom);
    const errors = await listenerErrors(async () => {
      expect(await bulkhead.execute(() => 1)).toBe(1);
      let release = (): void => undefined;
      const held = bulkhead.execute(() => new Promise<void>((r) => (release = r)));
      await expect(bulkhead.execute(() => 2)).rejects.toSatisfy(isBulkheadRejectedError);
      release();
      await held;
      expect(bulkhead.running).toBe(0);
    });
    expect(errors).toHaveLength(3);
  });
});

describe('Hedge events', () => {
  it('reports each hedge with its trigger, then the winner as one success', async () => {
    const { scheduler, runtime } = sim();
    const hedge = new Hedge({ maxHedges: 2, initialDelayMs: 100, runtime });
    const { successes, failures } = outcomes(hedge);
    const hedges: HedgeEvent[] = [];
    hedge.onHedge((e) => hedges.push(e));
    let attempt = 0;
    const p = hedge.execute(({ signal }) => {
      const n = attempt++;
      if (n === 1) return Promise.reject(new Error('replica down'));
      return runtime.timers.sleep(n === 0 ? 1000 : 20, signal).then(() => `attempt ${n}`);
    });
    expect(await scheduler.runUntilSettled(p)).toBe('attempt 2');
    expect(hedges).toEqual([
      { attempt: 1, trigger: 'delay' },
      { attempt: 2, trigger: 'failure' },
    ]);
    expect(successes).toEqual([{ durationMs: 120 }]);
    expect(failures).toEqual([]);
  });

  it('reports a failure when every attempt fails, whatever its listeners throw', async () => {
    const { scheduler, runtime } = sim();
    const hedge = new Hedge({ maxHedges: 1, initialDelayMs: 100, runtime });
    const { failures } = outcomes(hedge);
    hedge.onHedge(boom);
    hedge.onFailure(boom);
    const errors = await listenerErrors(async () => {
      const p = hedge.execute(() => Promise.reject(new Error('down')));
      await expect(scheduler.runUntilSettled(p)).rejects.toThrow('down');
    });
    expect(failures.map((f) => (f.error as Error).message)).toEqual(['down']);
    expect(errors).toHaveLength(2);
  });
});

describe('Pipeline events', () => {
  it('reports the outcome of the whole composition, each layer its own', async () => {
    const { scheduler, runtime } = sim();
    const retry = new Retry({ maxAttempts: 2, backoff: { baseMs: 10, jitter: 'none' }, runtime });
    const timeout = new Timeout({ timeoutMs: 100, runtime });
    const policy = new Pipeline([retry, timeout], { runtime });
    const whole = outcomes(policy);
    const inner = outcomes(timeout);
    const slow = policy.execute(({ signal }) => runtime.timers.sleep(500, signal));
    await expect(scheduler.runUntilSettled(slow)).rejects.toSatisfy(isTimeoutError);
    // Two attempts of 100 ms each and a 10 ms pause between them.
    expect(whole.failures.map((f) => f.durationMs)).toEqual([210]);
    expect(inner.failures.map((f) => f.durationMs)).toEqual([100, 100]);
    policy.onSuccess(boom);
    const errors = await listenerErrors(async () => {
      expect(await scheduler.runUntilSettled(policy.execute(() => 'ok'))).toBe('ok');
    });
    expect(whole.successes).toEqual([{ durationMs: 0 }]);
    expect(errors).toHaveLength(1);
  });

  it('stops calling a disposed listener', async () => {
    const policy = new Pipeline([new Retry()]);
    const seen: CallSuccessEvent[] = [];
    const sub = policy.onSuccess((e) => seen.push(e));
    await policy.execute(() => 1);
    sub.dispose();
    await policy.execute(() => 2);
    expect(seen).toHaveLength(1);
  });
});

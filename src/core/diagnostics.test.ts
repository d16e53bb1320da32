/**
 * Every policy and coordination resource publishes on `faultline:<module>:<event>`
 * (docs/observability.md): TracingChannels around calls, plain channels for events.
 */
import { channel, tracingChannel } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { Lock, MemoryLockBackend, Semaphore } from '../coord/index.js';
import { Bulkhead, CircuitBreaker, Hedge, Retry, Timeout, pipeline } from '../resilience/index.js';
import { createSimRuntime, Scheduler } from '../sim/index.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Records the events of the TracingChannel `name`. */
function traceOf(name: string): { kind: string; context: Record<string, unknown> }[] {
  const seen: { kind: string; context: Record<string, unknown> }[] = [];
  const handlers = {
    start: (c: unknown) => seen.push({ kind: 'start', context: c as Record<string, unknown> }),
    end: (c: unknown) => seen.push({ kind: 'end', context: c as Record<string, unknown> }),
    asyncStart: (c: unknown) =>
      seen.push({ kind: 'asyncStart', context: c as Record<string, unknown> }),
    asyncEnd: (c: unknown) =>
      seen.push({ kind: 'asyncEnd', context: c as Record<string, unknown> }),
    error: (c: unknown) => seen.push({ kind: 'error', context: c as Record<string, unknown> }),
  };
  const tc = tracingChannel(name);
  tc.subscribe(handlers);
  cleanups.push(() => tc.unsubscribe(handlers));
  return seen;
}

/** Records the messages of the channel `name`. */
function eventsOf(name: string): unknown[] {
  const seen: unknown[] = [];
  const listener = (message: unknown): void => void seen.push(message);
  channel(name).subscribe(listener);
  cleanups.push(() => channel(name).unsubscribe(listener));
  return seen;
}

const kinds = (trace: { kind: string }[]): string[] => trace.map((e) => e.kind);

describe('diagnostics channels of the policies', () => {
  it('trace every execute: start, end, asyncStart, asyncEnd, with result or error', async () => {
    const policies = {
      retry: new Retry({ maxAttempts: 1 }),
      breaker: new CircuitBreaker(),
      bulkhead: new Bulkhead({ maxConcurrent: 1 }),
      hedge: new Hedge({ maxHedges: 0 }),
      pipeline: pipeline(new Retry({ maxAttempts: 1 })),
    };
    for (const [module, policy] of Object.entries(policies)) {
      const trace = traceOf(`faultline:${module}:execute`);
      expect(await policy.execute(() => 42)).toBe(42);
      expect(kinds(trace)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
      expect(trace[0]?.context['policy']).toBe(policy);
      expect(trace[3]?.context['result']).toBe(42);
      trace.length = 0;
      const boom = new Error('boom');
      await expect(policy.execute(() => Promise.reject(boom))).rejects.toBe(boom);
      expect(kinds(trace)).toContain('error');
      expect(trace.find((e) => e.kind === 'error')?.context['error']).toBe(boom);
    }
  });

  it('publish retries, breaker state changes, failures and rejections, bulkhead rejections', async () => {
    const retries = eventsOf('faultline:retry:retry');
    const scheduler = new Scheduler({ seed: 1 });
    const runtime = createSimRuntime(scheduler, 'retry');
    const retry = new Retry({ maxAttempts: 3, backoff: { baseMs: 10, jitter: 'none' }, runtime });
    let calls = 0;
    const done = retry.execute(() => (++calls < 3 ? Promise.reject(new Error('x')) : 'ok'));
    expect(await scheduler.runUntilSettled(done)).toBe('ok');
    expect(retries).toHaveLength(2);

    const states = eventsOf('faultline:breaker:state');
    const failures = eventsOf('faultline:breaker:failure');
    const rejections = eventsOf('faultline:breaker:reject');
    const breaker = new CircuitBreaker({ policy: { kind: 'consecutive', threshold: 1 } });
    await expect(breaker.execute(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(breaker.execute(() => 1)).rejects.toThrow();
    expect(states).toEqual([{ from: 'closed', to: 'open' }]);
    expect(failures).toHaveLength(1);
    expect(rejections).toEqual([{ state: 'open' }]);

    const full = eventsOf('faultline:bulkhead:reject');
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 0 });
    let release = (): void => undefined;
    const first = bulkhead.execute(() => new Promise<void>((r) => (release = r)));
    await expect(bulkhead.execute(() => 1)).rejects.toThrow();
    release();
    await first;
    expect(full).toEqual([{ policy: bulkhead, active: 1, queued: 0 }]);
  });

  it('publish timeouts', async () => {
    const timeouts = eventsOf('faultline:timeout:timeout');
    const scheduler = new Scheduler({ seed: 1 });
    const runtime = createSimRuntime(scheduler, 'timeout');
    const timeout = new Timeout({ timeoutMs: 100, runtime });
    const p = timeout.execute(({ signal }) => runtime.timers.sleep(1000, signal));
    p.catch(() => undefined);
    await scheduler.run({ untilMs: 200 });
    await expect(p).rejects.toThrow();
    expect(timeouts).toEqual([{ policy: timeout, timeoutMs: 100 }]);
  });
});

describe('diagnostics channels of coordination', () => {
  it('trace acquire and try-acquire of locks and semaphores, and publish lease losses', async () => {
    const scheduler = new Scheduler({ seed: 7 });
    const runtime = createSimRuntime(scheduler, 'client');
    const backend = new MemoryLockBackend({ runtime });
    const lock = new Lock(backend, { runtime });
    const acquires = traceOf('faultline:lock:acquire');
    const tries = traceOf('faultline:lock:try-acquire');
    const lost = eventsOf('faultline:lock:lost');
    const lease = await scheduler.runUntilSettled(lock.acquire('k', { ttlMs: 100 }));
    expect(kinds(acquires)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(acquires[0]?.context['key']).toBe('k');
    expect(acquires[3]?.context['result']).toBe(lease);
    expect(await scheduler.runUntilSettled(lock.tryAcquire('k', { ttlMs: 100 }))).toBeNull();
    expect(kinds(tries)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    // Nobody renews: the lease expires, and its loss is published.
    await scheduler.run({ untilMs: 1000 });
    expect(lease.valid).toBe(false);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ key: 'k', token: lease.token });

    backend.close();
    // Semaphores go through the same instrumentation (src/coord/diagnostics.ts).
    expect(Semaphore.prototype.acquire).not.toBe(Lock.prototype.acquire);
  });

  it('nobody subscribed: nothing is published', async () => {
    const retry = new Retry({ maxAttempts: 1 });
    expect(tracingChannel('faultline:retry:execute').hasSubscribers).toBe(false);
    expect(await retry.execute(() => 7)).toBe(7);
  });
});

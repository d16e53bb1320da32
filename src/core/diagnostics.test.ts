/**
 * Every policy and coordination resource publishes on `faultline:<module>:<event>`
 * (docs/observability.md): TracingChannels around calls, plain channels for events.
 */
import { channel, tracingChannel } from 'node:diagnostics_channel';
import { readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Election,
  Lock,
  MemoryLockBackend,
  MemorySemaphoreBackend,
  Semaphore,
} from '../coord/index.js';
import { Bulkhead, CircuitBreaker, Hedge, Retry, Timeout, pipeline } from '../resilience/index.js';
import { createSimRuntime, Scheduler } from '../sim/index.js';
import { CALL_CHANNELS, EVENT_CHANNELS, callChannel, eventChannel } from './diagnostics.js';
import type { CallChannelName, EventChannelName } from './diagnostics.js';

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
  });

  it('trace acquire and try-acquire of semaphores, and publish permit losses', async () => {
    const scheduler = new Scheduler({ seed: 7 });
    const runtime = createSimRuntime(scheduler, 'client');
    const backend = new MemorySemaphoreBackend({ runtime });
    const pool = new Semaphore(backend, { permits: 1, runtime });
    const acquires = traceOf('faultline:semaphore:acquire');
    const tries = traceOf('faultline:semaphore:try-acquire');
    const lost = eventsOf('faultline:semaphore:lost');
    const lockAcquires = traceOf('faultline:lock:acquire');
    const permit = await scheduler.runUntilSettled(pool.acquire('exports', { ttlMs: 100 }));
    expect(kinds(acquires)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(acquires[0]?.context).toMatchObject({ resource: pool, key: 'exports' });
    expect(acquires[3]?.context['result']).toBe(permit);
    expect(lockAcquires).toEqual([]);
    // The only permit is held: the try resolves with null, traced all the same.
    expect(await scheduler.runUntilSettled(pool.tryAcquire('exports', { ttlMs: 100 }))).toBeNull();
    expect(kinds(tries)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(tries[3]?.context).toMatchObject({ key: 'exports', result: null });
    // A refused key is a traced error (the rejection, not a throw).
    await expect(pool.acquire('', { ttlMs: 100 })).rejects.toThrow(/key/);
    expect(acquires.at(-1)?.context['error']).toBeInstanceOf(RangeError);
    await scheduler.run({ untilMs: 1000 });
    expect(permit.valid).toBe(false);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ key: 'exports', token: permit.token });
    backend.close();
  });

  it('trace campaigns and publish a leadership loss once, however many callers campaigned', async () => {
    const scheduler = new Scheduler({ seed: 7 });
    const runtime = createSimRuntime(scheduler, 'client');
    const backend = new MemoryLockBackend({ runtime });
    const election = new Election(backend, {
      key: 'leader',
      candidateId: 'a',
      runtime,
      leaseDurationMs: 1_500,
      renewDeadlineMs: 1_000,
      retryPeriodMs: 200,
    });
    const campaigns = traceOf('faultline:election:campaign');
    const lost = eventsOf('faultline:election:lost');
    const leadership = await scheduler.runUntilSettled(election.campaign());
    expect(kinds(campaigns)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(campaigns[0]?.context['resource']).toBe(election);
    expect(campaigns[3]?.context['result']).toBe(leadership);
    // Already leading: resolves at once with the same leadership, and is traced too.
    expect(await scheduler.runUntilSettled(election.campaign())).toBe(leadership);
    expect(campaigns).toHaveLength(8);
    // Cut off from the backend, the leader steps down: one loss, not one per campaign call.
    backend.extend = () => Promise.reject(new Error('network down'));
    await scheduler.run({ until: () => lost.length > 0, untilMs: scheduler.nowMs + 3_000 });
    await scheduler.run({ untilMs: scheduler.nowMs + 100 });
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ key: 'leader', token: leadership.term });
    expect((lost[0] as { error: { reason: string } }).error.reason).toBe('unreachable');
    await election.close();
  });

  it('nobody subscribed: nothing is published', async () => {
    const retry = new Retry({ maxAttempts: 1 });
    expect(tracingChannel('faultline:retry:execute').hasSubscribers).toBe(false);
    expect(await retry.execute(() => 7)).toBe(7);
  });
});

describe('the channel registry', () => {
  it('lists each name once, and makes no channel under a name it does not list', () => {
    expect(new Set(CALL_CHANNELS).size).toBe(CALL_CHANNELS.length);
    expect(new Set(EVENT_CHANNELS).size).toBe(EVENT_CHANNELS.length);
    for (const name of [...CALL_CHANNELS, ...EVENT_CHANNELS])
      expect(name).toMatch(/^faultline:[a-z]+:[a-z0-9-]+$/);
    expect(() => eventChannel('faultline:cache:flush' as EventChannelName)).toThrow(
      /faultline:cache:flush is not in EVENT_CHANNELS/,
    );
    expect(() => callChannel('faultline:retry:retry' as CallChannelName)).toThrow(
      /faultline:retry:retry is not in CALL_CHANNELS/,
    );
  });

  it('is the only way to a channel: no other module reaches node:diagnostics_channel', () => {
    // The bridge subscribes; everything else publishes through eventChannel and callChannel,
    // whose names the registry (and so the bridge's contract test in src/otel) knows.
    const root = fileURLToPath(new URL('..', import.meta.url));
    const reaching = readdirSync(root, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
      .filter((file) =>
        /(from\s+|\(\s*)['"`](node:)?diagnostics_channel['"`]/.test(
          readFileSync(join(root, file), 'utf8'),
        ),
      )
      .map((file) => file.split(sep).join('/'))
      .sort();
    expect(reaching).toEqual(['core/diagnostics.ts', 'otel/index.ts']);
  });
});

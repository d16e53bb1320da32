/**
 * The OpenTelemetry bridge, checked with the SDK's own in-memory exporters: real policy and lock
 * calls in the simulator, and the spans and metric values the SDK actually produced.
 */
import { channel, hasSubscribers, tracingChannel } from 'node:diagnostics_channel';
import { SpanStatusCode } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import type { DataPoint, Histogram } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Election,
  Lock,
  MemoryLockBackend,
  MemorySemaphoreBackend,
  Semaphore,
} from '../coord/index.js';
import { Cache } from '../cache/index.js';
import { CircuitBreaker, Retry, Timeout, pipeline } from '../resilience/index.js';
import { MemoryDecisionLog, MemoryParticipant, TwoPhaseCommit } from '../txn/index.js';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import type { Runtime } from '../core/runtime.js';
import { CALL_CHANNELS, EVENT_CHANNELS } from '../core/diagnostics.js';
import type { EventChannelName } from '../core/diagnostics.js';
import { installOpenTelemetry } from './index.js';
import type { OpenTelemetryOptions } from './index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An SDK tracer and meter provider with in-memory exporters, and the bridge installed on them. */
function setup(runtime: Runtime, options: OpenTelemetryOptions = {}) {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(spans)],
  });
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // The interval is long: collection happens only when the test flushes.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const bridge = installOpenTelemetry({ tracerProvider, meterProvider, runtime, ...options });
  cleanups.push(async () => {
    bridge.dispose();
    await meterProvider.shutdown();
    await tracerProvider.shutdown();
  });
  /** The data points of metric `name` after a collection. */
  const points = async (name: string): Promise<DataPoint<unknown>[]> => {
    exporter.reset();
    await reader.forceFlush();
    const last = exporter.getMetrics().at(-1);
    const metric = last?.scopeMetrics
      .flatMap((s) => s.metrics)
      .find((m) => m.descriptor.name === name);
    return (metric?.dataPoints ?? []) as DataPoint<unknown>[];
  };
  /** The value of the data point of `name` whose attributes include `attributes`. */
  const value = async (name: string, attributes: Attributes): Promise<unknown> => {
    const matching = (await points(name)).filter((p) =>
      Object.entries(attributes).every(([k, v]) => p.attributes[k] === v),
    );
    if (matching.length !== 1) return matching.length === 0 ? undefined : matching;
    return matching[0]?.value;
  };
  /** Every metric's data points (attributes and values, not times) after a collection. */
  const snapshot = async (): Promise<string> => {
    exporter.reset();
    await reader.forceFlush();
    const metrics =
      exporter
        .getMetrics()
        .at(-1)
        ?.scopeMetrics.flatMap((s) => s.metrics) ?? [];
    return JSON.stringify(
      metrics.map((m) => [m.descriptor.name, m.dataPoints.map((p) => [p.attributes, p.value])]),
    );
  };
  return { bridge, spans: () => spans.getFinishedSpans(), points, value, snapshot };
}

const sim = (seed = 1) => {
  const scheduler = new Scheduler({ seed });
  return { scheduler, runtime: createSimRuntime(scheduler, 'client') };
};

const attributesOf = (span: ReadableSpan | undefined) => span?.attributes ?? {};

describe('faultline/otel: spans', () => {
  it('one span per retried call, with its retries as events; a failure sets the error status', async () => {
    const { scheduler, runtime } = sim();
    const { spans, value } = setup(runtime);
    const retry = new Retry({ maxAttempts: 3, backoff: { baseMs: 10, jitter: 'none' }, runtime });
    let calls = 0;
    const ok = retry.execute(() => (++calls < 3 ? Promise.reject(new Error('flaky')) : 'done'));
    expect(await scheduler.runUntilSettled(ok)).toBe('done');

    expect(spans()).toHaveLength(1);
    const span = spans()[0];
    expect(span?.name).toBe('faultline.retry.execute');
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    expect(attributesOf(span)).toMatchObject({
      'faultline.module': 'retry',
      'faultline.operation': 'execute',
      'faultline.retries': 2,
    });
    expect(span?.events.map((e) => [e.name, e.attributes?.['faultline.attempt']])).toEqual([
      ['retry', 0],
      ['retry', 1],
    ]);

    const fatal = new TypeError('bad request');
    const failed = new Retry({ maxAttempts: 1, runtime }).execute(() => Promise.reject(fatal));
    await expect(scheduler.runUntilSettled(failed)).rejects.toBe(fatal);
    const failure = spans()[1];
    expect(failure?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'bad request' });
    expect(attributesOf(failure)['error.type']).toBe('TypeError');
    // One attempt allowed: the retryable error is given up on, then thrown.
    expect(failure?.events.map((e) => e.name)).toEqual(['retry.give_up', 'exception']);
    expect(failure?.events[0]?.attributes).toEqual({ 'faultline.attempts': 1, reason: 'attempts' });

    expect(await value('faultline.calls', { 'faultline.outcome': 'success' })).toBe(1);
    expect(await value('faultline.calls', { 'faultline.outcome': 'failure' })).toBe(1);
    expect(await value('faultline.failures', { 'error.type': 'TypeError' })).toBe(1);
    expect(await value('faultline.retries', { 'faultline.retry.reason': 'error' })).toBe(2);
    expect(
      await value('faultline.retry.give_ups', { 'faultline.retry.give_up.reason': 'attempts' }),
    ).toBe(1);
    const duration = (await value('faultline.call.duration', {
      'faultline.outcome': 'success',
    })) as Histogram;
    // Simulated time: two backoffs of 10 and 20 ms, nothing else takes time.
    expect(duration.count).toBe(1);
    expect(duration.sum).toBe(30);
  });

  it('nests a lock acquire inside the retry that made it, with the key and fencing token', async () => {
    const { scheduler, runtime } = sim();
    const { spans } = setup(runtime, { nameOf: (t) => (t instanceof Lock ? 'jobs' : undefined) });
    const lock = new Lock(new MemoryLockBackend({ runtime }), { runtime });
    const retry = new Retry({ maxAttempts: 1, runtime });
    const lease = await scheduler.runUntilSettled(
      retry.execute(() => lock.acquire('jobs/1', { ttlMs: 1_000 })),
    );
    const [acquire, outer] = spans();
    expect(outer?.name).toBe('faultline.retry.execute');
    expect(acquire?.name).toBe('faultline.lock.acquire');
    expect(acquire?.parentSpanContext?.spanId).toBe(outer?.spanContext().spanId);
    expect(acquire?.spanContext().traceId).toBe(outer?.spanContext().traceId);
    expect(attributesOf(acquire)).toMatchObject({
      'faultline.name': 'jobs',
      'faultline.key': 'jobs/1',
      'faultline.acquired': true,
      'faultline.lease.token': lease.token.toString(),
    });
    expect(attributesOf(outer)['faultline.name']).toBeUndefined();
    await scheduler.runUntilSettled(lease.release());
  });

  it('records breaker transitions as span events, and counts timeouts', async () => {
    const { scheduler, runtime } = sim();
    const { spans, value } = setup(runtime);
    const breaker = new CircuitBreaker({ policy: { kind: 'consecutive', threshold: 1 }, runtime });
    const timeout = new Timeout({ timeoutMs: 100, runtime });
    const policy = pipeline(breaker, timeout);
    const call = policy.execute(({ signal }) => runtime.timers.sleep(1_000, signal));
    await expect(scheduler.runUntilSettled(call)).rejects.toThrow();
    const [span] = spans();
    expect(span?.name).toBe('faultline.pipeline.execute');
    // The deadline fires from a simulated timer, outside the call's async context, so the timeout
    // is counted but is no event of the span (a real timer keeps the context, and it would be).
    expect(span?.events.map((e) => e.name)).toEqual(['breaker.state', 'exception']);
    expect(attributesOf(span)['error.type']).toBe('FAULTLINE_TIMEOUT');
    expect(await value('faultline.timeouts', {})).toBe(1);
  });
});

describe('faultline/otel: metrics', () => {
  it('breaker state gauge, transitions and rejections', async () => {
    const { scheduler, runtime } = sim();
    const { value } = setup(runtime);
    const breaker = new CircuitBreaker({
      policy: { kind: 'consecutive', threshold: 2 },
      halfOpenAfterMs: 1_000,
      runtime,
    });
    const idle = new CircuitBreaker({ runtime });
    await scheduler.runUntilSettled(idle.execute(() => 1));
    const fail = () => breaker.execute(() => Promise.reject(new Error('down')));
    await expect(scheduler.runUntilSettled(fail())).rejects.toThrow('down');
    expect(await value('faultline.breaker.state', { 'faultline.breaker.state': 'closed' })).toBe(2);
    await expect(scheduler.runUntilSettled(fail())).rejects.toThrow('down');
    await expect(scheduler.runUntilSettled(breaker.execute(() => 1))).rejects.toThrow();
    expect(await value('faultline.breaker.state', { 'faultline.breaker.state': 'open' })).toBe(1);
    expect(await value('faultline.breaker.state', { 'faultline.breaker.state': 'closed' })).toBe(1);
    expect(
      await value('faultline.breaker.transitions', {
        'faultline.breaker.from': 'closed',
        'faultline.breaker.to': 'open',
      }),
    ).toBe(1);
    expect(await value('faultline.breaker.rejections', { 'faultline.breaker.state': 'open' })).toBe(
      1,
    );
    expect(
      await value('faultline.failures', {
        'faultline.module': 'breaker',
        'error.type': 'FAULTLINE_BROKEN_CIRCUIT',
      }),
    ).toBe(1);
    await scheduler.run({ untilMs: scheduler.nowMs + 1_500 });
    expect(await value('faultline.breaker.state', { 'faultline.breaker.state': 'half-open' })).toBe(
      1,
    );
  });

  it('lock wait time, busy tries and lease losses, in simulated milliseconds', async () => {
    const { scheduler, runtime } = sim(3);
    const { value } = setup(runtime);
    const backend = new MemoryLockBackend({ runtime });
    const lock = new Lock(backend, { runtime });
    const first = await scheduler.runUntilSettled(lock.acquire('k', { ttlMs: 10_000 }));
    const second = lock.acquire('k', { ttlMs: 100, waitMs: 5_000 });
    expect(await scheduler.runUntilSettled(lock.tryAcquire('k', { ttlMs: 100 }))).toBeNull();
    await scheduler.run({ untilMs: scheduler.nowMs + 250 });
    await scheduler.runUntilSettled(first.release());
    const lease = await scheduler.runUntilSettled(second);
    const wait = (await value('faultline.lock.wait', {
      'faultline.operation': 'acquire',
      'faultline.outcome': 'acquired',
    })) as Histogram;
    expect(wait.count).toBe(2);
    // The first acquire did not wait; the second waited the 250 simulated ms until the release.
    expect([wait.min, wait.max, wait.sum]).toEqual([0, 250, 250]);
    const busy = (await value('faultline.lock.wait', {
      'faultline.operation': 'try-acquire',
      'faultline.outcome': 'busy',
    })) as Histogram;
    expect(busy.count).toBe(1);
    // Nobody renews the second lease: it expires and its loss is counted.
    await scheduler.run({ untilMs: scheduler.nowMs + 1_000 });
    expect(lease.valid).toBe(false);
    expect(
      await value('faultline.lease.losses', {
        'faultline.module': 'lock',
        'faultline.loss.reason': 'expired',
      }),
    ).toBe(1);
    backend.close();
  });

  it('semaphores and elections produce their spans and wait metrics', async () => {
    const { scheduler, runtime } = sim();
    const { spans, value } = setup(runtime);
    const pool = new Semaphore(new MemorySemaphoreBackend({ runtime }), { permits: 1, runtime });
    const permit = await scheduler.runUntilSettled(pool.acquire('exports', { ttlMs: 1_000 }));
    expect(await scheduler.runUntilSettled(pool.tryAcquire('exports', { ttlMs: 1_000 }))).toBe(
      null,
    );
    const election = new Election(new MemoryLockBackend({ runtime }), {
      key: 'leader',
      candidateId: 'a',
      runtime,
    });
    const leadership = await scheduler.runUntilSettled(election.campaign());
    expect(spans().map((s) => [s.name, s.attributes['faultline.acquired']])).toEqual([
      ['faultline.semaphore.acquire', true],
      ['faultline.semaphore.try-acquire', false],
      ['faultline.election.campaign', true],
    ]);
    expect(spans()[2]?.attributes['faultline.lease.token']).toBe(leadership.term.toString());
    expect(
      await value('faultline.calls', {
        'faultline.module': 'semaphore',
        'faultline.operation': 'try-acquire',
      }),
    ).toBe(1);
    const campaigns = (await value('faultline.lock.wait', {
      'faultline.module': 'election',
    })) as Histogram;
    expect(campaigns.count).toBe(1);
    await scheduler.runUntilSettled(permit.release());
    await scheduler.runUntilSettled(election.resign());
    await scheduler.runUntilSettled(election.close());
  });
});

describe('faultline/otel: the other events', () => {
  it('every layer of a pipeline, leases, cache lookups and loads, transaction steps', async () => {
    const { scheduler, runtime } = sim();
    const { value } = setup(runtime);
    const layered = pipeline(
      new Retry({ maxAttempts: 2, runtime }),
      new Timeout({ timeoutMs: 50, runtime }),
    );
    await scheduler.runUntilSettled(layered.execute(() => 1));
    for (const module of ['pipeline', 'retry', 'timeout']) {
      const layer = (await value('faultline.policy.duration', {
        'faultline.module': module,
        'faultline.outcome': 'success',
      })) as Histogram;
      expect(layer.count).toBe(1);
    }

    const lock = new Lock(new MemoryLockBackend({ runtime }), { runtime });
    const lease = await scheduler.runUntilSettled(lock.acquire('k', { ttlMs: 1_000 }));
    await scheduler.runUntilSettled(lease.release());
    expect(await value('faultline.lease.acquisitions', { 'faultline.module': 'lock' })).toBe(1);
    expect(await value('faultline.lease.releases', { 'faultline.module': 'lock' })).toBe(1);

    const cache = new Cache<number>({ runtime });
    const load = () => runtime.timers.sleep(5).then(() => 7);
    await scheduler.runUntilSettled(cache.getOrLoad('k', load));
    await scheduler.runUntilSettled(cache.getOrLoad('k', load));
    expect(await value('faultline.cache.lookups', { 'faultline.cache.result': 'miss' })).toBe(1);
    expect(await value('faultline.cache.lookups', { 'faultline.cache.result': 'hit' })).toBe(1);
    const loads = (await value('faultline.cache.load.duration', {
      'faultline.outcome': 'success',
    })) as Histogram;
    expect([loads.count, loads.sum]).toEqual([1, 5]);
    await cache.close();

    const a = new MemoryParticipant('a');
    const log = new MemoryDecisionLog();
    const coordinator = new TwoPhaseCommit({ coordinatorId: 'c', log, participants: [a], runtime });
    await scheduler.runUntilSettled(
      coordinator.transaction(async (tx) => (await tx.enlist(a)).set('x', '1')),
    );
    const step = (kind: string) =>
      value('faultline.txn.steps', { 'faultline.txn.protocol': '2pc', 'faultline.txn.step': kind });
    expect(await step('prepared')).toBe(1);
    expect(await step('committed')).toBe(1);
    expect(
      await value('faultline.txn.steps', {
        'faultline.txn.step': 'finished',
        'faultline.txn.outcome': 'commit',
      }),
    ).toBe(1);
  });
});

describe('faultline/otel: install and uninstall', () => {
  it('subscribes only while installed; disposing leaves the channels without subscribers', async () => {
    const channel = tracingChannel('faultline:retry:execute');
    const { runtime, scheduler } = sim();
    expect(channel.hasSubscribers).toBe(false);
    const { bridge, spans } = setup(runtime);
    expect(channel.hasSubscribers).toBe(true);
    expect(bridge.installed).toBe(true);
    const retry = new Retry({ maxAttempts: 1, runtime });
    await scheduler.runUntilSettled(retry.execute(() => 1));
    bridge.dispose();
    expect(bridge.installed).toBe(false);
    expect(channel.hasSubscribers).toBe(false);
    for (const name of ['faultline:lock:acquire', 'faultline:election:campaign']) {
      expect(tracingChannel(name).hasSubscribers).toBe(false);
    }
    await scheduler.runUntilSettled(retry.execute(() => 2));
    expect(spans()).toHaveLength(1);
  });

  it('rejects bad options with the field and value', () => {
    expect(() => installOpenTelemetry({ traces: 'yes' as unknown as boolean })).toThrow(
      /traces must be a boolean \(got "yes"\)/,
    );
    expect(() => installOpenTelemetry({ maxBreakers: 0 })).toThrow(/maxBreakers/);
    expect(() => installOpenTelemetry({ nameOf: 5 as unknown as () => undefined })).toThrow(
      /nameOf/,
    );
  });
});

/**
 * A message for each event channel, shaped as its publisher sends it. The type asks for one per
 * name in EVENT_CHANNELS, so a new channel cannot be added without the test below covering it.
 */
const SAMPLES: Readonly<Record<EventChannelName, unknown>> = {
  'faultline:retry:retry': { attempt: 0, delayMs: 10, outcome: { kind: 'error', error: 1 } },
  'faultline:retry:give-up': { attempts: 3, reason: 'attempts', outcome: { kind: 'error' } },
  'faultline:retry:success': { durationMs: 1 },
  'faultline:retry:failure': { error: new Error('x'), durationMs: 1 },
  'faultline:breaker:state': { from: 'closed', to: 'open' },
  'faultline:breaker:reject': { state: 'open' },
  'faultline:breaker:success': { durationMs: 1 },
  'faultline:breaker:failure': { kind: 'slow', durationMs: 900 },
  'faultline:timeout:timeout': { timeoutMs: 100 },
  'faultline:timeout:success': { durationMs: 1 },
  'faultline:timeout:failure': { error: new Error('x'), durationMs: 1 },
  'faultline:bulkhead:reject': { active: 1, queued: 0 },
  'faultline:bulkhead:success': { durationMs: 1 },
  'faultline:bulkhead:failure': { error: new Error('x'), durationMs: 1 },
  'faultline:hedge:hedge': { attempt: 1, trigger: 'delay' },
  'faultline:hedge:success': { durationMs: 1 },
  'faultline:hedge:failure': { error: new Error('x'), durationMs: 1 },
  'faultline:pipeline:success': { durationMs: 1 },
  'faultline:pipeline:failure': { error: new Error('x'), durationMs: 1 },
  'faultline:lock:lost': { key: 'k', token: 1n, error: { reason: 'expired' } },
  'faultline:lock:acquired': { key: 'k', token: 1n },
  'faultline:lock:released': { key: 'k', token: 1n },
  'faultline:lock:acquire-failure': { key: 'k', error: new Error('x') },
  'faultline:semaphore:lost': { key: 'k', token: 1n, error: { reason: 'stolen' } },
  'faultline:semaphore:acquired': { key: 'k', token: 1n },
  'faultline:semaphore:released': { key: 'k', token: 1n },
  'faultline:semaphore:acquire-failure': { key: 'k', error: new Error('x') },
  'faultline:election:lost': { key: 'k', token: 1n, error: { reason: 'unreachable' } },
  'faultline:idempotency:started': { kind: 'started', key: 'k', epoch: 1, takeover: false },
  'faultline:idempotency:replayed': { kind: 'replayed', key: 'k' },
  'faultline:idempotency:waiting': { kind: 'waiting', key: 'k', retryAfterMs: 100 },
  'faultline:idempotency:completed': { kind: 'completed', key: 'k', epoch: 1 },
  'faultline:idempotency:failed': { kind: 'failed', key: 'k', epoch: 1, policy: 'forget' },
  'faultline:idempotency:fenced': { kind: 'fenced', key: 'k', epoch: 1, reason: 'taken-over' },
  'faultline:cache:hit': { kind: 'hit', key: 'k', early: false },
  'faultline:cache:miss': { kind: 'miss', key: 'k' },
  'faultline:cache:stale': { kind: 'stale', key: 'k', reason: 'revalidate' },
  'faultline:cache:load': { kind: 'load', key: 'k', durationMs: 5, ok: true },
  'faultline:cache:evict': { kind: 'evict', key: 'k', reason: 'capacity' },
  'faultline:txn:2pc': { kind: 'decided', gid: 'c.1', outcome: 'commit' },
  'faultline:txn:saga': { kind: 'started', sagaId: 's.1', step: 'book', index: 0 },
  'faultline:txn:tcc': { kind: 'tried', gid: 'c.1', participant: 'a' },
  'faultline:deadlock:monitor': { kind: 'suspected', cycle: ['a', 'b'], atMs: 0 },
  'faultline:events:listener-error': { error: new Error('x'), event: 1, listener: () => 0 },
};

describe('faultline/otel: every channel faultline publishes on', () => {
  it('is subscribed while the bridge is installed, and free again once it is disposed', () => {
    const { bridge } = setup(sim().runtime);
    const unheard = (): string[] => [
      ...CALL_CHANNELS.filter((name) => !tracingChannel(name).hasSubscribers),
      ...EVENT_CHANNELS.filter((name) => !hasSubscribers(name)),
    ];
    expect(unheard()).toEqual([]);
    bridge.dispose();
    expect(unheard()).toEqual([...CALL_CHANNELS, ...EVENT_CHANNELS]);
  });

  it('turns a message on any event channel into a metric', async () => {
    const { snapshot } = setup(sim().runtime);
    const unrecorded: string[] = [];
    for (const name of EVENT_CHANNELS) {
      const before = await snapshot();
      channel(name).publish(SAMPLES[name]);
      if ((await snapshot()) === before) unrecorded.push(name);
    }
    expect(unrecorded).toEqual([]);
  });
});

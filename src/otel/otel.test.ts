/**
 * The OpenTelemetry bridge, checked with the SDK's own in-memory exporters: real policy and lock
 * calls in the simulator, and the spans and metric values the SDK actually produced.
 */
import { tracingChannel } from 'node:diagnostics_channel';
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
import { CircuitBreaker, Retry, Timeout, pipeline } from '../resilience/index.js';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import type { Runtime } from '../core/runtime.js';
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
  return { bridge, spans: () => spans.getFinishedSpans(), points, value };
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
    expect(failure?.events.map((e) => e.name)).toEqual(['exception']);

    expect(await value('faultline.calls', { 'faultline.outcome': 'success' })).toBe(1);
    expect(await value('faultline.calls', { 'faultline.outcome': 'failure' })).toBe(1);
    expect(await value('faultline.failures', { 'error.type': 'TypeError' })).toBe(1);
    expect(await value('faultline.retries', { 'faultline.retry.reason': 'error' })).toBe(2);
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

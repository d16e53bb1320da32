/**
 * An OpenTelemetry bridge (`faultline/otel`): subscribes to faultline's diagnostics channels
 * (docs/observability.md) and turns them into spans and metrics. `@opentelemetry/api` is an
 * optional peer dependency, needed only by code that imports this module; nothing is subscribed,
 * and so nothing costs anything, until {@link installOpenTelemetry} is called, and nothing again
 * after the bridge is disposed.
 *
 * @module faultline/otel
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { channel as eventChannelOf, tracingChannel } from 'node:diagnostics_channel';
import type { Attributes, Meter, MeterProvider, Tracer, TracerProvider } from '@opentelemetry/api';
import { SpanStatusCode, context, metrics, trace } from '@opentelemetry/api';
import { EVENT_CHANNELS } from '../core/diagnostics.js';
import { disposable } from '../core/events.js';
import type { Disposable } from '../core/events.js';
import type { Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { integerIn, rangeError } from '../core/validate.js';
import { CircuitBreaker } from '../resilience/breaker.js';
import { Pipeline } from '../resilience/pipeline.js';
import { BreakerGauge } from './breakers.js';
import { TRACED_CALLS, attributesOfResult, errorType } from './calls.js';
import type { TracedCall } from './calls.js';
import { eventListeners } from './events.js';
import type { EnclosingCall } from './events.js';
import { createInstruments } from './instruments.js';
import type { Instruments } from './instruments.js';

/** Options of {@link installOpenTelemetry}. Every field is optional. */
export interface OpenTelemetryOptions {
  /** Where spans go. Default: the global tracer provider (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /** Where metrics go. Default: the global meter provider (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
  /** Produce spans (default true). */
  traces?: boolean;
  /** Produce metrics (default true). */
  metrics?: boolean;
  /**
   * Names a policy or a coordination resource (a `Retry`, `Lock`, `Election`...): the name becomes
   * the `faultline.name` attribute of its spans and metrics. Default: no name. Keep the set of names
   * small: every name is a separate metric series.
   */
  nameOf?: (target: object) => string | undefined;
  /**
   * The clock that measures call durations and lock waits for the histograms. Default: the system
   * runtime; a simulated runtime gives simulated durations. Spans keep the SDK's own clock.
   */
  runtime?: Runtime;
  /**
   * How many circuit breakers the `faultline.breaker.state` gauge tracks at most (default 1000).
   * A breaker is tracked from its first traced call after installation; it is held weakly.
   */
  maxBreakers?: number;
}

/** An installed bridge: dispose it (or `using` it) to unsubscribe from every channel. */
export interface OpenTelemetryBridge extends Disposable {
  /** True until disposed. */
  readonly installed: boolean;
}

/** What the bridge keeps for one traced call, in the call's async context. */
interface CallState extends EnclosingCall {
  readonly call: TracedCall;
  readonly startMs: number;
}

/** Validates the options and fills in the defaults. */
function resolve(options: OpenTelemetryOptions): {
  tracer: Tracer | undefined;
  meter: Meter | undefined;
  nameOf: (target: object) => string | undefined;
  runtime: Runtime;
  maxBreakers: number;
} {
  if (typeof options !== 'object' || options === null) {
    throw rangeError('options', 'an object', options);
  }
  const withTraces = options.traces ?? true;
  const withMetrics = options.metrics ?? true;
  if (typeof withTraces !== 'boolean') throw rangeError('traces', 'a boolean', withTraces);
  if (typeof withMetrics !== 'boolean') throw rangeError('metrics', 'a boolean', withMetrics);
  const nameOf = options.nameOf ?? (() => undefined);
  if (typeof nameOf !== 'function') throw rangeError('nameOf', 'a function', nameOf);
  const tracerProvider = options.tracerProvider ?? trace.getTracerProvider();
  const meterProvider = options.meterProvider ?? metrics.getMeterProvider();
  if (typeof tracerProvider.getTracer !== 'function') {
    throw rangeError('tracerProvider', 'an OpenTelemetry TracerProvider', tracerProvider);
  }
  if (typeof meterProvider.getMeter !== 'function') {
    throw rangeError('meterProvider', 'an OpenTelemetry MeterProvider', meterProvider);
  }
  return {
    tracer: withTraces ? tracerProvider.getTracer('faultline') : undefined,
    meter: withMetrics ? meterProvider.getMeter('faultline') : undefined,
    nameOf,
    runtime: options.runtime ?? systemRuntime(),
    maxBreakers: integerIn('maxBreakers', options.maxBreakers ?? 1000, 1, 1_000_000),
  };
}

/**
 * Subscribes to every diagnostics channel faultline publishes on (policies, coordination,
 * idempotency, caches, transactions, the deadlock monitor, listener errors) and produces, through
 * `@opentelemetry/api`:
 *
 * - a span per traced call (`faultline.<module>.<operation>`, e.g. `faultline.retry.execute`,
 *   `faultline.lock.acquire`), a child of the enclosing faultline span or else of the active
 *   context, with `faultline.*` attributes, `retry`/`retry.give_up`/`hedge`/`timeout`/
 *   `breaker.state` span events, and an error status and exception event when the call failed;
 * - metrics: `faultline.calls`, `faultline.failures`, `faultline.call.duration`,
 *   `faultline.policy.duration`, `faultline.retries`, `faultline.retry.give_ups`,
 *   `faultline.hedges`, `faultline.breaker.state` (gauge), `faultline.breaker.transitions`,
 *   `faultline.breaker.rejections`, `faultline.timeouts`, `faultline.bulkhead.rejections`,
 *   `faultline.lock.wait`, `faultline.lease.acquisitions`, `faultline.lease.releases`,
 *   `faultline.lease.acquire_failures`, `faultline.lease.losses`, `faultline.idempotency.events`,
 *   `faultline.cache.lookups`, `faultline.cache.stale`, `faultline.cache.load.duration`,
 *   `faultline.cache.evictions`, `faultline.txn.steps`, `faultline.deadlock.events` and
 *   `faultline.listener.errors` (docs/observability.md describes them).
 *
 * Dispose the result to unsubscribe: the channels then have no subscribers again and cost nothing.
 *
 * @example
 * import { installOpenTelemetry } from 'faultline/otel';
 *
 * using telemetry = installOpenTelemetry({ nameOf: (p) => names.get(p) });
 * await retry.execute(() => fetchOrder(id)); // a `faultline.retry.execute` span, and metrics
 */
export function installOpenTelemetry(options: OpenTelemetryOptions = {}): OpenTelemetryBridge {
  const { tracer, meter, nameOf, runtime, maxBreakers } = resolve(options);
  const instruments = meter === undefined ? undefined : createInstruments(meter);
  const breakers = meter === undefined ? undefined : new BreakerGauge(meter, nameOf, maxBreakers);
  const store = new AsyncLocalStorage<CallState>();
  const undo: (() => void)[] = [];

  const track = (policy: unknown): void => {
    if (breakers === undefined) return;
    if (policy instanceof CircuitBreaker) breakers.track(policy);
    else if (policy instanceof Pipeline) for (const p of policy.policies) track(p);
  };

  for (const call of TRACED_CALLS) {
    const channel = tracingChannel(call.channel);
    const start = (ctx: object): CallState => {
      const target = targetOf(ctx);
      if (call.module === 'breaker' || call.module === 'pipeline') track(target);
      const name = target === undefined ? undefined : nameOf(target);
      const attributes = callAttributes(call, name);
      const key = (ctx as { key?: unknown }).key;
      const span = tracer?.startSpan(
        `faultline.${call.module}.${call.operation}`,
        {
          attributes:
            typeof key === 'string' ? { ...attributes, 'faultline.key': key } : attributes,
        },
        parentContext(store.getStore()),
      );
      const state: CallState = {
        call,
        name,
        span,
        startMs: runtime.clock.monotonicMs(),
        retries: 0,
        ended: false,
      };
      states.set(ctx, state);
      return state;
    };
    const states = new WeakMap<object, CallState>();
    const finish = (ctx: object): void => {
      const state = states.get(ctx);
      if (state === undefined || state.ended) return;
      state.ended = true;
      states.delete(ctx);
      endCall(state, ctx, runtime.clock.monotonicMs() - state.startMs, instruments);
    };
    const handlers = {
      start: () => undefined,
      end: (ctx: unknown) => {
        // A synchronous throw publishes `error` then `end`, and no `asyncEnd`.
        if (typeof ctx === 'object' && ctx !== null && 'error' in ctx) finish(ctx);
      },
      asyncStart: () => undefined,
      asyncEnd: (ctx: unknown) => finish(ctx as object),
      error: () => undefined,
    };
    channel.start.bindStore(store, (ctx) => start(ctx as object));
    channel.subscribe(handlers);
    undo.push(() => {
      channel.unsubscribe(handlers);
      channel.start.unbindStore(store);
    });
  }

  const listeners = eventListeners(() => store.getStore(), instruments);
  for (const name of EVENT_CHANNELS) {
    const listener = listeners[name];
    const channel = eventChannelOf(name);
    const subscriber = (message: unknown): void => listener(message as never);
    channel.subscribe(subscriber);
    undo.push(() => channel.unsubscribe(subscriber));
  }
  if (breakers !== undefined) undo.push(() => breakers.dispose());
  // An AsyncLocalStorage that has run once keeps Node's promise hooks on, which slows every promise
  // in the process: disabling it (the last one) turns them off again. Node keeps a small residue
  // even then (docs/benchmarks.md measures it).
  undo.unshift(() => store.disable());

  let installed = true;
  const handle = disposable(() => {
    installed = false;
    for (const u of undo.splice(0).reverse()) u();
  });
  return {
    get installed() {
      return installed;
    },
    dispose: handle.dispose,
    [Symbol.dispose]: handle[Symbol.dispose],
  };
}

/** The policy or resource a traced call's context names. */
function targetOf(ctx: object): object | undefined {
  const c = ctx as { policy?: unknown; resource?: unknown };
  const target = c.policy ?? c.resource;
  return typeof target === 'object' && target !== null ? target : undefined;
}

function callAttributes(call: TracedCall, name: string | undefined): Attributes {
  const attributes: Attributes = {
    'faultline.module': call.module,
    'faultline.operation': call.operation,
  };
  if (name !== undefined) attributes['faultline.name'] = name;
  return attributes;
}

/** The context a new span starts in: under the enclosing faultline call's span, if any. */
function parentContext(enclosing: CallState | undefined): ReturnType<typeof context.active> {
  const active = context.active();
  if (enclosing === undefined || enclosing.ended || enclosing.span === undefined) return active;
  return trace.setSpan(active, enclosing.span);
}

/** Ends a traced call: its span, and the calls, failures, duration and lock wait metrics. */
function endCall(
  state: CallState,
  ctx: object,
  durationMs: number,
  instruments: Instruments | undefined,
): void {
  const { call, span } = state;
  const failed = 'error' in ctx;
  const error = (ctx as { error?: unknown }).error;
  const result = (ctx as { result?: unknown }).result;
  const base = callAttributes(call, state.name);
  if (span !== undefined) {
    if (state.retries > 0) span.setAttribute('faultline.retries', state.retries);
    if (failed) {
      span.setAttribute('error.type', errorType(error));
      if (error instanceof Error) span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
    } else {
      span.setAttributes(attributesOfResult(call, result));
    }
    span.end();
  }
  if (instruments === undefined) return;
  const outcome = failed ? 'failure' : 'success';
  instruments.calls.add(1, { ...base, 'faultline.outcome': outcome });
  instruments.duration.record(durationMs, { ...base, 'faultline.outcome': outcome });
  if (failed) instruments.failures.add(1, { ...base, 'error.type': errorType(error) });
  if (call.wait) {
    const waitOutcome = failed ? 'failure' : result === null ? 'busy' : 'acquired';
    instruments.lockWait.record(durationMs, { ...base, 'faultline.outcome': waitOutcome });
  }
}

function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 200 ? `${message.slice(0, 200)}...` : message;
}

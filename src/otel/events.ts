/**
 * What the OpenTelemetry bridge does with each channel of single events: a listener for every name
 * in `EVENT_CHANNELS` (the type requires one per name), which counts or measures the event and,
 * where it belongs to a call, adds it to that call's span as an event.
 *
 * @module
 */
import type { Attributes, Span } from '@opentelemetry/api';
import type { EventChannelName } from '../core/diagnostics.js';
import type { BreakerFailureEvent, BreakerState } from '../resilience/breaker.js';
import { errorType } from './calls.js';
import type { Instruments } from './instruments.js';

/** The traced call an event was published in (from the bridge's async context). */
export interface EnclosingCall {
  readonly name: string | undefined;
  readonly span: Span | undefined;
  retries: number;
  ended: boolean;
}

/** A listener of one channel; messages are what faultline's own publishers send there. */
type Handler = (message: never) => void;

/** One listener for every channel of single events faultline publishes on. */
export type EventListeners = Readonly<Record<EventChannelName, Handler>>;

/** What the listeners share: the enclosing call and the instruments (none without metrics). */
interface Scope {
  readonly current: () => EnclosingCall | undefined;
  readonly instruments: Instruments | undefined;
  /** `attributes` plus the enclosing call's `faultline.name`, if it has one. */
  readonly named: (attributes: Attributes) => Attributes;
  /** Adds a span event to the enclosing call's span, if it is still open. */
  readonly event: (name: string, attributes: Attributes) => void;
}

/** The listeners of every channel of single events. */
export function eventListeners(
  current: () => EnclosingCall | undefined,
  instruments: Instruments | undefined,
): EventListeners {
  const scope: Scope = {
    current,
    instruments,
    named: (attributes) => {
      const name = current()?.name;
      return name === undefined ? attributes : { ...attributes, 'faultline.name': name };
    },
    event: (name, attributes) => {
      const state = current();
      if (state !== undefined && !state.ended) state.span?.addEvent(name, attributes);
    },
  };
  return {
    ...policyListeners(scope),
    ...outcomeListeners(scope),
    ...leaseListeners(scope),
    ...dataListeners(scope),
  };
}

/** Retries, give-ups, hedges, breaker changes and rejections, timeouts, bulkhead rejections. */
function policyListeners({ current, instruments: i, named, event }: Scope) {
  return {
    'faultline:retry:retry': (m: {
      attempt: number;
      delayMs: number;
      outcome: { kind: string };
    }) => {
      const state = current();
      if (state !== undefined) state.retries++;
      const reason = m.outcome.kind;
      event('retry', { 'faultline.attempt': m.attempt, 'faultline.delay_ms': m.delayMs, reason });
      i?.retries.add(1, named({ 'faultline.retry.reason': reason }));
    },
    'faultline:retry:give-up': (m: { attempts: number; reason: string }) => {
      event('retry.give_up', { 'faultline.attempts': m.attempts, reason: m.reason });
      i?.giveUps.add(1, named({ 'faultline.retry.give_up.reason': m.reason }));
    },
    'faultline:hedge:hedge': (m: { attempt: number; trigger: string }) => {
      event('hedge', { 'faultline.attempt': m.attempt, 'faultline.hedge.trigger': m.trigger });
      i?.hedges.add(1, named({ 'faultline.hedge.trigger': m.trigger }));
    },
    'faultline:breaker:state': (m: { from: BreakerState; to: BreakerState }) => {
      const attributes = { 'faultline.breaker.from': m.from, 'faultline.breaker.to': m.to };
      event('breaker.state', attributes);
      i?.transitions.add(1, named(attributes));
    },
    'faultline:breaker:reject': (m: { state: string }) => {
      i?.rejections.add(1, named({ 'faultline.breaker.state': m.state }));
    },
    'faultline:timeout:timeout': (m: { timeoutMs: number }) => {
      event('timeout', { 'faultline.timeout_ms': m.timeoutMs });
      i?.timeouts.add(1, named({}));
    },
    'faultline:bulkhead:reject': () => i?.bulkheadRejections.add(1, named({})),
  };
}

/** Every policy's success and failure events: the `faultline.policy.duration` histogram. */
function outcomeListeners({ instruments: i, named }: Scope) {
  const success = (module: string) => (m: { durationMs: number }) =>
    i?.policyDuration.record(
      m.durationMs,
      named({ 'faultline.module': module, 'faultline.outcome': 'success' }),
    );
  const failure = (module: string) => (m: { error: unknown; durationMs: number }) =>
    i?.policyDuration.record(
      m.durationMs,
      named({
        'faultline.module': module,
        'faultline.outcome': 'failure',
        'error.type': errorType(m.error),
      }),
    );
  return {
    'faultline:retry:success': success('retry'),
    'faultline:retry:failure': failure('retry'),
    'faultline:breaker:success': success('breaker'),
    // A breaker also counts a call that returned too slowly as a failure; it has no error.
    'faultline:breaker:failure': (m: BreakerFailureEvent) =>
      m.kind === 'error'
        ? failure('breaker')(m)
        : i?.policyDuration.record(
            m.durationMs,
            named({ 'faultline.module': 'breaker', 'faultline.outcome': 'slow' }),
          ),
    'faultline:timeout:success': success('timeout'),
    'faultline:timeout:failure': failure('timeout'),
    'faultline:bulkhead:success': success('bulkhead'),
    'faultline:bulkhead:failure': failure('bulkhead'),
    'faultline:hedge:success': success('hedge'),
    'faultline:hedge:failure': failure('hedge'),
    'faultline:pipeline:success': success('pipeline'),
    'faultline:pipeline:failure': failure('pipeline'),
  };
}

/** Leases obtained, released, refused and lost (locks, semaphores, leadership). */
function leaseListeners({ instruments: i }: Scope) {
  const acquired = (module: string) => () =>
    i?.leaseAcquisitions.add(1, { 'faultline.module': module });
  const released = (module: string) => () =>
    i?.leaseReleases.add(1, { 'faultline.module': module });
  const failed = (module: string) => (m: { error: unknown }) =>
    i?.leaseAcquireFailures.add(1, {
      'faultline.module': module,
      'error.type': errorType(m.error),
    });
  const lost = (module: string) => (m: { error: { reason?: unknown } }) => {
    const reason = typeof m.error.reason === 'string' ? m.error.reason : 'unknown';
    i?.leaseLosses.add(1, { 'faultline.module': module, 'faultline.loss.reason': reason });
  };
  return {
    'faultline:lock:acquired': acquired('lock'),
    'faultline:lock:released': released('lock'),
    'faultline:lock:acquire-failure': failed('lock'),
    'faultline:lock:lost': lost('lock'),
    'faultline:semaphore:acquired': acquired('semaphore'),
    'faultline:semaphore:released': released('semaphore'),
    'faultline:semaphore:acquire-failure': failed('semaphore'),
    'faultline:semaphore:lost': lost('semaphore'),
    'faultline:election:lost': lost('election'),
  };
}

/** A message's `kind` when it is a short string (transaction steps and monitor events). */
function kindOf(message: unknown): string {
  const kind = (message as { kind?: unknown } | null)?.kind;
  return typeof kind === 'string' && kind.length <= 100 ? kind : 'unknown';
}

/** Idempotency, cache, transaction and deadlock events, and errors of listeners. */
function dataListeners({ instruments: i }: Scope) {
  const idempotency = (m: { kind: string; reason?: unknown }) =>
    i?.idempotency.add(
      1,
      typeof m.reason === 'string'
        ? { 'faultline.idempotency.event': m.kind, 'faultline.idempotency.reason': m.reason }
        : { 'faultline.idempotency.event': m.kind },
    );
  const txn = (protocol: string) => (m: { outcome?: unknown }) => {
    const attributes: Attributes = {
      'faultline.txn.protocol': protocol,
      'faultline.txn.step': kindOf(m),
    };
    if (typeof m.outcome === 'string') attributes['faultline.txn.outcome'] = m.outcome;
    i?.txnSteps.add(1, attributes);
  };
  return {
    'faultline:idempotency:started': idempotency,
    'faultline:idempotency:replayed': idempotency,
    'faultline:idempotency:waiting': idempotency,
    'faultline:idempotency:completed': idempotency,
    'faultline:idempotency:failed': idempotency,
    'faultline:idempotency:fenced': idempotency,
    'faultline:cache:hit': (m: { early: boolean }) =>
      i?.cacheLookups.add(1, { 'faultline.cache.result': 'hit', 'faultline.cache.early': m.early }),
    'faultline:cache:miss': () => i?.cacheLookups.add(1, { 'faultline.cache.result': 'miss' }),
    'faultline:cache:stale': (m: { reason: string }) =>
      i?.cacheStale.add(1, { 'faultline.cache.stale.reason': m.reason }),
    'faultline:cache:load': (m: { durationMs: number; ok: boolean }) =>
      i?.cacheLoads.record(m.durationMs, { 'faultline.outcome': m.ok ? 'success' : 'failure' }),
    'faultline:cache:evict': (m: { reason: string }) =>
      i?.cacheEvictions.add(1, { 'faultline.cache.evict.reason': m.reason }),
    'faultline:txn:2pc': txn('2pc'),
    'faultline:txn:saga': txn('saga'),
    'faultline:txn:tcc': txn('tcc'),
    'faultline:deadlock:monitor': (m: { error?: unknown }) =>
      i?.deadlock.add(
        1,
        'error' in m
          ? { 'faultline.deadlock.event': kindOf(m), 'error.type': errorType(m.error) }
          : { 'faultline.deadlock.event': kindOf(m) },
      ),
    'faultline:events:listener-error': (m: { error: unknown }) =>
      i?.listenerErrors.add(1, { 'error.type': errorType(m.error) }),
  };
}

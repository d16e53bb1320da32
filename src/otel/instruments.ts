/**
 * The metric instruments of the OpenTelemetry bridge (docs/observability.md describes each), made
 * once per installation.
 *
 * @module
 */
import type { Counter, Histogram, Meter } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';

/** The instruments, created once per installation. */
export interface Instruments {
  readonly calls: Counter;
  readonly failures: Counter;
  readonly duration: Histogram;
  readonly policyDuration: Histogram;
  readonly retries: Counter;
  readonly giveUps: Counter;
  readonly hedges: Counter;
  readonly transitions: Counter;
  readonly rejections: Counter;
  readonly timeouts: Counter;
  readonly bulkheadRejections: Counter;
  readonly lockWait: Histogram;
  readonly leaseAcquisitions: Counter;
  readonly leaseReleases: Counter;
  readonly leaseAcquireFailures: Counter;
  readonly leaseLosses: Counter;
  readonly idempotency: Counter;
  readonly cacheLookups: Counter;
  readonly cacheStale: Counter;
  readonly cacheLoads: Histogram;
  readonly cacheEvictions: Counter;
  readonly txnSteps: Counter;
  readonly deadlock: Counter;
  readonly listenerErrors: Counter;
}

const MS = { unit: 'ms', valueType: ValueType.DOUBLE } as const;

/** The instruments of the resilience policies' calls and events. */
function policyInstruments(meter: Meter) {
  const counter = (name: string, description: string, unit: string): Counter =>
    meter.createCounter(name, { description, unit });
  return {
    calls: counter(
      'faultline.calls',
      'Calls through a faultline policy or coordination resource, by outcome.',
      '{call}',
    ),
    failures: counter(
      'faultline.failures',
      'Calls that ended with an error, by error type.',
      '{call}',
    ),
    duration: meter.createHistogram('faultline.call.duration', {
      description: 'How long a traced call took, from start to settlement.',
      ...MS,
    }),
    policyDuration: meter.createHistogram('faultline.policy.duration', {
      description:
        'Calls each resilience policy completed, inner layers of a pipeline included, by outcome.',
      ...MS,
    }),
    retries: counter(
      'faultline.retries',
      'Retries made by Retry policies (the first attempt is not a retry).',
      '{retry}',
    ),
    giveUps: counter(
      'faultline.retry.give_ups',
      'Retryable outcomes a Retry policy did not retry, by reason.',
      '{call}',
    ),
    hedges: counter('faultline.hedges', 'Extra attempts launched by Hedge policies.', '{attempt}'),
    transitions: counter(
      'faultline.breaker.transitions',
      'Circuit breaker state changes, by from and to state.',
      '{transition}',
    ),
    rejections: counter(
      'faultline.breaker.rejections',
      'Calls a circuit breaker refused without running them.',
      '{call}',
    ),
    timeouts: counter('faultline.timeouts', 'Calls whose Timeout deadline passed.', '{call}'),
    bulkheadRejections: counter(
      'faultline.bulkhead.rejections',
      'Calls a Bulkhead refused because its call and queue bounds were reached.',
      '{call}',
    ),
  };
}

/** The instruments of coordination, caching, transactions and deadlock detection. */
function resourceInstruments(meter: Meter) {
  const counter = (name: string, description: string, unit: string): Counter =>
    meter.createCounter(name, { description, unit });
  return {
    lockWait: meter.createHistogram('faultline.lock.wait', {
      description: 'Time spent in acquire, tryAcquire or campaign, by outcome.',
      ...MS,
    }),
    leaseAcquisitions: counter(
      'faultline.lease.acquisitions',
      'Leases (locks, permits) a client obtained.',
      '{lease}',
    ),
    leaseReleases: counter(
      'faultline.lease.releases',
      'Leases (locks, permits) a client gave back.',
      '{lease}',
    ),
    leaseAcquireFailures: counter(
      'faultline.lease.acquire_failures',
      'Acquires of a lock or semaphore that rejected, by error type.',
      '{call}',
    ),
    leaseLosses: counter(
      'faultline.lease.losses',
      'Leases (locks, permits, leadership) that ended by loss, not release.',
      '{lease}',
    ),
    idempotency: counter(
      'faultline.idempotency.events',
      'Idempotent requests started, replayed, waiting, completed, failed or fenced.',
      '{event}',
    ),
    cacheLookups: counter(
      'faultline.cache.lookups',
      'Cache lookups that found a fresh value (hit) or needed a load (miss).',
      '{lookup}',
    ),
    cacheStale: counter(
      'faultline.cache.stale',
      'Stale cache values served, by reason.',
      '{value}',
    ),
    cacheLoads: meter.createHistogram('faultline.cache.load.duration', {
      description: 'How long cache loads took, by outcome.',
      ...MS,
    }),
    cacheEvictions: counter(
      'faultline.cache.evictions',
      'Cache entries removed, by reason.',
      '{entry}',
    ),
    txnSteps: counter(
      'faultline.txn.steps',
      'Steps of two-phase commit, saga and TCC transactions, by protocol and step.',
      '{step}',
    ),
    deadlock: counter('faultline.deadlock.events', 'Deadlock monitor events, by kind.', '{event}'),
    listenerErrors: counter(
      'faultline.listener.errors',
      'Errors thrown by onX listeners of faultline objects (isolated from the call).',
      '{error}',
    ),
  };
}

/** Creates every instrument of the bridge on `meter`. */
export function createInstruments(meter: Meter): Instruments {
  return { ...policyInstruments(meter), ...resourceInstruments(meter) };
}

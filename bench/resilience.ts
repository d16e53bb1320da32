/**
 * Per-call overhead of the resilience policies on the success path, side by side with cockatiel
 * and opossum: `npm run --silent bench -- resilience [--json]`.
 *
 * Each sample runs a batch of sequential calls of an async no-op through the policy and reports
 * ns per call; implementations run interleaved, rounds report medians.
 *
 * `--cpu` measures the process's CPU time per call instead of wall time (steadier on a busy
 * machine); `--quick` runs fewer, smaller rounds.
 *
 * Diagnostics: the `faultline` row runs with nobody subscribed to the policy's diagnostics
 * channels (the published claim: free then). `faultline/subscribed` is the same policy object
 * while no-op subscribers are attached to every channel it publishes on (its TracingChannel and
 * its events), and `faultline/otel` while the OpenTelemetry bridge is installed on the API's
 * default no-op providers (the bridge's own work, without an SDK or exporter). Subscribers are
 * attached only around their own samples, so the other rows run unsubscribed.
 */
import {
  bulkhead as ckBulkhead,
  circuitBreaker as ckBreaker,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleAll,
  retry as ckRetry,
  timeout as ckTimeout,
  TimeoutStrategy,
  wrap as ckWrap,
} from 'cockatiel';
import OpossumBreaker from 'opossum';
import { channel, tracingChannel } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { Bulkhead, CircuitBreaker, pipeline, Retry, Timeout } from '../src/index.js';
import { installOpenTelemetry } from '../src/otel/index.js';
import type { BenchRow, BenchSuite } from './types.js';
import { interleaved } from './util.js';

const work = async (): Promise<number> => 1;

/**
 * ns per call of `batch` sequential awaited calls of `call`: wall time, or with `cpu` the process's
 * CPU time (user + system), which time spent preempted by other processes does not inflate.
 */
async function nsPerOp(batch: number, call: () => Promise<unknown>, cpu = false): Promise<number> {
  if (cpu) {
    const before = process.cpuUsage();
    for (let i = 0; i < batch; i++) await call();
    const used = process.cpuUsage(before);
    return ((used.user + used.system) * 1e3) / batch;
  }
  const start = performance.now();
  for (let i = 0; i < batch; i++) await call();
  return ((performance.now() - start) * 1e6) / batch;
}

type Impls = Record<string, () => Promise<unknown>>;

const noop = (): void => undefined;

/**
 * Attaches no-op subscribers to the TracingChannel `faultline:<traced>` and the channels
 * `faultline:<event>`; returns the function that detaches them.
 */
function subscribe(traced: string, events: readonly string[]): () => void {
  const handlers = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop };
  const tc = tracingChannel(`faultline:${traced}`);
  tc.subscribe(handlers);
  for (const e of events) channel(`faultline:${e}`).subscribe(noop);
  return () => {
    tc.unsubscribe(handlers);
    for (const e of events) channel(`faultline:${e}`).unsubscribe(noop);
  };
}

const breakerEvents = ['breaker:state', 'breaker:success', 'breaker:failure', 'breaker:reject'];

function cases(): {
  name: string;
  impls: Impls;
  /** Attaches subscribers to the faultline policy's channels; returns the detach function. */
  subscribe: () => () => void;
  /** The policy's TracingChannel, `faultline:<module>:execute`. */
  traced: string;
  close: () => void;
}[] {
  const fBreaker = new CircuitBreaker({ policy: { kind: 'consecutive', threshold: 5 } });
  const cBreaker = ckBreaker(handleAll, {
    halfOpenAfter: 10_000,
    breaker: new ConsecutiveBreaker(5),
  });
  const oBreaker = new OpossumBreaker(work, { timeout: false, resetTimeout: 10_000 });

  const fRetryBreaker = pipeline(
    new Retry({ maxAttempts: 3 }),
    new CircuitBreaker({ policy: { kind: 'consecutive', threshold: 5 } }),
  );
  const cRetryBreaker = ckWrap(
    ckRetry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
    ckBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
  );

  const fTimeout = new Timeout({ timeoutMs: 10_000, strategy: 'cooperative' });
  const cTimeout = ckTimeout(10_000, TimeoutStrategy.Cooperative);
  const oTimeout = new OpossumBreaker(work, { timeout: 10_000, resetTimeout: 10_000 });

  const fBulkhead = new Bulkhead({ maxConcurrent: 10, maxQueue: 10 });
  const cBulkhead = ckBulkhead(10, 10);
  const oBulkhead = new OpossumBreaker(work, {
    timeout: false,
    capacity: 10,
    resetTimeout: 10_000,
  });

  return [
    {
      name: 'breaker',
      impls: {
        faultline: () => fBreaker.execute(work),
        cockatiel: () => cBreaker.execute(work),
        opossum: () => oBreaker.fire(),
      },
      subscribe: () => subscribe('breaker:execute', breakerEvents),
      traced: 'breaker:execute',
      close: () => oBreaker.shutdown(),
    },
    {
      name: 'retry+breaker',
      impls: {
        faultline: () => fRetryBreaker.execute(work),
        cockatiel: () => cRetryBreaker.execute(work),
      },
      subscribe: () =>
        subscribe('pipeline:execute', [
          'pipeline:success',
          'pipeline:failure',
          'retry:retry',
          'retry:success',
          'retry:failure',
          'retry:give-up',
          ...breakerEvents,
        ]),
      traced: 'pipeline:execute',
      close: () => undefined,
    },
    {
      name: 'timeout',
      impls: {
        faultline: () => fTimeout.execute(work),
        cockatiel: () => cTimeout.execute(work),
        opossum: () => oTimeout.fire(),
      },
      subscribe: () =>
        subscribe('timeout:execute', ['timeout:timeout', 'timeout:success', 'timeout:failure']),
      traced: 'timeout:execute',
      close: () => oTimeout.shutdown(),
    },
    {
      name: 'bulkhead',
      impls: {
        faultline: () => fBulkhead.execute(work),
        cockatiel: () => cBulkhead.execute(work),
        opossum: () => oBulkhead.fire(),
      },
      subscribe: () =>
        subscribe('bulkhead:execute', ['bulkhead:reject', 'bulkhead:success', 'bulkhead:failure']),
      traced: 'bulkhead:execute',
      close: () => oBulkhead.shutdown(),
    },
  ];
}

const suite: BenchSuite = {
  name: 'resilience',
  description:
    'Per-call overhead (ns/op, lower is better) of resilience policies on the success path of an async no-op; ' +
    'sequential awaited calls, interleaved rounds, medians.',
  async run({ args, log }) {
    const quick = args.includes('--quick');
    // On a shared machine, CPU time per call is far steadier than wall time (see docs/benchmarks.md).
    const cpu = args.includes('--cpu');
    if (cpu) log('measuring CPU time per call (--cpu), not wall time');
    const batch = quick ? 2_000 : 20_000;
    const rounds = quick ? 3 : 15;
    const rows: BenchRow[] = [];
    for (const c of cases()) {
      const samplers: Record<string, () => Promise<number>> = {};
      const ours = c.impls['faultline'];
      if (ours === undefined) throw new Error(`case ${c.name} has no faultline row`);
      const attach: Record<string, () => () => void> = {
        'faultline/subscribed': c.subscribe,
        'faultline/otel': () => {
          const bridge = installOpenTelemetry();
          return () => bridge.dispose();
        },
      };
      // The subscribed rows sit beside the plain one.
      const impls: Impls = {
        faultline: ours,
        'faultline/subscribed': ours,
        'faultline/otel': ours,
        ...c.impls,
      };
      for (const [impl, call] of Object.entries(impls)) {
        const sample = async (): Promise<number> => {
          const detach = attach[impl]?.();
          let ns: number;
          try {
            ns = await nsPerOp(batch, call, cpu);
          } finally {
            detach?.();
          }
          // The other rows must run with nobody subscribed.
          if (tracingChannel(`faultline:${c.traced}`).hasSubscribers)
            throw new Error(`${impl} left a subscriber on faultline:${c.traced}`);
          return ns;
        };
        await sample(); // warm-up
        samplers[impl] = sample;
      }
      const medians = await interleaved(rounds, samplers);
      for (const [impl, value] of Object.entries(medians)) {
        rows.push({ case: c.name, impl, metric: 'overhead', value, unit: 'ns/op' });
      }
      c.close();
      log(
        `${c.name}: ${Object.entries(medians)
          .map(([k, v]) => `${k} ${v.toFixed(0)}`)
          .join(', ')}`,
      );
    }
    return rows;
  },
};

export default suite;

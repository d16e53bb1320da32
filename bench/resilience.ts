/**
 * Per-call overhead of the resilience policies on the success path, side by side with cockatiel
 * and opossum: `npm run --silent bench -- resilience [--json]`.
 *
 * Each sample runs a batch of sequential calls of an async no-op through the policy and reports
 * ns per call; implementations run interleaved, rounds report medians.
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
import { performance } from 'node:perf_hooks';
import { Bulkhead, CircuitBreaker, pipeline, Retry, Timeout } from '../src/index.js';
import type { BenchRow, BenchSuite } from './types.js';
import { interleaved } from './util.js';

const work = async (): Promise<number> => 1;

/** ns per call of `batch` sequential awaited calls of `call`. */
async function nsPerOp(batch: number, call: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < batch; i++) await call();
  return ((performance.now() - start) * 1e6) / batch;
}

type Impls = Record<string, () => Promise<unknown>>;

function cases(): { name: string; impls: Impls; close: () => void }[] {
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
      close: () => oBreaker.shutdown(),
    },
    {
      name: 'retry+breaker',
      impls: {
        faultline: () => fRetryBreaker.execute(work),
        cockatiel: () => cRetryBreaker.execute(work),
      },
      close: () => undefined,
    },
    {
      name: 'timeout',
      impls: {
        faultline: () => fTimeout.execute(work),
        cockatiel: () => cTimeout.execute(work),
        opossum: () => oTimeout.fire(),
      },
      close: () => oTimeout.shutdown(),
    },
    {
      name: 'bulkhead',
      impls: {
        faultline: () => fBulkhead.execute(work),
        cockatiel: () => cBulkhead.execute(work),
        opossum: () => oBulkhead.fire(),
      },
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
    const batch = quick ? 2_000 : 20_000;
    const rounds = quick ? 3 : 15;
    const rows: BenchRow[] = [];
    for (const c of cases()) {
      const samplers: Record<string, () => Promise<number>> = {};
      for (const [impl, call] of Object.entries(c.impls)) {
        await nsPerOp(batch, call); // warm-up
        samplers[impl] = () => nsPerOp(batch, call);
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

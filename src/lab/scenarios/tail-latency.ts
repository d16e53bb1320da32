/**
 * Tail latency: a backend where one request in fifty takes 10-50 times longer than usual. With a
 * fixed, generous timeout the client's p99 is the backend's slow tail; hedging after the p95 of
 * recent latencies, with a P99-adaptive timeout on each attempt, cuts the tail for a few percent
 * of extra load. A P99 timeout with a retry does not: with 2% of requests slow, the P99 is the
 * tail itself. After Dean and Barroso, "The Tail at Scale" (CACM, 2013).
 *
 * @module
 */
import { AdaptiveTimeout } from '../../detect/adaptive.js';
import { LatencyQuantiles } from '../../detect/quantile.js';
import { RetryBudget } from '../../resilience/budget.js';
import { isTimeoutError } from '../../resilience/errors.js';
import { Hedge } from '../../resilience/hedge.js';
import type { ExecuteContext, Policy } from '../../resilience/policy.js';
import { Retry } from '../../resilience/retry.js';
import { Timeout } from '../../resilience/timeout.js';
import type { Node } from '../../sim/node.js';
import type { Simulation } from '../../sim/simulation.js';
import { percentile } from '../checks.js';
import { RpcClient, serve } from '../resilience/rpc.js';
import type { Evidence, LabContext, Scenario, VariantOutcome } from '../types.js';

/** Requests the client makes, one every {@link REQUEST_INTERVAL_MS}. */
const REQUESTS = 500;
const REQUEST_INTERVAL_MS = 3;
/** The service level objective on the client's p99 latency: 3x the median (about 10 ms). */
const SLO_P99_MS = 30;
/** The unsafe client's fixed timeout: generous, far above any latency. */
const FIXED_TIMEOUT_MS = 1_000;
/** Normal backend service time, ms (uniform); a slow one takes 10-50x {@link MEDIAN_SERVICE_MS}. */
const SERVICE_MIN_MS = 6;
const SERVICE_MAX_MS = 10;
const MEDIAN_SERVICE_MS = 8;
const REPLICAS = ['b1', 'b2', 'b3'] as const;

type Design = 'unsafe' | 'textbook' | 'safe';

/** What the client observed, measured outside the policies: one latency per request. */
interface Observed {
  latencies: number[];
  backendCalls: number;
  failed: number;
  /** Notes of requests over the SLO, in completion order. */
  overSlo: { index: number; timeMs: number; text: string }[];
}

/** A backend replica: usually a few ms, now and then 10-50x the median. */
function startReplica(sim: Simulation, name: string, slowShare: number, seen: Observed): void {
  const node = sim.node(name);
  const random = node.runtime.random;
  serve(node, async () => {
    seen.backendCalls++;
    const ms =
      random.next() < slowShare
        ? MEDIAN_SERVICE_MS * (10 + random.next() * 40)
        : SERVICE_MIN_MS + random.next() * (SERVICE_MAX_MS - SERVICE_MIN_MS);
    await node.runtime.timers.sleep(ms);
    return 'value';
  });
}

/** How the client calls: `call(n)` makes request n and resolves when it is answered. */
function clientCall(design: Design, node: Node, rpc: RpcClient): (n: number) => Promise<unknown> {
  const runtime = node.runtime;
  if (design === 'unsafe') {
    const timeout = new Timeout({ timeoutMs: FIXED_TIMEOUT_MS, strategy: 'aggressive', runtime });
    return (n) => timeout.execute(({ signal }) => rpc.call(replicaOf(n), n, signal));
  }
  const attempt = adaptiveAttempt(node, rpc);
  const budget = new RetryBudget({ ratio: 0.1, minPerSecond: 5, runtime });
  // Textbook: give up on an attempt at the adaptive P99 timeout, then retry on the next replica.
  // Safe: hedge to the next replica after the p95, each attempt under the same adaptive timeout.
  const policy: Policy =
    design === 'textbook'
      ? new Retry({
          maxAttempts: 2,
          backoff: { kind: 'constant', baseMs: 1, jitter: 'none' },
          budget,
          runtime,
        })
      : new Hedge({
          maxHedges: 1,
          quantile: 0.95,
          estimator: new LatencyQuantiles({ windowSize: 512 }),
          initialDelayMs: 20,
          budget,
          runtime,
        });
  return (n) => {
    let attempts = 0;
    return policy.execute((context) => attempt(n + attempts++, context));
  };
}

function replicaOf(n: number): string {
  return REPLICAS[n % REPLICAS.length] as string;
}

/**
 * One attempt of request `n`, sent to replica `n`, under a timeout from a P99 x 2
 * `AdaptiveTimeout`; a completed attempt's latency feeds the estimate, a timed-out one a censored
 * sample.
 */
function adaptiveAttempt(
  node: Node,
  rpc: RpcClient,
): (n: number, context: ExecuteContext) => Promise<unknown> {
  const runtime = node.runtime;
  const adaptive = new AdaptiveTimeout({
    quantile: 0.99,
    multiplier: 2,
    floorMs: 20,
    coldStartMs: 100,
  });
  return async (n, context) => {
    const timeout = new Timeout({
      timeoutMs: adaptive.timeoutMs(),
      strategy: 'aggressive',
      runtime,
    });
    const startMs = runtime.clock.monotonicMs();
    try {
      const value = await timeout.execute(
        ({ signal }) => rpc.call(replicaOf(n), n, signal),
        context,
      );
      adaptive.record(runtime.clock.monotonicMs() - startMs);
      return value;
    } catch (error) {
      if (isTimeoutError(error)) adaptive.recordTimeout();
      throw error;
    }
  };
}

function startClient(sim: Simulation, context: LabContext, design: Design, seen: Observed): void {
  const node = sim.node('client');
  node.start(() => {
    const rpc = new RpcClient(node);
    const call = clientCall(design, node, rpc);
    let n = 0;
    const issue = (): void => {
      const id = n++;
      const startMs = sim.nowMs;
      const done = (ok: boolean): void => {
        const latencyMs = ok ? sim.nowMs - startMs : Infinity;
        if (!ok) seen.failed++;
        seen.latencies.push(latencyMs);
        if (latencyMs > SLO_P99_MS) {
          const text = ok
            ? `request ${id} took ${(sim.nowMs - startMs).toFixed(1)} ms (SLO ${SLO_P99_MS} ms)`
            : `request ${id} failed after ${(sim.nowMs - startMs).toFixed(1)} ms`;
          seen.overSlo.push({ index: context.note('client', text), timeMs: sim.nowMs, text });
        }
      };
      call(id).then(
        () => done(true),
        () => done(false),
      );
      if (n < REQUESTS) node.runtime.timers.setTimer(REQUEST_INTERVAL_MS, issue);
    };
    issue();
  });
}

/**
 * The checker: the p99 of the measured latencies (a failed request counts as infinitely slow)
 * against the SLO. The violating event is the completion that put one request too many over it.
 */
function verdict(seen: Observed): Evidence | undefined {
  const p99 = percentile(seen.latencies, 99);
  if (p99 <= SLO_P99_MS) return undefined;
  const allowed = REQUESTS - Math.ceil(0.99 * REQUESTS);
  const slow = seen.overSlo;
  const culprit = slow[Math.min(allowed, slow.length - 1)];
  if (culprit === undefined) return undefined;
  return {
    timeMs: culprit.timeMs,
    summary: `${slow.length} of ${REQUESTS} requests took longer than the ${SLO_P99_MS} ms SLO, so the client's p99 is ${Number.isFinite(p99) ? `${p99.toFixed(1)} ms` : 'a failure'}`,
    traceIndex: culprit.index,
    operations: slow.slice(0, allowed + 1).map((s) => s.text),
  };
}

async function run(context: LabContext, design: Design): Promise<VariantOutcome> {
  const sim = context.simulation({
    network: { latency: { kind: 'uniform', minMs: 0.5, maxMs: 1.5 } },
  });
  const seen: Observed = { latencies: [], backendCalls: 0, failed: 0, overSlo: [] };
  const slowShare = (context.knobs['slowPercent'] ?? 2) / 100;
  for (const name of REPLICAS) startReplica(sim, name, slowShare, seen);
  startClient(sim, context, design, seen);
  await sim.run({
    untilMs: REQUESTS * REQUEST_INTERVAL_MS + FIXED_TIMEOUT_MS + 10,
    until: () => seen.latencies.length === REQUESTS,
  });
  const unanswered = REQUESTS - seen.latencies.length;
  if (unanswered > 0) {
    // Requests still waiting at the end count as infinitely slow.
    const text = `${unanswered} requests unanswered at the end of the run`;
    const note = { index: context.note('client', text), timeMs: sim.nowMs, text };
    for (let i = 0; i < unanswered; i++) {
      seen.latencies.push(Infinity);
      seen.overSlo.push(note);
    }
  }
  const evidence = verdict(seen);
  const p99 = percentile(seen.latencies, 99);
  return {
    violated: evidence !== undefined,
    ...(evidence === undefined ? {} : { evidence }),
    figures: {
      p99Ms: round1(Number.isFinite(p99) ? p99 : FIXED_TIMEOUT_MS),
      extraLoadPercent: round1(((seen.backendCalls - REQUESTS) / REQUESTS) * 100),
      medianMs: round1(percentile(seen.latencies, 50)),
      overSlo: seen.overSlo.length,
      failedRequests: seen.failed,
    },
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** The tail-latency scenario. */
export const tailLatency: Scenario = {
  name: 'tail-latency',
  title: 'Tail latency',
  problem:
    'A backend answers most requests in about 10 ms, but one in fifty takes 10 to 50 times ' +
    'longer (a GC pause, a cold cache, a busy disk). A client that simply waits, under a generous ' +
    'fixed timeout, inherits that tail: its p99 is the slow requests, far above its median.',
  reference:
    'Jeffrey Dean and Luiz André Barroso, "The Tail at Scale", Communications of the ACM 56(2), ' +
    '2013 (hedged requests)',
  property:
    'The client’s p99 latency over 500 requests, measured by the client from request to answer ' +
    '(a failure counts as infinitely slow), is at most 30 ms: 3x the ~10 ms median.',
  standIn:
    'The three backend replicas are stand-ins with a random heavy-tailed service time on ' +
    'simulated nodes; the client runs faultline’s Hedge, AdaptiveTimeout, Timeout and RetryBudget.',
  api: [
    "import { AdaptiveTimeout, Hedge, LatencyQuantiles, RetryBudget, Timeout } from 'faultline';",
    'const hedge = new Hedge({',
    '  maxHedges: 1, quantile: 0.95, estimator: new LatencyQuantiles({ windowSize: 512 }),',
    '  budget: new RetryBudget({ ratio: 0.1, minPerSecond: 5 }),',
    '});',
    'const adaptive = new AdaptiveTimeout({ quantile: 0.99, multiplier: 2 });',
    'const value = await hedge.execute((ctx) =>',
    '  new Timeout({ timeoutMs: adaptive.timeoutMs() }).execute(({ signal }) => nextReplica().get(key, { signal }), ctx),',
    ');',
  ].join('\n'),
  figures: [
    { name: 'p99Ms', label: 'client p99 latency', unit: 'ms', better: 'lower', key: true },
    {
      name: 'extraLoadPercent',
      label: 'extra backend calls',
      unit: '%',
      better: 'lower',
      key: true,
    },
    { name: 'medianMs', label: 'client median latency', unit: 'ms', better: 'lower' },
    { name: 'overSlo', label: 'requests over the SLO', unit: 'requests', better: 'lower' },
    { name: 'failedRequests', label: 'failed requests', unit: 'requests', better: 'lower' },
  ],
  knobs: [
    {
      name: 'slowPercent',
      label: 'slow backend requests',
      min: 0,
      max: 10,
      step: 0.5,
      default: 2,
      unit: '%',
    },
  ],
  variants: {
    unsafe: {
      summary:
        'The client sends each request to one replica and waits, under a fixed 1 s timeout; no hedging.',
      run: (context) => run(context, 'unsafe'),
    },
    textbook: {
      summary:
        'The client gives up on an attempt at a P99 x 2 adaptive timeout and retries it once on the next replica; no hedging.',
      why: 'With 2% of requests slow, the P99 is the slow tail itself: the adaptive timeout grows past it, so the retry comes too late or never.',
      run: (context) => run(context, 'textbook'),
    },
    safe: {
      summary:
        'The client hedges a request to another replica after the p95 of recent latencies, each attempt under a P99 x 2 adaptive timeout, within a retry budget.',
      run: (context) => run(context, 'safe'),
    },
  },
};

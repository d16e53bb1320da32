/**
 * Retry storm: many clients contend for a server of bounded capacity; clients that retry at once
 * multiply the load on it; clients that back off exponentially without jitter come back in
 * synchronised waves; clients that back off with full jitter under a retry budget do neither.
 * After Marc Brooker's experiment in "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015).
 *
 * @module
 */
import { Retry } from '../../resilience/retry.js';
import { RetryBudget } from '../../resilience/budget.js';
import type { Node } from '../../sim/node.js';
import type { Simulation } from '../../sim/simulation.js';
import { Refusal, RpcClient, serve } from '../resilience/rpc.js';
import type { Evidence, LabContext, Scenario, VariantOutcome } from '../types.js';

/** Work items each client has to get done, one after the other. */
const ITEMS_PER_CLIENT = 2;
/** The run's horizon: work not done by then did not complete. */
const HORIZON_MS = 3_000;
/** The property's bound on server calls, as a multiple of the work items. */
const CALLS_PER_ITEM_BOUND = 2;
/** Server service time per admitted request, ms (uniform). */
const SERVICE_MIN_MS = 4;
const SERVICE_MAX_MS = 6;

type Design = 'unsafe' | 'textbook' | 'safe';

const OVERLOADED = new Refusal('overloaded');

/** The policy a client wraps each request in. */
function clientPolicy(design: Design, node: Node): Retry {
  const runtime = node.runtime;
  if (design === 'unsafe') {
    // The naive client: try again right away (1 ms), up to 10 times, no jitter, no budget.
    return new Retry({
      maxAttempts: 10,
      backoff: { kind: 'constant', baseMs: 1, jitter: 'none' },
      runtime,
    });
  }
  if (design === 'textbook') {
    // Exponential backoff as often taught: the same schedule, but without jitter.
    return new Retry({
      maxAttempts: 10,
      backoff: { kind: 'exponential', baseMs: 100, capMs: 2_000, jitter: 'none' },
      budget: new RetryBudget({ ratio: 0.5, minPerSecond: 10, runtime }),
      runtime,
    });
  }
  return new Retry({
    maxAttempts: 10,
    backoff: { kind: 'exponential', baseMs: 100, capMs: 2_000, jitter: 'full' },
    budget: new RetryBudget({ ratio: 0.5, minPerSecond: 10, runtime }),
    runtime,
  });
}

/** What the world observed, counted outside the clients' code. */
interface Observed {
  serverCalls: number;
  rejected: number;
  done: number;
  failed: number;
  /** When the last work item was done or given up. */
  settledMs: number;
  /** Trace index and time of the first violating note (first failure or the call bound crossed). */
  first: { index: number; timeMs: number; summary: string; operations: string[] } | undefined;
}

/** The stand-in server: `capacity` requests at a time, each for a few ms; excess is refused. */
function startServer(
  sim: Simulation,
  context: LabContext,
  capacity: number,
  bound: number,
  seen: Observed,
): void {
  const server = sim.node('server');
  const random = server.runtime.random;
  let busy = 0;
  serve(server, (body) => {
    seen.serverCalls++;
    if (seen.serverCalls === bound + 1 && seen.first === undefined) {
      seen.first = {
        index: context.note('server', `call ${seen.serverCalls} exceeds the bound of ${bound}`),
        timeMs: sim.nowMs,
        summary: `the server received more than ${bound} calls (${CALLS_PER_ITEM_BOUND} per work item)`,
        operations: [`server call ${seen.serverCalls} at ${sim.nowMs.toFixed(1)} ms`],
      };
    }
    if (busy >= capacity) {
      seen.rejected++;
      return OVERLOADED;
    }
    busy++;
    const serviceMs = SERVICE_MIN_MS + random.next() * (SERVICE_MAX_MS - SERVICE_MIN_MS);
    return server.runtime.timers.sleep(serviceMs).then(() => {
      busy--;
      return body;
    });
  });
}

/** A client: its items in sequence, each under the variant's retry policy. */
function startClient(
  sim: Simulation,
  context: LabContext,
  name: string,
  design: Design,
  seen: Observed,
): void {
  const node = sim.node(name);
  node.start(async () => {
    const rpc = new RpcClient(node);
    const policy = clientPolicy(design, node);
    for (let item = 0; item < ITEMS_PER_CLIENT; item++) {
      const startMs = sim.nowMs;
      try {
        await policy.execute(({ signal }) => rpc.call('server', `${name}/${item}`, signal));
        seen.done++;
      } catch (error) {
        seen.failed++;
        const text = `${name} gave up on item ${item}: ${error instanceof Error ? error.message : String(error)}`;
        const index = context.note(name, text);
        seen.first ??= {
          index,
          timeMs: sim.nowMs,
          summary: `a client gave up on a work item (${error instanceof Error ? error.name : 'error'})`,
          operations: [`${text} [${startMs.toFixed(1)} .. ${sim.nowMs.toFixed(1)} ms]`],
        };
      }
      seen.settledMs = sim.nowMs;
    }
  });
}

async function run(context: LabContext, design: Design): Promise<VariantOutcome> {
  const sim = context.simulation({
    network: { latency: { kind: 'uniform', minMs: 1, maxMs: 3 } },
  });
  const clients = context.knobs['clients'] ?? 50;
  const capacity = context.knobs['capacity'] ?? 5;
  const items = clients * ITEMS_PER_CLIENT;
  const bound = CALLS_PER_ITEM_BOUND * items;
  const seen: Observed = {
    serverCalls: 0,
    rejected: 0,
    done: 0,
    failed: 0,
    settledMs: 0,
    first: undefined,
  };
  startServer(sim, context, capacity, bound, seen);
  for (let i = 1; i <= clients; i++) {
    startClient(sim, context, `c${String(i).padStart(2, '0')}`, design, seen);
  }
  await sim.run({ untilMs: HORIZON_MS, until: () => seen.done + seen.failed === items });
  const finished = seen.done === items;
  let evidence: Evidence | undefined;
  if (seen.first !== undefined) {
    evidence = {
      timeMs: seen.first.timeMs,
      summary: seen.first.summary,
      traceIndex: seen.first.index,
      operations: seen.first.operations,
    };
  } else if (!finished) {
    const index = context.note('server', `horizon: ${items - seen.done} work items not done`);
    evidence = {
      timeMs: sim.nowMs,
      summary: `${items - seen.done} work items were not done within ${HORIZON_MS} ms`,
      traceIndex: index,
      operations: [`${seen.done} of ${items} items done`],
    };
  } else {
    context.note('server', `all ${items} items done with ${seen.serverCalls} calls`);
  }
  return {
    violated: evidence !== undefined,
    ...(evidence === undefined ? {} : { evidence }),
    figures: {
      serverCalls: seen.serverCalls,
      completionMs: seen.done + seen.failed === items ? round1(seen.settledMs) : HORIZON_MS,
      failedRequests: seen.failed,
      rejectedCalls: seen.rejected,
    },
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** The retry-storm scenario. */
export const retryStorm: Scenario = {
  name: 'retry-storm',
  title: 'Retry storm',
  problem:
    'Many clients hit a server of bounded capacity at once; each refused request is retried at ' +
    'once, so the retries themselves keep the server overloaded. Work that a little patience ' +
    'would have finished fails, and the server spends most of its calls saying no.',
  reference:
    'Marc Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog (2015); Google SRE ' +
    'book, ch. 22 "Addressing Cascading Failures" (retry budgets)',
  property:
    'Every work item completes within the horizon and the server receives at most 2 calls per ' +
    'work item, counted at the server.',
  standIn:
    'The server is a small stand-in (a fixed number of requests in service at a time, the rest ' +
    'refused as overloaded) on a simulated node; the clients run faultline’s Retry and RetryBudget.',
  api: [
    "import { Retry, RetryBudget } from 'faultline';",
    'const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 10 });',
    'const retry = new Retry({',
    "  maxAttempts: 10, budget, backoff: { kind: 'exponential', baseMs: 100, capMs: 2000, jitter: 'full' },",
    '});',
    'await retry.execute(({ signal }) => callServer(item, { signal }));',
  ].join('\n'),
  figures: [
    { name: 'serverCalls', label: 'server calls', unit: 'calls', better: 'lower', key: true },
    {
      name: 'completionMs',
      label: 'time until every item was done or given up',
      unit: 'ms',
      better: 'lower',
    },
    {
      name: 'failedRequests',
      label: 'failed work items',
      unit: 'items',
      better: 'lower',
      key: true,
    },
    { name: 'rejectedCalls', label: 'calls refused as overloaded', unit: 'calls', better: 'lower' },
  ],
  knobs: [
    { name: 'clients', label: 'clients', min: 10, max: 100, step: 10, default: 50, unit: '' },
    {
      name: 'capacity',
      label: 'server capacity (requests at once)',
      min: 2,
      max: 20,
      step: 1,
      default: 5,
      unit: 'requests',
    },
  ],
  variants: {
    unsafe: {
      summary:
        'Each client retries a refused request after 1 ms, up to 10 attempts: no backoff, no jitter, no budget.',
      run: (context) => run(context, 'unsafe'),
    },
    textbook: {
      summary:
        'Each client retries with exponential backoff (base 100 ms, cap 2 s) under a retry budget, but without jitter.',
      why: 'Clients refused together wait exactly as long and come back together: each wave collides again, so work drags past the horizon.',
      run: (context) => run(context, 'textbook'),
    },
    safe: {
      summary:
        'Each client retries with exponential backoff and full jitter (base 100 ms, cap 2 s) under a retry budget.',
      run: (context) => run(context, 'safe'),
    },
  },
};

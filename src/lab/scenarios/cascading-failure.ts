/**
 * Cascading failure: a front service whose calls to a hung dependency have no timeout fills its
 * worker pool with waiting calls, and then fails even the requests that never needed the
 * dependency. A circuit breaker alone does not help (a hung call never fails); a timeout, a
 * circuit breaker and a bulkhead together keep the failure contained.
 *
 * @module
 */
import { CircuitBreaker } from '../../resilience/breaker.js';
import { Bulkhead } from '../../resilience/bulkhead.js';
import { pipeline } from '../../resilience/pipeline.js';
import type { Policy } from '../../resilience/policy.js';
import { Timeout } from '../../resilience/timeout.js';
import type { Node } from '../../sim/node.js';
import type { Simulation } from '../../sim/simulation.js';
import { Refusal, RpcClient, serve } from '../resilience/rpc.js';
import type { Evidence, LabContext, Scenario, VariantOutcome } from '../types.js';

/** Users send a request every this many ms, for {@link LOAD_MS}. */
const REQUEST_INTERVAL_MS = 5;
const LOAD_MS = 1_500;
/** When the dependency starts answering only after `dependencyDelayMs`. */
const HANG_AT_MS = 300;
/** The front service's worker pool (a thread pool): requests beyond it wait in its queue. */
const WORKERS = 16;
/** A user gives up on a request after this long; the request then counts as failed. */
const USER_TIMEOUT_MS = 250;
/** The property: requests that do not need the dependency succeed at least this often... */
const INDEPENDENT_SUCCESS_BOUND = 0.99;
/** ...and the front's queue of waiting requests never grows past this. */
const QUEUE_BOUND = WORKERS;

type Design = 'unsafe' | 'textbook' | 'safe';

interface UserRequest {
  readonly id: number;
  readonly needsDependency: boolean;
}

interface Violation {
  readonly index: number;
  readonly timeMs: number;
  readonly summary: string;
  readonly operations: string[];
}

/** What the world observed: counted by the users and at the front's queue, outside the policies. */
interface Observed {
  independent: number;
  independentFailed: number;
  dependent: number;
  dependentFailed: number;
  maxQueued: number;
  /** How many times the front's circuit breaker opened (0 without one). */
  breakerOpens: number;
  firstIndependentFailure: Violation | undefined;
  queueOverflow: Violation | undefined;
}

/** The front service's dependency call: bare, or under timeout, breaker and bulkhead. */
function dependencyPolicy(
  design: Design,
  node: Node,
  context: LabContext,
  seen: Observed,
): Policy | undefined {
  if (design === 'unsafe') return undefined;
  const runtime = node.runtime;
  const breaker = new CircuitBreaker({
    policy: { kind: 'consecutive', threshold: 5 },
    halfOpenAfterMs: 500,
    runtime,
  });
  breaker.onStateChange(({ from, to }) => {
    if (to === 'open') seen.breakerOpens++;
    context.note(node.name, `breaker ${from} -> ${to}`);
  });
  // A breaker alone counts failures, and a call that hangs never fails: it never opens.
  if (design === 'textbook') return breaker;
  return pipeline(
    breaker,
    new Bulkhead({ maxConcurrent: 4, maxQueue: 4 }),
    new Timeout({ timeoutMs: 100, strategy: 'aggressive', runtime }),
  );
}

/**
 * The stand-in front service: a pool of {@link WORKERS} workers with an unbounded queue in front
 * (the skeleton of a thread-per-request server). A request holds a worker while it works, and
 * while it waits for the dependency.
 */
function startFront(sim: Simulation, context: LabContext, design: Design, seen: Observed): void {
  const front = sim.node('front');
  const random = front.runtime.random;
  const waiting: (() => void)[] = [];
  let busy = 0;
  const acquire = (): Promise<void> | undefined => {
    if (busy < WORKERS) {
      busy++;
      return undefined;
    }
    const queued = new Promise<void>((resolve) => waiting.push(resolve));
    if (waiting.length > seen.maxQueued) seen.maxQueued = waiting.length;
    if (waiting.length > QUEUE_BOUND && seen.queueOverflow === undefined) {
      seen.queueOverflow = {
        index: context.note('front', `${waiting.length} requests wait for a worker`),
        timeMs: sim.nowMs,
        summary: `the front service's queue grew past ${QUEUE_BOUND} requests: every worker waits on the dependency`,
        operations: [`${busy} workers busy, ${waiting.length} requests queued`],
      };
    }
    return queued;
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next === undefined) busy--;
    else next();
  };
  const rpc = new RpcClient(front);
  const policy = dependencyPolicy(design, front, context, seen);
  const callDependency = (): Promise<unknown> =>
    policy === undefined
      ? rpc.call('dependency', 'lookup')
      : policy.execute(({ signal }) => rpc.call('dependency', 'lookup', signal));
  serve(front, async (body) => {
    await acquire();
    try {
      if ((body as UserRequest).needsDependency) {
        try {
          return await callDependency();
        } catch (error) {
          return new Refusal(error instanceof Error ? error.name : 'dependency failed');
        }
      }
      await front.runtime.timers.sleep(2 + random.next() * 2);
      return 'ok';
    } finally {
      release();
    }
  });
}

/** The stand-in dependency: answers in 5-15 ms, then only after `delayMs` from {@link HANG_AT_MS}. */
function startDependency(sim: Simulation, delayMs: number): void {
  const dependency = sim.node('dependency');
  const random = dependency.runtime.random;
  serve(dependency, async () => {
    const ms = sim.nowMs < HANG_AT_MS ? 5 + random.next() * 10 : delayMs;
    await dependency.runtime.timers.sleep(ms);
    return 'value';
  });
}

/** The users: one request every few ms, a share of them needing the dependency. */
function startUsers(sim: Simulation, context: LabContext, share: number, seen: Observed): void {
  const users = sim.node('users');
  users.start(() => {
    const rpc = new RpcClient(users);
    const random = users.runtime.random;
    let id = 0;
    const send = (): void => {
      const request: UserRequest = { id: ++id, needsDependency: random.next() < share };
      void issue(sim, context, users, rpc, request, seen);
      if (sim.nowMs + REQUEST_INTERVAL_MS < LOAD_MS)
        users.runtime.timers.setTimer(REQUEST_INTERVAL_MS, send);
    };
    send();
  });
}

async function issue(
  sim: Simulation,
  context: LabContext,
  users: Node,
  rpc: RpcClient,
  request: UserRequest,
  seen: Observed,
): Promise<void> {
  const controller = new AbortController();
  const cancel = users.runtime.timers.setTimer(USER_TIMEOUT_MS, () => controller.abort());
  const startMs = sim.nowMs;
  if (request.needsDependency) seen.dependent++;
  else seen.independent++;
  try {
    await rpc.call('front', request, controller.signal);
    return;
  } catch (error) {
    const why = controller.signal.aborted
      ? `no reply within ${USER_TIMEOUT_MS} ms`
      : error instanceof Error
        ? error.message
        : String(error);
    const kind = request.needsDependency ? 'needs the dependency' : 'local';
    const text = `request ${request.id} (${kind}) failed: ${why}`;
    const index = context.note('users', text);
    if (request.needsDependency) {
      seen.dependentFailed++;
      return;
    }
    seen.independentFailed++;
    seen.firstIndependentFailure ??= {
      index,
      timeMs: sim.nowMs,
      summary:
        'a request that does not need the dependency failed: the front service had no free worker',
      operations: [`${text} [${startMs.toFixed(1)} .. ${sim.nowMs.toFixed(1)} ms]`],
    };
  } finally {
    cancel();
  }
}

function verdict(seen: Observed): Evidence | undefined {
  const ratio = seen.independent === 0 ? 1 : 1 - seen.independentFailed / seen.independent;
  const candidates: Violation[] = [];
  if (seen.queueOverflow !== undefined) candidates.push(seen.queueOverflow);
  if (ratio < INDEPENDENT_SUCCESS_BOUND && seen.firstIndependentFailure !== undefined)
    candidates.push(seen.firstIndependentFailure);
  candidates.sort((a, b) => a.index - b.index);
  const first = candidates[0];
  if (first === undefined) return undefined;
  const share = `${seen.independent - seen.independentFailed} of ${seen.independent} requests that do not need the dependency succeeded`;
  return {
    timeMs: first.timeMs,
    summary: first.summary,
    traceIndex: first.index,
    operations: [...first.operations, share, `front queue peaked at ${seen.maxQueued}`],
  };
}

async function run(context: LabContext, design: Design): Promise<VariantOutcome> {
  const sim = context.simulation({
    network: { latency: { kind: 'uniform', minMs: 1, maxMs: 3 } },
  });
  const seen: Observed = {
    independent: 0,
    independentFailed: 0,
    dependent: 0,
    dependentFailed: 0,
    maxQueued: 0,
    breakerOpens: 0,
    firstIndependentFailure: undefined,
    queueOverflow: undefined,
  };
  startDependency(sim, context.knobs['dependencyDelayMs'] ?? 5_000);
  startFront(sim, context, design, seen);
  startUsers(sim, context, (context.knobs['dependentPercent'] ?? 50) / 100, seen);
  // Every request is settled (answered or given up) by the end of the load plus the user timeout.
  await sim.run({ untilMs: LOAD_MS + USER_TIMEOUT_MS + 1 });
  const evidence = verdict(seen);
  return {
    violated: evidence !== undefined,
    ...(evidence === undefined ? {} : { evidence }),
    figures: {
      maxQueued: seen.maxQueued,
      failedRequests: seen.independentFailed + seen.dependentFailed,
      independentFailed: seen.independentFailed,
      breakerOpens: seen.breakerOpens,
      independentSuccessPercent:
        seen.independent === 0
          ? 100
          : Math.round((1 - seen.independentFailed / seen.independent) * 1000) / 10,
    },
  };
}

/** The cascading-failure scenario. */
export const cascadingFailure: Scenario = {
  name: 'cascading-failure',
  title: 'Cascading failure',
  problem:
    'A front service calls a dependency that hangs; without a timeout, each call holds one of its ' +
    'workers until every worker waits on the dependency. Requests that never needed the ' +
    'dependency then queue up and fail too: one slow service took down its caller.',
  reference:
    'Michael T. Nygard, Release It! (2nd ed., 2018), ch. 4 "Stability Antipatterns" (cascading ' +
    'failures, blocked threads) and ch. 5 "Stability Patterns" (timeouts, circuit breaker, ' +
    'bulkheads); Google SRE book, ch. 22 "Addressing Cascading Failures"',
  property:
    'At least 99% of the requests that do not need the dependency succeed (answered within ' +
    '250 ms, counted by the users) and the front service’s queue of requests waiting for a worker ' +
    'never exceeds 16.',
  standIn:
    'The front service’s worker pool (16 workers, a queue in front), the dependency and the users ' +
    'are small stand-ins on simulated nodes; the protection is faultline’s Timeout, CircuitBreaker ' +
    'and Bulkhead composed with pipeline.',
  api: [
    "import { Bulkhead, CircuitBreaker, Timeout, pipeline } from 'faultline';",
    'const dependency = pipeline(',
    "  new CircuitBreaker({ policy: { kind: 'consecutive', threshold: 5 }, halfOpenAfterMs: 500 }),",
    '  new Bulkhead({ maxConcurrent: 4, maxQueue: 4 }),',
    "  new Timeout({ timeoutMs: 100, strategy: 'aggressive' }),",
    ');',
    'const value = await dependency.execute(({ signal }) => lookup(key, { signal }));',
  ].join('\n'),
  figures: [
    {
      name: 'maxQueued',
      label: 'requests waiting for a worker (max)',
      unit: 'requests',
      better: 'lower',
      key: true,
    },
    {
      name: 'failedRequests',
      label: 'failed requests',
      unit: 'requests',
      better: 'lower',
      key: true,
    },
    {
      name: 'independentFailed',
      label: 'failed requests that did not need the dependency',
      unit: 'requests',
      better: 'lower',
    },
    {
      name: 'breakerOpens',
      label: 'times the circuit breaker opened',
      unit: 'times',
      better: 'none',
    },
    {
      name: 'independentSuccessPercent',
      label: 'success of requests that did not need the dependency',
      unit: '%',
      better: 'higher',
    },
  ],
  knobs: [
    {
      name: 'dependencyDelayMs',
      label: 'latency of the sick dependency',
      min: 50,
      max: 10_000,
      step: 50,
      default: 5_000,
      unit: 'ms',
    },
    {
      name: 'dependentPercent',
      label: 'requests that need the dependency',
      min: 10,
      max: 90,
      step: 10,
      default: 50,
      unit: '%',
    },
  ],
  variants: {
    unsafe: {
      summary:
        'The front service calls the dependency with no timeout, no breaker and no bulkhead; a waiting call holds its worker.',
      run: (context) => run(context, 'unsafe'),
    },
    textbook: {
      summary:
        'The front service calls the dependency through a circuit breaker, without a timeout or a bulkhead.',
      why: 'A breaker opens on failed calls, and a hung call never fails: the breaker stays closed while every worker waits.',
      run: (context) => run(context, 'textbook'),
    },
    safe: {
      summary:
        'The front service calls the dependency through a pipeline of circuit breaker, bulkhead (4 running, 4 queued) and a 100 ms timeout.',
      run: (context) => run(context, 'safe'),
    },
  },
};

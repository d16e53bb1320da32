/**
 * Readiness: a load balancer that only asks "is the process up?" keeps routing to an instance
 * that lost its database, and a third of the users' requests fail for the whole outage. When the
 * instance's readiness is derived from the circuit breaker around its database calls, the load
 * balancer takes it out of rotation within a probe interval of the breaker opening.
 *
 * @module
 */
import { HealthRegistry } from '../../detect/health.js';
import { CircuitBreaker } from '../../resilience/breaker.js';
import { pipeline } from '../../resilience/pipeline.js';
import type { Policy } from '../../resilience/policy.js';
import { Timeout } from '../../resilience/timeout.js';
import type { Simulation } from '../../sim/simulation.js';
import { Refusal, RpcClient, serve } from '../resilience/rpc.js';
import type { Evidence, LabContext, Scenario, VariantOutcome } from '../types.js';

/** The load balancer sends a user request every this many ms, for {@link LOAD_MS}. */
const REQUEST_INTERVAL_MS = 5;
const LOAD_MS = 2_000;
/** The load balancer probes each instance's readiness this often. */
const PROBE_INTERVAL_MS = 50;
/** A probe unanswered this long counts as down. */
const PROBE_TIMEOUT_MS = 40;
/** The instances' timeout on a database call (in both variants). */
const DB_TIMEOUT_MS = 50;
/** The outage of i1's database link starts in [OUTAGE_FROM_MS, OUTAGE_FROM_MS + OUTAGE_SPREAD_MS). */
const OUTAGE_FROM_MS = 300;
const OUTAGE_SPREAD_MS = 200;
/** How long after the outage starts the property begins to apply: the detection window. */
const DETECTION_WINDOW_MS = 300;
/** After the detection window, at most this share of user requests may fail. */
const FAILED_SHARE_BOUND = 0.05;
const INSTANCES = ['i1', 'i2', 'i3'] as const;
/** The instance whose database link fails. */
const SICK = 'i1';

type Design = 'unsafe' | 'safe';

/** What the world observed: counted by the load balancer, outside the instances' code. */
interface Observed {
  outageAtMs: number;
  requests: number;
  failed: number;
  /** Requests sent after the detection window, and those of them that failed (with their notes). */
  late: number;
  lateFailures: { index: number; timeMs: number; text: string }[];
  /** When the load balancer stopped routing to the sick instance during the outage, if it did. */
  removedAtMs: number | undefined;
}

/** An instance: serves requests by reading from the database, and answers readiness probes. */
function startInstance(sim: Simulation, context: LabContext, name: string, design: Design): void {
  const node = sim.node(name);
  const runtime = node.runtime;
  const health = new HealthRegistry({ checkTimeoutMs: 20, runtime });
  health.addLiveness('process', () => true);
  const timeout = new Timeout({ timeoutMs: DB_TIMEOUT_MS, strategy: 'aggressive', runtime });
  let db: Policy = timeout;
  if (design === 'safe') {
    const breaker = new CircuitBreaker({
      policy: { kind: 'consecutive', threshold: 5 },
      halfOpenAfterMs: 1_000,
      runtime,
    });
    breaker.onStateChange(({ from, to }) => context.note(name, `breaker ${from} -> ${to}`));
    // Readiness is derived from the breaker: down while it is open.
    health.addDependency('db', breaker);
    db = pipeline(breaker, timeout);
  }
  const rpc = new RpcClient(node);
  serve(node, async (body) => {
    if (body === 'probe') return (await health.ready()).status;
    try {
      return await db.execute(({ signal }) => rpc.call('db', body, signal));
    } catch (error) {
      return new Refusal(error instanceof Error ? error.name : 'database call failed');
    }
  });
}

/**
 * The stand-in load balancer: round robin over the instances in rotation; every
 * {@link PROBE_INTERVAL_MS} it probes each instance's readiness and keeps in rotation those that
 * answered `up`. It also plays the users: one request every {@link REQUEST_INTERVAL_MS}.
 */
function startBalancer(sim: Simulation, context: LabContext, seen: Observed): void {
  const lb = sim.node('lb');
  lb.start(() => {
    const rpc = new RpcClient(lb);
    const timers = lb.runtime.timers;
    const inRotation = new Set<string>(INSTANCES);
    let next = 0;
    const probe = (instance: string): void => {
      const controller = new AbortController();
      const cancel = timers.setTimer(PROBE_TIMEOUT_MS, () => controller.abort());
      const update = (up: boolean): void => {
        cancel();
        if (up === inRotation.has(instance)) return;
        if (up) inRotation.add(instance);
        else inRotation.delete(instance);
        context.note('lb', `${instance} ${up ? 'back in' : 'out of'} rotation`);
        if (
          !up &&
          instance === SICK &&
          seen.removedAtMs === undefined &&
          sim.nowMs >= seen.outageAtMs
        )
          seen.removedAtMs = sim.nowMs;
      };
      rpc.call(instance, 'probe', controller.signal).then(
        (status) => update(status === 'up'),
        () => update(false),
      );
    };
    const probeAll = (): void => {
      for (const instance of INSTANCES) probe(instance);
      if (sim.nowMs + PROBE_INTERVAL_MS < LOAD_MS) timers.setTimer(PROBE_INTERVAL_MS, probeAll);
    };
    const send = (): void => {
      const candidates = INSTANCES.filter((i) => inRotation.has(i));
      const instance = candidates[next++ % Math.max(1, candidates.length)];
      void route(sim, context, rpc, instance, seen);
      if (sim.nowMs + REQUEST_INTERVAL_MS < LOAD_MS) timers.setTimer(REQUEST_INTERVAL_MS, send);
    };
    timers.setTimer(PROBE_INTERVAL_MS, probeAll);
    send();
  });
}

async function route(
  sim: Simulation,
  context: LabContext,
  rpc: RpcClient,
  instance: string | undefined,
  seen: Observed,
): Promise<void> {
  const id = ++seen.requests;
  const startMs = sim.nowMs;
  const late = startMs >= seen.outageAtMs + DETECTION_WINDOW_MS;
  if (late) seen.late++;
  let why: string;
  try {
    if (instance === undefined) throw new Error('no instance in rotation');
    await rpc.call(instance, `row-${id}`);
    return;
  } catch (error) {
    why = error instanceof Error ? error.message : String(error);
  }
  seen.failed++;
  const text = `request ${id} to ${instance ?? 'nobody'} failed: ${why} [${startMs.toFixed(1)} .. ${sim.nowMs.toFixed(1)} ms]`;
  const index = context.note('lb', text);
  if (late) seen.lateFailures.push({ index, timeMs: sim.nowMs, text });
}

/**
 * The checker: after the detection window, at most {@link FAILED_SHARE_BOUND} of the requests
 * fail. The violating event is the failure that went one over the allowance.
 */
function verdict(seen: Observed): Evidence | undefined {
  const allowed = Math.floor(FAILED_SHARE_BOUND * seen.late);
  const failures = seen.lateFailures;
  if (failures.length <= allowed) return undefined;
  const culprit = failures[allowed];
  if (culprit === undefined) return undefined;
  return {
    timeMs: culprit.timeMs,
    summary: `${failures.length} of ${seen.late} requests sent more than ${DETECTION_WINDOW_MS} ms after the outage began failed (at most ${allowed} allowed): the load balancer kept routing to ${SICK}`,
    traceIndex: culprit.index,
    operations: failures.slice(Math.max(0, allowed - 2), allowed + 1).map((f) => f.text),
  };
}

async function run(context: LabContext, design: Design): Promise<VariantOutcome> {
  const sim = context.simulation({
    network: { latency: { kind: 'uniform', minMs: 1, maxMs: 3 } },
  });
  const outageMs = context.knobs['outageMs'] ?? 1_000;
  const outageAtMs = OUTAGE_FROM_MS + sim.random.fork('outage').next() * OUTAGE_SPREAD_MS;
  const seen: Observed = {
    outageAtMs,
    requests: 0,
    failed: 0,
    late: 0,
    lateFailures: [],
    removedAtMs: undefined,
  };
  const db = sim.node('db');
  serve(db, (body) => body);
  for (const name of INSTANCES) startInstance(sim, context, name, design);
  startBalancer(sim, context, seen);
  sim.schedule([
    { atMs: outageAtMs, fault: { kind: 'cut', from: SICK, to: 'db', durationMs: outageMs } },
  ]);
  await sim.run({ untilMs: LOAD_MS + 200 });
  const evidence = verdict(seen);
  const removedAfterMs =
    seen.removedAtMs !== undefined && seen.removedAtMs < outageAtMs + outageMs
      ? seen.removedAtMs - outageAtMs
      : outageMs;
  return {
    violated: evidence !== undefined,
    ...(evidence === undefined ? {} : { evidence }),
    figures: {
      failedRequests: seen.failed,
      outOfRotationMs: Math.round(removedAfterMs * 10) / 10,
      lateFailedPercent:
        seen.late === 0 ? 0 : Math.round((seen.lateFailures.length / seen.late) * 1000) / 10,
    },
  };
}

/** The readiness scenario. */
export const readiness: Scenario = {
  name: 'readiness',
  title: 'Readiness from the circuit breaker',
  problem:
    'One of three instances loses its database, but its process is alive, so a load balancer ' +
    'that checks only liveness keeps sending it a third of the traffic. Every one of those ' +
    'requests fails for as long as the outage lasts.',
  reference:
    'Kubernetes documentation, "Configure Liveness, Readiness and Startup Probes"; Michael T. ' +
    'Nygard, Release It! (2nd ed., 2018), ch. 5 (circuit breaker) and ch. 10 (health checks)',
  property:
    'Of the user requests sent more than 300 ms (the detection window) after the outage began, ' +
    'at most 5% fail, counted at the load balancer.',
  standIn:
    'The load balancer (round robin, a readiness probe every 50 ms) and the database are small ' +
    'stand-ins on simulated nodes; the instances run faultline’s HealthRegistry, CircuitBreaker ' +
    'and Timeout.',
  api: [
    "import { CircuitBreaker, HealthRegistry, Timeout, pipeline } from 'faultline';",
    "const breaker = new CircuitBreaker({ policy: { kind: 'consecutive', threshold: 5 }, halfOpenAfterMs: 1000 });",
    'const db = pipeline(breaker, new Timeout({ timeoutMs: 50 }));',
    'const health = new HealthRegistry();',
    "health.addDependency('db', breaker); // /ready answers 503 while the breaker is open",
    'http.createServer(health.handler()).listen(8081);',
  ].join('\n'),
  figures: [
    {
      name: 'failedRequests',
      label: 'failed requests',
      unit: 'requests',
      better: 'lower',
      key: true,
    },
    {
      name: 'outOfRotationMs',
      label: 'time to take the instance out of rotation (the outage if never)',
      unit: 'ms',
      better: 'lower',
      key: true,
    },
    {
      name: 'lateFailedPercent',
      label: 'failed requests after the detection window',
      unit: '%',
      better: 'lower',
    },
  ],
  knobs: [
    {
      name: 'outageMs',
      label: 'database outage of one instance',
      min: 100,
      max: 1_500,
      step: 100,
      default: 1_000,
      unit: 'ms',
    },
  ],
  variants: {
    unsafe: {
      summary:
        'Readiness is liveness: the instance answers `up` while its process runs, so the load balancer keeps routing to it.',
      run: (context) => run(context, 'unsafe'),
    },
    safe: {
      summary:
        'Readiness includes the circuit breaker around the database calls: `down` while it is open, so the load balancer takes the instance out of rotation.',
      run: (context) => run(context, 'safe'),
    },
  },
};

/**
 * The lab's saga workload: an orchestrator on a simulated node books trips — a flight, a hotel,
 * then a card charge that is declined for some trips — on three simulated services, while the
 * orchestrator crashes. Shared by the lab scenario and `faultline sim saga`.
 *
 * @module
 */
import type { ScheduledFault } from '../../sim/faults.js';
import type { Node } from '../../sim/node.js';
import type { Simulation } from '../../sim/simulation.js';
import { bounded } from '../../txn/call.js';
import { newGid } from '../../txn/gid.js';
import { MemorySagaLog } from '../../txn/memory.js';
import { SagaOrchestrator } from '../../txn/saga.js';
import type { SagaDefinition, SagaLog, SagaRecord } from '../../txn/saga.js';
import { RpcClient } from '../resilience/rpc.js';
import { OutcomeTruth, serveResource, short } from './resource.js';

/** The services, in step order. */
export const SAGA_SERVICES = ['flight', 'hotel', 'card'] as const;

/** How the orchestrator is built. */
export type SagaMode =
  /** Steps in sequence, no compensation, no log: a failure or crash leaves what ran. */
  | 'naive'
  /** faultline's orchestrator with compensations, but its log in memory (lost in a crash). */
  | 'volatile'
  /** faultline's orchestrator with compensations and its log on the node's disk. */
  | 'durable';

/** Options of {@link runSagaWorkload}. */
export interface SagaWorkloadOptions {
  readonly sim: Simulation;
  readonly mode: SagaMode;
  /** Share of trips whose card is declined (the last step fails). */
  readonly declineProbability: number;
  readonly workloadMs: number;
  readonly horizonMs: number;
  readonly note: (node: string, text: string) => number;
  readonly faults?: readonly ScheduledFault[];
}

/** What a run found. */
export interface SagaWorkloadResult {
  readonly sagas: number;
  /** Sagas left with some steps applied and others not at the end of the run. */
  readonly partial: number;
  /** The first partial saga and what it left. */
  readonly firstPartial?: { readonly sagaId: string; readonly applied: readonly string[] };
  /** Share of samples (every 2 ms) in which the services disagreed: a half-done saga was visible. */
  readonly intermediateVisible: number;
  readonly completed: number;
}

const SAGA_KEY = 'saga/';

/** The saga log on the orchestrator's simulated disk: every save is synced before it returns. */
export class DiskSagaLog implements SagaLog {
  constructor(private readonly node: Node) {}

  async save(record: SagaRecord): Promise<void> {
    this.node.disk.write(SAGA_KEY + record.sagaId, Object.freeze({ ...record }));
    await this.node.disk.sync();
  }

  async remove(sagaId: string): Promise<void> {
    this.node.disk.delete(SAGA_KEY + sagaId);
    await this.node.disk.sync();
  }

  list(prefix: string): Promise<SagaRecord[]> {
    const out: SagaRecord[] = [];
    for (const key of this.node.disk.keys())
      if (key.startsWith(SAGA_KEY + prefix)) out.push(this.node.disk.read(key) as SagaRecord);
    return Promise.resolve(out);
  }
}

interface Trip {
  readonly declined: boolean;
}

/** A call that gives up after 40 ms (a service that crashed never answers). */
function call(
  node: Node,
  rpc: RpcClient,
  to: string,
  body: unknown,
  signal: AbortSignal,
): Promise<unknown> {
  return bounded(node.runtime, to, 40, signal, (s) => rpc.call(to, body, s));
}

function tripDefinition(node: Node, rpc: RpcClient): SagaDefinition<Trip> {
  return {
    name: 'trip',
    steps: SAGA_SERVICES.map((service) => ({
      name: service,
      run: async ({ key, input, signal }) => {
        if (service === 'card' && input.declined) throw new Error('card declined');
        await call(node, rpc, service, { op: 'apply', id: key, delta: 1 }, signal);
      },
      compensate: async ({ key, signal }) => {
        await call(node, rpc, service, { op: 'undo', id: key }, signal);
      },
    })),
  };
}

/** Runs the workload to `horizonMs`; the services' disks decide what each saga left. */
export async function runSagaWorkload(options: SagaWorkloadOptions): Promise<SagaWorkloadResult> {
  const { sim, note } = options;
  const started = new Set<string>();
  let completed = 0;
  const truth = new OutcomeTruth(() => sim.nowMs, note);
  for (const name of SAGA_SERVICES)
    sim
      .node(name)
      .start((node) =>
        serveResource(node, { participant: 'correct', noVoteProbability: 0 }, truth),
      );
  sim.node('orch').start((node) => orchestrate(node, options, started, () => completed++));
  let samples = 0;
  let visible = 0;
  const sample = (): void => {
    const balances = SAGA_SERVICES.map((s) => (sim.getNode(s).disk.read('balance') as number) ?? 0);
    samples++;
    if (balances.some((b) => b !== balances[0])) visible++;
    if (sim.nowMs + 2 <= options.horizonMs) sim.scheduler.after(2, sample);
  };
  sim.scheduler.after(1, sample);
  if (options.faults !== undefined) sim.schedule(options.faults);
  await sim.run({ untilMs: options.horizonMs });
  return {
    ...judge(sim, started, note),
    intermediateVisible: visible / Math.max(1, samples),
    completed,
    sagas: started.size,
  };
}

function judge(
  sim: Simulation,
  started: ReadonlySet<string>,
  note: (node: string, text: string) => number,
): Pick<SagaWorkloadResult, 'partial' | 'firstPartial'> {
  let partial = 0;
  let firstPartial: SagaWorkloadResult['firstPartial'];
  for (const sagaId of started) {
    const applied = SAGA_SERVICES.filter(
      (s, i) => typeof sim.getNode(s).disk.read(`applied/${sagaId}:${i}`) === 'number',
    );
    if (applied.length === 0 || applied.length === SAGA_SERVICES.length) continue;
    partial++;
    if (firstPartial === undefined) {
      firstPartial = { sagaId, applied };
      note('orch', `saga ${short(sagaId)} left half done: ${applied.join(', ')} applied`);
    }
  }
  return { partial, ...(firstPartial === undefined ? {} : { firstPartial }) };
}

async function orchestrate(
  node: Node,
  options: SagaWorkloadOptions,
  started: Set<string>,
  onCompleted: () => void,
): Promise<void> {
  const rpc = new RpcClient(node);
  const timers = node.runtime.timers;
  const random = node.runtime.random.fork('trips');
  const definition = tripDefinition(node, rpc);
  const orchestrator =
    options.mode === 'naive'
      ? undefined
      : new SagaOrchestrator({
          orchestratorId: 'orch',
          log: options.mode === 'durable' ? new DiskSagaLog(node) : new MemorySagaLog(),
          definitions: [definition as SagaDefinition<never>],
          runtime: node.runtime,
          retry: {
            maxAttempts: 4,
            backoff: { kind: 'exponential', baseMs: 10, capMs: 80, jitter: 'full' },
          },
        });
  orchestrator?.onEvent((e) => {
    if (e.kind === 'started' && e.index === 0) started.add(e.sagaId);
    if (e.kind === 'compensating') options.note('orch', `compensates ${short(e.sagaId)}`);
  });
  if (orchestrator !== undefined) {
    await orchestrator.resume().catch(() => undefined);
    void (async () => {
      for (;;) {
        await timers.sleep(100);
        await orchestrator.resume().catch(() => undefined);
      }
    })();
  }
  while (options.sim.nowMs < options.workloadMs) {
    const trip: Trip = { declined: random.next() < options.declineProbability };
    try {
      if (orchestrator !== undefined) await orchestrator.run('trip', trip);
      else await naiveSaga(node, definition, trip, started);
      onCompleted();
    } catch {
      // Declined (compensated or not): the services' disks say what is left.
    }
    await timers.sleep(5 + random.int(10));
  }
}

/** The naive design: run the steps one after the other; stop at the first failure. */
async function naiveSaga(
  node: Node,
  definition: SagaDefinition<Trip>,
  input: Trip,
  started: Set<string>,
): Promise<void> {
  const sagaId = newGid('orch', node.runtime.random);
  started.add(sagaId);
  const signal = new AbortController().signal;
  for (const [index, step] of definition.steps.entries())
    await step.run({ sagaId, step: step.name, key: `${sagaId}:${index}`, input, signal });
}

/**
 * Sagas and compensation: a trip booking (flight, hotel, card) fails at its last step for some
 * trips, and the orchestrator crashes once. Without compensations the earlier steps stay applied;
 * with faultline's orchestrator they are undone, even across the crash. Nobody blocks either way,
 * but a half-done saga is visible while it runs.
 *
 * @module
 */
import type { LabContext, Scenario, VariantOutcome } from '../types.js';
import { runSagaWorkload } from '../txn/saga-workload.js';
import type { SagaMode } from '../txn/saga-workload.js';
import { short } from '../txn/resource.js';

const WORKLOAD_MS = 1_200;
const HORIZON_MS = 1_600;

async function run(context: LabContext, mode: SagaMode): Promise<VariantOutcome> {
  const sim = context.simulation({ network: { latency: { kind: 'uniform', minMs: 1, maxMs: 5 } } });
  const random = sim.random.fork('saga-compensation');
  const result = await runSagaWorkload({
    sim,
    mode,
    declineProbability: (context.knobs['declinePercent'] ?? 20) / 100,
    workloadMs: WORKLOAD_MS,
    horizonMs: HORIZON_MS,
    note: (node, text) => context.note(node, text),
    faults: [
      {
        atMs: 200 + random.int(800),
        fault: { kind: 'crash', node: 'orch', restartAfterMs: 50 + random.int(100) },
      },
    ],
  });
  const first = result.firstPartial;
  return {
    violated: first !== undefined,
    ...(first === undefined
      ? {}
      : {
          evidence: {
            timeMs: sim.nowMs,
            summary: `saga ${short(first.sagaId)} ended half done: ${first.applied.join(', ')} applied, the rest not`,
            node: 'orch',
            traceIndex: context.note('orch', `checker: ${short(first.sagaId)} is half done`),
            operations: first.applied.map((s) => `${short(first.sagaId)} applied at ${s}`),
          },
        }),
    figures: {
      partialSagas: result.partial,
      intermediateVisiblePercent: Math.round(result.intermediateVisible * 1000) / 10,
      sagas: result.sagas,
      completed: result.completed,
    },
  };
}

/** The saga-compensation scenario. */
export const sagaCompensation: Scenario = {
  name: 'saga-compensation',
  title: 'Saga without and with compensation',
  problem:
    'A long transaction across services (book a flight, a hotel, charge the card) cannot hold ' +
    'locks across all of them. Run as plain steps, a failing last step or a crash of the ' +
    'orchestrator leaves the earlier steps applied: a flight booked and never paid.',
  reference:
    'Garcia-Molina & Salem, “Sagas” (SIGMOD 1987); Temporal, “Saga pattern” guidance ' +
    '(compensations registered before each step, run in reverse)',
  property:
    'Each saga ends all or nothing: at the end of the run every service has applied its step of ' +
    'the saga, or none has (read from the services’ disks, outside the orchestrator).',
  standIn:
    'The orchestrator is faultline’s SagaOrchestrator with its log on the node’s simulated disk; ' +
    'the services are the lab’s simulated resource managers with idempotent apply/undo by key.',
  api: [
    "import { SagaOrchestrator } from 'faultline/txn';",
    "import { PostgresSagaLog } from 'faultline/postgres';",
    "const sagas = new SagaOrchestrator({ orchestratorId: 'trips-1', log, definitions: [trip] });",
    'await sagas.resume(); // at start-up',
    "await sagas.run('trip', { tripId: 42 });",
  ].join('\n'),
  figures: [
    {
      name: 'partialSagas',
      label: 'sagas left half done',
      unit: 'sagas',
      better: 'lower',
      key: true,
    },
    {
      name: 'intermediateVisiblePercent',
      label: 'time the services disagreed (a half-done saga visible)',
      unit: '%',
      better: 'none',
      key: true,
    },
    { name: 'sagas', label: 'sagas started', unit: '', better: 'none' },
    { name: 'completed', label: 'sagas completed', unit: '', better: 'higher' },
  ],
  knobs: [
    {
      name: 'declinePercent',
      label: 'trips whose card is declined',
      min: 0,
      max: 100,
      step: 5,
      default: 20,
      unit: '%',
    },
  ],
  variants: {
    unsafe: {
      summary:
        'The orchestrator runs the steps one after the other and stops at the first failure; it keeps no log.',
      run: (context) => run(context, 'naive'),
    },
    safe: {
      summary:
        'faultline’s SagaOrchestrator registers each compensation in a durable log before the step runs, undoes the started steps in reverse when one fails, and resumes from the log after a crash.',
      run: (context) => run(context, 'durable'),
    },
  },
};

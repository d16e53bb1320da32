/**
 * The transaction protocols as {@link ProtocolSim}s: `faultline sim 2pc` and `faultline sim saga`, each
 * run under seeded crashes and judged by a truth recorded outside the code under test.
 *
 * @module
 */
import type { ScheduledFault } from '../../sim/faults.js';
import { Simulation } from '../../sim/simulation.js';
import type { ProtocolSim } from '../../protocols/contract.js';
import { SAGA_SERVICES, runSagaWorkload } from './saga-workload.js';
import { RESOURCE_MANAGERS, runTwoPhaseWorkload } from './two-phase-workload.js';

const WORKLOAD_MS = 1_000;
const HORIZON_MS = 1_600;

/** Crashes of the coordinator and the resource managers at seeded times, each with a restart. */
function crashes(sim: Simulation): ScheduledFault[] {
  const random = sim.random.fork('txn-crashes');
  const nodes = ['coord', ...RESOURCE_MANAGERS];
  const out: ScheduledFault[] = [];
  const count = 1 + random.int(4);
  for (let i = 0; i < count; i++) {
    const node = nodes[random.int(nodes.length)] ?? 'coord';
    out.push({
      atMs: 50 + random.int(WORKLOAD_MS - 100),
      fault: { kind: 'crash', node, restartAfterMs: 20 + random.int(200) },
    });
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}

/** Two-phase commit under crashes: `violations` counts atomicity breaches. */
export const twoPhaseProtocol: ProtocolSim = {
  name: '2pc',
  summary:
    'two-phase commit (presumed abort, durable decision log, recovery) under crashes, checked for atomicity',
  variants: ['correct', 'forgetful-coordinator', 'eager-participant'],
  async run({ seed, variant }) {
    const sim = new Simulation({
      seed,
      trace: false,
      network: { latency: { kind: 'uniform', minMs: 1, maxMs: 5 } },
    });
    const random = sim.random.fork('2pc');
    // Half the seeds also crash the coordinator in the window between its two commits, the
    // moment that separates a coordinator that remembers its decision from one that does not.
    const targeted = random.next() < 0.5;
    const faults = crashes(sim);
    const result = await runTwoPhaseWorkload({
      sim,
      log: variant === 'forgetful-coordinator' ? 'volatile' : 'durable',
      behaviour: {
        participant: variant === 'eager-participant' ? 'eager' : 'correct',
        noVoteProbability: 0.1,
      },
      workloadMs: WORKLOAD_MS,
      horizonMs: HORIZON_MS,
      note: () => -1,
      ...(targeted
        ? {
            crashBetweenCommits: {
              transaction: 2 + random.int(10),
              restartAfterMs: 50 + random.int(200),
            },
          }
        : {}),
      faults,
    });
    const { truth } = result;
    const breach = truth.breach;
    const violations = truth.breaches() + result.acknowledgedLost;
    return {
      violations,
      ...(breach === undefined
        ? {}
        : {
            firstViolation: {
              timeMs: breach.timeMs,
              summary: `transaction ${breach.gid} committed at one participant and rolled back at another`,
            },
          }),
      figures: {
        committed: result.acknowledged,
        lockHeldMaxMs: Math.round(truth.lockHeldMaxMs * 10) / 10,
        inDoubtLeft: result.inDoubtLeft,
        crashes: faults.length + (targeted ? 1 : 0),
      },
    };
  },
};

/** Sagas under crashes: `violations` counts sagas left half done. */
export const sagaProtocol: ProtocolSim = {
  name: 'saga',
  summary:
    'a saga orchestrator (compensations, durable log, resume) under crashes, checked for all-or-nothing',
  variants: ['correct', 'no-compensation', 'volatile-log'],
  async run({ seed, variant }) {
    const sim = new Simulation({
      seed,
      trace: false,
      network: { latency: { kind: 'uniform', minMs: 1, maxMs: 5 } },
    });
    const random = sim.random.fork('saga-crashes');
    const nodes = ['orch', ...SAGA_SERVICES];
    const faults: ScheduledFault[] = [];
    for (let i = 0, n = 1 + random.int(4); i < n; i++)
      faults.push({
        atMs: 50 + random.int(WORKLOAD_MS - 100),
        fault: {
          kind: 'crash',
          node: nodes[random.int(nodes.length)] ?? 'orch',
          restartAfterMs: 20 + random.int(200),
        },
      });
    faults.sort((a, b) => a.atMs - b.atMs);
    const result = await runSagaWorkload({
      sim,
      mode:
        variant === 'no-compensation'
          ? 'naive'
          : variant === 'volatile-log'
            ? 'volatile'
            : 'durable',
      declineProbability: 0.2,
      workloadMs: WORKLOAD_MS,
      horizonMs: HORIZON_MS,
      note: () => -1,
      faults,
    });
    const first = result.firstPartial;
    return {
      violations: result.partial,
      ...(first === undefined
        ? {}
        : {
            firstViolation: {
              timeMs: HORIZON_MS,
              summary: `saga ${first.sagaId} ended half done (${first.applied.join(', ')} applied)`,
            },
          }),
      figures: {
        sagas: result.sagas,
        completed: result.completed,
        intermediateVisiblePercent: Math.round(result.intermediateVisible * 1000) / 10,
        crashes: faults.length,
      },
    };
  },
};

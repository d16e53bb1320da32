/**
 * Two-phase commit's coordinator crash: the coordinator dies after one participant committed and
 * before the other heard the decision. The other's branch stays prepared and holds its lock (the
 * blocking window); what the coordinator remembers after its restart decides atomicity.
 *
 * @module
 */
import type { LabContext, Scenario, VariantOutcome } from '../types.js';
import { runTwoPhaseWorkload } from '../txn/two-phase-workload.js';
import { short } from '../txn/resource.js';

const WORKLOAD_MS = 1_200;
const HORIZON_MS = 1_600;

async function run(context: LabContext, log: 'durable' | 'volatile'): Promise<VariantOutcome> {
  const sim = context.simulation({ network: { latency: { kind: 'uniform', minMs: 1, maxMs: 5 } } });
  const random = sim.random.fork('two-phase-crash');
  const result = await runTwoPhaseWorkload({
    sim,
    log,
    behaviour: { participant: 'correct', noVoteProbability: 0.05 },
    workloadMs: WORKLOAD_MS,
    horizonMs: HORIZON_MS,
    note: (node, text) => context.note(node, text),
    crashBetweenCommits: {
      transaction: 3 + random.int(20),
      restartAfterMs: context.knobs['restartAfterMs'] ?? 300,
    },
  });
  const { truth } = result;
  const breach = truth.breach;
  return {
    violated: breach !== undefined,
    ...(breach === undefined
      ? {}
      : {
          evidence: {
            timeMs: breach.timeMs,
            summary: `transaction ${short(breach.gid)} committed at one participant and rolled back at the other`,
            node: 'rm-b',
            traceIndex: breach.traceIndex,
            operations: [
              `${short(breach.gid)} committed at ${[...(truth.committed.get(breach.gid) ?? [])].join(', ')}`,
              `${short(breach.gid)} rolled back at ${[...(truth.aborted.get(breach.gid) ?? [])].join(', ')}`,
            ],
          },
        }),
    figures: {
      mixedOutcomes: truth.breaches(),
      acknowledgedLost: result.acknowledgedLost,
      lockHeldMaxMs: Math.round(truth.lockHeldMaxMs * 10) / 10,
      refusedForLock: truth.refusedForLock,
      committed: result.acknowledged,
      inDoubtLeft: result.inDoubtLeft,
    },
  };
}

/** The two-phase-commit coordinator crash scenario. */
export const twoPhaseCrash: Scenario = {
  name: 'two-phase-crash',
  title: 'Two-phase commit: coordinator crash',
  problem:
    'A two-phase-commit coordinator crashes after one participant committed and before the other ' +
    'heard the decision. The second participant’s branch is prepared: it may neither commit nor ' +
    'abort on its own, and holds its locks until the coordinator comes back. If the decision was ' +
    'only in the coordinator’s memory, the restarted coordinator presumes abort and the ' +
    'transaction commits at one participant and rolls back at the other.',
  reference:
    'Gray & Reuter, Transaction Processing (1993), ch. 10; Mohan, Lindsay & Obermarck, ' +
    '“Transaction management in the R* distributed database management system” (TODS 1986, ' +
    'presumed abort); PostgreSQL docs, PREPARE TRANSACTION',
  property:
    'Atomicity: no global transaction is committed at one participant and rolled back at another ' +
    '(the resource managers record every durable outcome; the check is outside the coordinator).',
  standIn:
    'The coordinator is faultline’s TwoPhaseCommit; the participants are small simulated resource ' +
    'managers with a prepared-branch log on their simulated disks, reached through the lab’s RPC shim.',
  api: [
    "import { TwoPhaseCommit } from 'faultline/txn';",
    "import { PostgresDecisionLog, PostgresParticipant } from 'faultline/postgres';",
    "const coordinator = new TwoPhaseCommit({ coordinatorId: 'orders-1', log, participants: [a, b] });",
    'await coordinator.recover(); // at start-up: commit what the log decided, roll back the rest',
  ].join('\n'),
  figures: [
    {
      name: 'mixedOutcomes',
      label: 'transactions committed at one, rolled back at other',
      unit: 'txns',
      better: 'lower',
      key: true,
    },
    {
      name: 'lockHeldMaxMs',
      label: 'longest a prepared branch held its lock',
      unit: 'ms',
      better: 'lower',
      key: true,
    },
    { name: 'acknowledgedLost', label: 'acknowledged commits lost', unit: 'txns', better: 'lower' },
    { name: 'refusedForLock', label: 'begins refused by a held lock', unit: '', better: 'lower' },
    { name: 'committed', label: 'transactions acknowledged', unit: 'txns', better: 'higher' },
    { name: 'inDoubtLeft', label: 'prepared branches left at the end', unit: '', better: 'lower' },
  ],
  knobs: [
    {
      name: 'restartAfterMs',
      label: 'coordinator down for',
      min: 50,
      max: 350,
      step: 10,
      default: 300,
      unit: 'ms',
    },
  ],
  variants: {
    unsafe: {
      summary:
        'The coordinator keeps its commit decision in memory; after a restart it presumes abort for every prepared branch.',
      run: (context) => run(context, 'volatile'),
    },
    safe: {
      summary:
        'The coordinator writes its commit decision durably before phase 2 and, after a restart, commits every prepared branch that has a decision record and rolls back the rest.',
      run: (context) => run(context, 'durable'),
    },
  },
};

/**
 * The lab's two-phase-commit workload: faultline's {@link TwoPhaseCommit} coordinator on a
 * simulated node moves one unit from `rm-a` to `rm-b` in a loop, recovering at start and every
 * 100 ms, while crashes hit it and the resource managers. Shared by the lab scenario and
 * `faultline sim 2pc`.
 *
 * @module
 */
import type { ScheduledFault } from '../../sim/faults.js';
import type { Simulation } from '../../sim/simulation.js';
import { TwoPhaseCommit } from '../../txn/two-phase.js';
import { RpcClient } from '../resilience/rpc.js';
import { DiskDecisionLog, RemoteParticipant, VolatileDecisionLog } from './remote.js';
import { OutcomeTruth, serveResource, short } from './resource.js';
import type { ResourceBehaviour } from './resource.js';

/** The resource managers, in enlistment order. */
export const RESOURCE_MANAGERS = ['rm-a', 'rm-b'] as const;

/** Options of {@link runTwoPhaseWorkload}. */
export interface TwoPhaseWorkloadOptions {
  readonly sim: Simulation;
  /** `durable`: the decision is synced to disk before phase 2; `volatile`: kept in memory. */
  readonly log: 'durable' | 'volatile';
  readonly behaviour: ResourceBehaviour;
  /** The coordinator starts no transaction after this virtual time (ms). */
  readonly workloadMs: number;
  /** The run ends at this virtual time (ms): the time after the workload lets recovery finish. */
  readonly horizonMs: number;
  /** Records a note on a node's lane (the lab's `context.note`, or a no-op). */
  readonly note: (node: string, text: string) => number;
  /**
   * Crashes the coordinator right after transaction number `transaction` committed at `rm-a`
   * (before `rm-b` heard the decision) and restarts it `restartAfterMs` later.
   */
  readonly crashBetweenCommits?: { readonly transaction: number; readonly restartAfterMs: number };
  /** Further faults (crashes of any node). */
  readonly faults?: readonly ScheduledFault[];
}

/** What a run of the workload found. */
export interface TwoPhaseWorkloadResult {
  readonly truth: OutcomeTruth;
  /** Transactions the coordinator acknowledged as committed. */
  readonly acknowledged: number;
  /** Acknowledged transactions that some resource manager rolled back. */
  readonly acknowledgedLost: number;
  /** Prepared branches still waiting for a decision at the end of the run. */
  readonly inDoubtLeft: number;
}

/** Runs the workload to `horizonMs` and returns what the truth recorded. */
export async function runTwoPhaseWorkload(
  options: TwoPhaseWorkloadOptions,
): Promise<TwoPhaseWorkloadResult> {
  const { sim, note } = options;
  const truth = new OutcomeTruth(() => sim.nowMs, note);
  const acknowledged = new Set<string>();
  let started = 0;
  let crashed = false;
  for (const name of RESOURCE_MANAGERS)
    sim.node(name).start((node) => serveResource(node, options.behaviour, truth));
  sim.node('coord').start(async (node) => {
    const rpc = new RpcClient(node);
    const participants = RESOURCE_MANAGERS.map(
      (name, i) => new RemoteParticipant(name, rpc, i === 0 ? -1 : 1),
    );
    const coordinator = new TwoPhaseCommit({
      coordinatorId: 'coord',
      log: options.log === 'durable' ? new DiskDecisionLog(node) : new VolatileDecisionLog(),
      participants,
      runtime: node.runtime,
      callTimeoutMs: 40,
      phaseTwoAttempts: 3,
      phaseTwoBackoff: { kind: 'exponential', baseMs: 10, capMs: 40, jitter: 'full' },
    });
    coordinator.onStep((step) => {
      if (step.kind === 'decided' && step.outcome === 'commit')
        note('coord', `decides commit ${short(step.gid)}`);
      if (step.kind === 'recovered')
        note('coord', `recovery: ${step.outcome} ${short(step.gid)} at ${step.participant}`);
      const crash = options.crashBetweenCommits;
      if (
        crash !== undefined &&
        !crashed &&
        step.kind === 'committed' &&
        step.participant === RESOURCE_MANAGERS[0] &&
        started >= crash.transaction
      ) {
        crashed = true;
        sim.crash('coord');
        sim.scheduler.after(crash.restartAfterMs, () => sim.restart('coord'));
      }
    });
    const random = node.runtime.random.fork('workload');
    const timers = node.runtime.timers;
    // Recovery first, then periodically, as a real coordinator process does.
    await coordinator.recover().catch(() => undefined);
    void (async () => {
      for (;;) {
        await timers.sleep(100);
        await coordinator.recover().catch(() => undefined);
      }
    })();
    while (sim.nowMs < options.workloadMs) {
      started++;
      try {
        const result = await coordinator.transaction(async (tx) => {
          for (const p of participants) await tx.enlist(p);
        });
        acknowledged.add(result.gid);
      } catch {
        // Aborted or in doubt: the truth decides what happened.
      }
      await timers.sleep(5 + random.int(10));
    }
  });
  if (options.faults !== undefined) sim.schedule(options.faults);
  await sim.run({ untilMs: options.horizonMs });
  let acknowledgedLost = 0;
  for (const gid of acknowledged) if ((truth.aborted.get(gid)?.size ?? 0) > 0) acknowledgedLost++;
  let inDoubtLeft = 0;
  for (const name of RESOURCE_MANAGERS)
    for (const key of sim.getNode(name).disk.keys()) if (key.startsWith('prepared/')) inDoubtLeft++;
  return { truth, acknowledged: acknowledged.size, acknowledgedLost, inDoubtLeft };
}

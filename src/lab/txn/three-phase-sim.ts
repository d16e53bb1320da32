/**
 * Three-phase commit in the simulator: a coordinator and three participants run transactions back
 * to back under seeded crashes or partitions, and a checker outside the machines records every
 * decision and counts the transactions decided both ways (`faultline sim 3pc`, and the lab's
 * `three-phase-partition` scenario).
 *
 * @module
 */
import type { ScheduledFault } from '../../sim/faults.js';
import { Simulation } from '../../sim/simulation.js';
import type { ProtocolSim } from '../../protocols/contract.js';
import { driveOnNode } from '../../protocols/drive.js';
import { ThreePhaseCoordinator, ThreePhaseParticipant } from '../../txn/three-phase.js';
import type {
  ThreePhaseCoordinatorDurable,
  ThreePhaseMessage,
  ThreePhaseParticipantDurable,
  ThreePhaseParticipantOptions,
  ThreePhaseTermination,
} from '../../txn/three-phase.js';

/** The coordinator's node name. */
export const COORDINATOR = 'coord';
/** The participants' node names. */
export const PARTICIPANTS = ['p1', 'p2', 'p3'] as const;

/** A fault aimed at one transaction's critical moment. */
export type TargetedFault =
  /** Crash the coordinator 2 ms after it sent CanCommit of transaction `txn` (votes in flight). */
  | {
      readonly kind: 'crash-coordinator-voting';
      readonly txn: number;
      readonly restartAfterMs: number;
    }
  /** Crash `node` right after its first yes vote on `txn` or later (it misses the PreCommit). */
  | {
      readonly kind: 'crash-participant-voted';
      readonly txn: number;
      readonly node: string;
      readonly restartAfterMs: number;
    }
  /**
   * Partition {coordinator, p1} from {p2, p3} while the first PreCommit of `txn` or later
   * leaves: p1 gets it, p2 and p3 do not (the partition that breaks 3PC).
   */
  | { readonly kind: 'partition-at-pre-commit'; readonly txn: number; readonly durationMs: number };

/** Options of {@link runThreePhase}. */
export interface ThreePhaseRunOptions {
  readonly sim: Simulation;
  readonly termination: ThreePhaseTermination;
  /** Deliberately broken participant settings (see {@link ThreePhaseParticipantOptions}). */
  readonly broken?: Pick<ThreePhaseParticipantOptions, 'recovery' | 'uncertainTimeoutDecides'>;
  /** Probability that a participant votes no (default 0.1). */
  readonly noVoteProbability?: number;
  /** New transactions start until this virtual time. */
  readonly workloadMs: number;
  /** The run ends here (late restarts and queries settle in between). */
  readonly horizonMs: number;
  readonly faults?: readonly ScheduledFault[];
  readonly targeted?: TargetedFault;
  readonly note?: (node: string, text: string) => number;
}

/** The first transaction decided both ways. */
export interface ThreePhaseBreach {
  readonly txn: number;
  readonly timeMs: number;
  readonly committedAt: readonly string[];
  readonly abortedAt: readonly string[];
  readonly traceIndex: number;
}

/** What a run found. */
export interface ThreePhaseOutcome {
  readonly transactions: number;
  /** Transactions committed everywhere they were decided. */
  readonly committed: number;
  /** Transactions decided committed somewhere and aborted somewhere else. */
  readonly inconsistent: number;
  readonly breach?: ThreePhaseBreach;
  /** The longest a participant waited between its yes vote and its decision, in virtual ms. */
  readonly blockedMaxMs: number;
  /** Participants still undecided on a transaction they voted yes on at the horizon. */
  readonly undecidedLeft: number;
}

/** The checker: every decision of every node, per transaction, recorded outside the machines. */
class Decisions {
  readonly byTxn = new Map<number, { committed: Set<string>; aborted: Set<string> }>();
  breach: ThreePhaseBreach | undefined;
  inconsistent = new Set<number>();

  record(
    sim: Simulation,
    node: string,
    txn: number,
    outcome: 'committed' | 'aborted',
    note: NonNullable<ThreePhaseRunOptions['note']>,
  ): void {
    let d = this.byTxn.get(txn);
    if (d === undefined) this.byTxn.set(txn, (d = { committed: new Set(), aborted: new Set() }));
    const set = outcome === 'committed' ? d.committed : d.aborted;
    if (set.has(node)) return;
    set.add(node);
    const traceIndex = note(node, `${outcome} transaction ${txn}`);
    if (d.committed.size === 0 || d.aborted.size === 0 || this.inconsistent.has(txn)) return;
    this.inconsistent.add(txn);
    this.breach ??= {
      txn,
      timeMs: sim.nowMs,
      committedAt: [...d.committed],
      abortedAt: [...d.aborted],
      traceIndex,
    };
  }
}

/** Runs one seeded execution and checks it. */
export async function runThreePhase(options: ThreePhaseRunOptions): Promise<ThreePhaseOutcome> {
  const { sim, termination } = options;
  const note = options.note ?? (() => -1);
  const decisions = new Decisions();
  const waitingSince = new Map<string, number>(); // `${node}/${txn}` → virtual ms of the yes vote
  let blockedMaxMs = 0;
  let begun = 0;
  let nextBeginMs = 0;
  const random = sim.random.fork('3pc-workload');
  const noVote = options.noVoteProbability ?? 0.1;
  let targeted = options.targeted; // Fires once, then undefined.

  driveOnNode<ThreePhaseMessage, ThreePhaseCoordinatorDurable, ThreePhaseCoordinator>(
    sim.node(COORDINATOR),
    {
      create: (saved) =>
        new ThreePhaseCoordinator({ id: COORDINATOR, participants: PARTICIPANTS }, saved),
      observe: (_from, out) => {
        if (targeted !== undefined && watchCoordinator(sim, targeted, out)) targeted = undefined;
      },
      after: (machine) => {
        for (const d of machine.takeDecisions()) {
          decisions.record(sim, COORDINATOR, d.txn, d.outcome, note);
          nextBeginMs = sim.nowMs + 5 + random.int(10);
        }
        if (machine.idle && sim.nowMs >= nextBeginMs && sim.nowMs < options.workloadMs) {
          const txn = machine.begin();
          if (txn !== undefined) begun = Math.max(begun, txn);
        }
      },
    },
  );
  for (const id of PARTICIPANTS) {
    driveOnNode<ThreePhaseMessage, ThreePhaseParticipantDurable, ThreePhaseParticipant>(
      sim.node(id),
      {
        create: (saved, r) =>
          new ThreePhaseParticipant(
            {
              id,
              coordinator: COORDINATOR,
              termination,
              canCommit: () => r.next() >= noVote,
              ...options.broken,
            },
            saved,
          ),
        observe: (from, out) => {
          if (targeted !== undefined && watchParticipant(sim, targeted, from, out))
            targeted = undefined;
        },
        after: (machine) => {
          for (const { txn, state } of machine.takeChanges()) {
            const key = `${id}/${txn}`;
            if (state === 'uncertain') waitingSince.set(key, sim.nowMs);
            if (state !== 'committed' && state !== 'aborted') continue;
            const since = waitingSince.get(key);
            if (since !== undefined) blockedMaxMs = Math.max(blockedMaxMs, sim.nowMs - since);
            waitingSince.delete(key);
            decisions.record(sim, id, txn, state, note);
          }
        },
      },
    );
  }
  sim.schedule(options.faults ?? []);
  sim.runSync({ untilMs: options.horizonMs });
  for (const since of waitingSince.values())
    blockedMaxMs = Math.max(blockedMaxMs, options.horizonMs - since);
  let committed = 0;
  for (const d of decisions.byTxn.values()) if (d.aborted.size === 0) committed++;
  const breach = decisions.breach;
  return {
    transactions: begun,
    committed,
    inconsistent: decisions.inconsistent.size,
    ...(breach === undefined ? {} : { breach }),
    blockedMaxMs,
    undecidedLeft: waitingSince.size,
  };
}

/** Fires a coordinator-side targeted fault as its message leaves; true once fired. */
function watchCoordinator(
  sim: Simulation,
  targeted: TargetedFault,
  out: { readonly to: string; readonly message: ThreePhaseMessage },
): boolean {
  const { kind, txn } = out.message;
  if (txn < targeted.txn) return false;
  if (targeted.kind === 'crash-coordinator-voting' && kind === 'can-commit') {
    if (out.to !== PARTICIPANTS[0]) return false;
    sim.scheduler.at(sim.nowMs + 2, () =>
      sim.inject({ kind: 'crash', node: COORDINATOR, restartAfterMs: targeted.restartAfterMs }),
    );
    return true;
  }
  if (targeted.kind === 'partition-at-pre-commit' && kind === 'pre-commit') {
    // The PreCommit to p1 has left; the partition stops the ones to p2 and p3 at the sender.
    if (out.to !== PARTICIPANTS[1]) return false;
    sim.inject({
      kind: 'partition',
      groups: [
        [COORDINATOR, 'p1'],
        ['p2', 'p3'],
      ],
      durationMs: targeted.durationMs,
    });
    return true;
  }
  return false;
}

/** Fires the participant-side targeted fault right after its yes vote left; true once fired. */
function watchParticipant(
  sim: Simulation,
  targeted: TargetedFault,
  from: string,
  out: { readonly message: ThreePhaseMessage },
): boolean {
  if (targeted.kind !== 'crash-participant-voted' || targeted.node !== from) return false;
  const m = out.message;
  if (m.kind !== 'vote' || !m.yes || m.txn < targeted.txn) return false;
  sim.scheduler.at(sim.nowMs, () =>
    sim.inject({ kind: 'crash', node: from, restartAfterMs: targeted.restartAfterMs }),
  );
  return true;
}

const WORKLOAD_MS = 1_000;
const HORIZON_MS = 1_600;

/** Crashes of the coordinator and the participants at seeded times, each with a restart. */
function randomCrashes(sim: Simulation): ScheduledFault[] {
  const random = sim.random.fork('3pc-crashes');
  const nodes = [COORDINATOR, ...PARTICIPANTS];
  const out: ScheduledFault[] = [];
  for (let i = 0, n = 1 + random.int(4); i < n; i++)
    out.push({
      atMs: 50 + random.int(WORKLOAD_MS - 100),
      fault: { kind: 'crash', node: random.pick(nodes), restartAfterMs: 20 + random.int(200) },
    });
  return out.sort((a, b) => a.atMs - b.atMs);
}

/** Partitions of the four nodes into two random non-empty sides at seeded times. */
function randomPartitions(sim: Simulation): ScheduledFault[] {
  const random = sim.random.fork('3pc-partitions');
  const out: ScheduledFault[] = [];
  for (let i = 0, n = 1 + random.int(4); i < n; i++) {
    const nodes = random.shuffle([COORDINATOR, ...PARTICIPANTS]);
    const cut = 1 + random.int(nodes.length - 1);
    out.push({
      atMs: 50 + random.int(WORKLOAD_MS - 100),
      fault: {
        kind: 'partition',
        groups: [nodes.slice(0, cut), nodes.slice(cut)],
        durationMs: 20 + random.int(200),
      },
    });
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}

/** Half the seeds also aim a crash at the coordinator's voting window or at a participant that just voted. */
function targetedCrash(sim: Simulation): TargetedFault | undefined {
  const random = sim.random.fork('3pc-targeted');
  if (random.next() < 0.5) return undefined;
  const txn = 2 + random.int(10);
  const restartAfterMs = 50 + random.int(200);
  return random.next() < 0.5
    ? { kind: 'crash-coordinator-voting', txn, restartAfterMs }
    : { kind: 'crash-participant-voted', txn, node: random.pick(PARTICIPANTS), restartAfterMs };
}

/** The variants of `faultline sim 3pc`. */
export const threePhaseVariants = [
  'correct',
  'partition',
  'amnesiac-participant',
  'uncertain-commits',
] as const;

/** Three-phase commit: `violations` counts seeds with a transaction decided both ways. */
export const threePhaseProtocol: ProtocolSim = {
  name: '3pc',
  summary:
    'three-phase commit (timeouts: pre-committed commits, uncertain aborts) under crashes; `partition` shows the inconsistent decisions a partition causes',
  variants: threePhaseVariants,
  async run({ seed, variant }) {
    const sim = new Simulation({
      seed,
      trace: false,
      network: { latency: { kind: 'uniform', minMs: 1, maxMs: 5 } },
    });
    const partition = variant === 'partition';
    const targeted = partition ? undefined : targetedCrash(sim);
    const faults = partition ? randomPartitions(sim) : randomCrashes(sim);
    const outcome = await runThreePhase({
      sim,
      termination: 'timeout',
      ...(variant === 'amnesiac-participant' ? { broken: { recovery: 'timeout' } } : {}),
      ...(variant === 'uncertain-commits' ? { broken: { uncertainTimeoutDecides: 'commit' } } : {}),
      workloadMs: WORKLOAD_MS,
      horizonMs: HORIZON_MS,
      faults,
      ...(targeted === undefined ? {} : { targeted }),
    });
    const b = outcome.breach;
    return {
      violations: outcome.inconsistent,
      ...(b === undefined
        ? {}
        : {
            firstViolation: {
              timeMs: b.timeMs,
              summary: `transaction ${b.txn} committed at ${b.committedAt.join(', ')} and aborted at ${b.abortedAt.join(', ')}`,
            },
          }),
      figures: {
        transactions: outcome.transactions,
        committed: outcome.committed,
        inconsistentTxns: outcome.inconsistent,
        // Averaged over the seeds by `faultline sim`: the share of seeds with an inconsistent decision.
        inconsistentSeedsPercent: outcome.inconsistent > 0 ? 100 : 0,
        blockedMaxMs: outcome.blockedMaxMs,
        undecidedLeft: outcome.undecidedLeft,
        faults: faults.length + (targeted === undefined ? 0 : 1),
      },
    };
  },
};

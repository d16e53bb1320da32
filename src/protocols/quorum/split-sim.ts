/**
 * Split brain in the simulator: a cluster elects a primary that writes to a storage node, the
 * network partitions with the primary on the minority side, and a checker outside the protocol
 * counts writes the storage accepted from a primary while another member already acted as
 * primary in a newer term.
 *
 * @module
 */
import type { Node } from '../../sim/node.js';
import { Simulation } from '../../sim/simulation.js';
import type { ProtocolSim } from '../contract.js';
import { driveOnNode } from '../drive.js';
import { QuorumMember } from './primary.js';
import type { QuorumDurable, QuorumMemberOptions, QuorumMessage } from './primary.js';

/** The designs {@link runSplitBrain} runs. */
export type SplitDesign =
  /** Five members, a lease renewed with a majority, fenced storage (correct). */
  | 'lease'
  /** Five members, the quorum checked when the failure detector reports a peer down. */
  | 'on-event'
  /** Five members, no quorum check. */
  | 'never'
  /** Two members: the survivor takes over (split brain). */
  | 'two-node'
  /** Two members and a witness that votes but never leads (correct). */
  | 'witness'
  /** Two members: the survivor powers the peer off through a fencing device first (correct). */
  | 'stonith';

/** Options of {@link runSplitBrain}. */
export interface SplitRunOptions {
  readonly sim: Simulation;
  readonly design: SplitDesign;
  /**
   * Whether the storage refuses a term lower than the newest it accepted (default: true for the
   * five-member designs, false for the two-member ones, whose shared disk has no tokens).
   */
  readonly fencedStorage?: boolean;
  readonly note?: (node: string, text: string) => number;
}

/** What a run found. */
export interface SplitRunOutcome {
  /** Writes accepted from a member while another acted as primary in a newer term. */
  readonly staleWrites: number;
  readonly first?: {
    readonly timeMs: number;
    readonly summary: string;
    readonly traceIndex?: number;
  };
  /** Most members acting as primary at one instant. */
  readonly primariesAtOnce: number;
  readonly writesAccepted: number;
  readonly writesRejected: number;
  /** Members the fencing device powered off. */
  readonly fenced: number;
}

interface Write {
  readonly kind: 'write';
  readonly term: number;
  readonly seq: number;
}

const PARTITION_AT_MS = 600;
const PARTITION_MS = 1_200;
const HORIZON_MS = 2_400;

function membersOf(design: SplitDesign): { members: string[]; leaders: string[] } {
  if (design === 'witness') return { members: ['a', 'b', 'w'], leaders: ['a', 'b'] };
  if (design === 'two-node' || design === 'stonith')
    return { members: ['a', 'b'], leaders: ['a', 'b'] };
  const five = ['n1', 'n2', 'n3', 'n4', 'n5'];
  return { members: five, leaders: five };
}

function memberOptions(design: SplitDesign): Partial<QuorumMemberOptions> {
  switch (design) {
    case 'lease':
    case 'witness':
      return { check: 'lease', takeOver: 'majority' };
    case 'on-event':
      return { check: 'on-event', takeOver: 'majority' };
    case 'never':
      return { check: 'never', takeOver: 'majority' };
    case 'two-node':
      return { check: 'never', takeOver: 'survivor' };
    case 'stonith':
      return { check: 'never', takeOver: 'stonith', fencer: 'fencer' };
  }
}

/** Runs one seeded execution of `design` and checks it. */
export async function runSplitBrain(options: SplitRunOptions): Promise<SplitRunOutcome> {
  const { sim, design, note } = options;
  const fencedStorage =
    options.fencedStorage ?? (design === 'lease' || design === 'on-event' || design === 'never');
  const { members, leaders } = membersOf(design);
  sim.network.configure({ latency: { kind: 'uniform', minMs: 1, maxMs: 5 } });
  const acting = new Map<string, number>(); // member → term it acts as primary in
  let primariesAtOnce = 0;
  let stale = 0;
  let first: SplitRunOutcome['first'];
  let accepted = 0;
  let rejected = 0;
  let newestTerm = 0;
  const poweredOff = new Set<string>();

  sim.node('storage').start(
    (node) =>
      void node.onMessage((envelope) => {
        const write = envelope.payload as Write;
        if (fencedStorage && write.term < newestTerm) {
          rejected++;
          return;
        }
        newestTerm = Math.max(newestTerm, write.term);
        accepted++;
        const newer = [...acting].find(([m, term]) => m !== envelope.from && term > write.term);
        if (newer === undefined) return;
        stale++;
        if (first !== undefined) return;
        const summary = `storage accepted ${envelope.from}'s write of term ${write.term} while ${newer[0]} acted as primary in term ${newer[1]}`;
        const traceIndex = note?.('storage', summary);
        first = { timeMs: sim.nowMs, summary, ...(traceIndex === undefined ? {} : { traceIndex }) };
      }),
  );
  if (design === 'stonith') startFencer(sim, poweredOff, acting, note);

  const random = sim.random.fork('split-brain');
  for (const id of members) {
    driveOnNode<QuorumMessage, QuorumDurable, QuorumMember>(sim.node(id), {
      create: (saved, r) =>
        new QuorumMember(
          {
            id,
            members,
            canLead: leaders.includes(id),
            random: r,
            ...memberOptions(design),
          },
          saved,
        ),
      after: (machine) => {
        const was = acting.get(id);
        const now = machine.isPrimary ? machine.term : undefined;
        if (was === now) return;
        if (now === undefined) acting.delete(id);
        else acting.set(id, now);
        note?.(
          id,
          now === undefined
            ? `stops acting as primary (term ${was})`
            : `acts as primary in term ${now}`,
        );
        primariesAtOnce = Math.max(primariesAtOnce, acting.size);
      },
      started: (machine, node) => void writeLoop(machine, node, random.int(20)),
    });
  }
  // The partition: the current primary and one other member (or, with two members, each
  // member alone) against the rest; the witness and the storage stay reachable from both sides.
  sim.scheduler.at(PARTITION_AT_MS, () => {
    const primary = [...acting.keys()][0] ?? leaders[0] ?? 'a';
    const rest = members.filter((m) => m !== primary && m !== 'w');
    const minority = members.length === 5 ? [primary, rest[0] as string] : [primary];
    const majoritySide = rest.filter((m) => !minority.includes(m));
    sim.inject({ kind: 'partition', groups: [minority, majoritySide], durationMs: PARTITION_MS });
  });
  sim.runSync({ untilMs: HORIZON_MS });
  return {
    staleWrites: stale,
    ...(first === undefined ? {} : { first }),
    primariesAtOnce,
    writesAccepted: accepted,
    writesRejected: rejected,
    fenced: poweredOff.size,
  };
}

/** The primary's application: a write every 20–40 ms while it acts as primary, tagged with its term. */
function writeLoop(machine: QuorumMember, node: Node, offsetMs: number): void {
  let seq = 0;
  const loop = (): void => {
    if (machine.isPrimary) node.send('storage', { kind: 'write', term: machine.term, seq: ++seq });
    node.runtime.timers.setTimer(20 + node.runtime.random.int(20), loop);
  };
  node.runtime.timers.setTimer(offsetMs + 1, loop);
}

/** The fencing device: powers off the target (a crash that stays down) and confirms; a powered-off requester is ignored. */
function startFencer(
  sim: Simulation,
  poweredOff: Set<string>,
  acting: Map<string, number>,
  note: SplitRunOptions['note'],
): void {
  sim.node('fencer').start(
    (node) =>
      void node.onMessage((envelope) => {
        const m = envelope.payload as QuorumMessage;
        if (m.kind !== 'fence' || poweredOff.has(envelope.from)) return;
        if (!poweredOff.has(m.target)) {
          poweredOff.add(m.target);
          sim.crash(m.target);
          acting.delete(m.target);
          note?.('fencer', `powers off ${m.target} for ${envelope.from}`);
        }
        node.send(envelope.from, { kind: 'fenced', target: m.target, term: m.term });
      }),
  );
}

/** The variants of `faultline sim quorum`: every correct design, then the broken ones. */
export const quorumVariants = [
  'correct',
  'no-quorum-check',
  'event-quorum-check',
  'two-node',
] as const;

/** `faultline sim quorum`. */
export const quorumProtocol: ProtocolSim = {
  name: 'quorum',
  summary:
    'split brain under a partition: lease + quorum + fencing, a witness, STONITH (correct) vs no check, an event-driven check, two nodes alone',
  variants: quorumVariants,
  async run({ seed, variant }) {
    const designs: readonly SplitDesign[] =
      variant === 'correct'
        ? ['lease', 'witness', 'stonith']
        : variant === 'no-quorum-check'
          ? ['never']
          : variant === 'event-quorum-check'
            ? ['on-event']
            : ['two-node'];
    let violations = 0;
    let firstViolation: { timeMs: number; summary: string } | undefined;
    const figures = { staleWrites: 0, primariesAtOnce: 0, writesAccepted: 0, writesRejected: 0 };
    for (const design of designs) {
      const sim = new Simulation({ seed, trace: false });
      const outcome = await runSplitBrain({ sim, design });
      if (outcome.staleWrites > 0) {
        violations++;
        firstViolation ??= {
          timeMs: outcome.first?.timeMs ?? 0,
          summary: `${design}: ${outcome.first?.summary ?? ''}`,
        };
      }
      figures.staleWrites += outcome.staleWrites;
      figures.primariesAtOnce = Math.max(figures.primariesAtOnce, outcome.primariesAtOnce);
      figures.writesAccepted += outcome.writesAccepted;
      figures.writesRejected += outcome.writesRejected;
    }
    return { violations, ...(firstViolation === undefined ? {} : { firstViolation }), figures };
  },
};

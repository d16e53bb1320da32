/**
 * Figure 8 of the Raft paper: a leader that commits an entry of an earlier term because a majority
 * stores it can see that entry overwritten by a later leader. Raft counts replicas only for
 * entries of the leader's own term (§5.4.2).
 *
 * @module
 */
import { RaftHarness } from '../../protocols/raft/harness.js';
import { RaftSafetyChecker } from '../../protocols/raft/invariants.js';
import type { RaftViolation } from '../../protocols/raft/invariants.js';
import type { Evidence, LabContext, Scenario, VariantOutcome } from '../types.js';

const IDS = ['s1', 's2', 's3', 's4', 's5'] as const;

type Step = readonly [title: string, act: (h: RaftHarness) => void];

/** Delivers `rounds` rounds of queued messages. */
const rounds =
  (n: number) =>
  (h: RaftHarness): void => {
    for (let i = 0; i < n; i++) h.deliver();
  };

/** The schedule of testdata/figure8.txt, step by step (the golden trace checks it too). */
const schedule: readonly Step[] = [
  ['term 1: s1 leads, index 1 is everywhere', (h) => (h.campaign('s1'), h.stabilize())],
  [
    '(a) s1 restarts and leads term 2; index 2 (term 2) stays on s1',
    (h) => {
      h.crash('s1');
      h.restart('s1');
      h.campaign('s1');
      rounds(2)(h);
      h.dropAll();
    },
  ],
  [
    '(b) s5 leads term 3; its index 2 (term 3) stays on s5; s5 crashes',
    (h) => {
      h.crash('s1');
      h.campaign('s5');
      rounds(2)(h);
      h.dropAll();
      h.crash('s5');
    },
  ],
  [
    '(c) s1 leads term 4 with s2, s3 and copies index 2 (term 2) to them: a majority holds it',
    (h) => {
      h.restart('s1');
      h.cut('s1', 's4');
      h.campaign('s1');
      h.stabilize();
      h.campaign('s1');
      rounds(6)(h);
      h.dropAll();
    },
  ],
  [
    '(d) s1 crashes; s5 (last term 3) is elected in term 5 and overwrites index 2',
    (h) => {
      h.crash('s1');
      h.restart('s5');
      h.campaign('s5');
      h.stabilize();
      h.campaign('s5');
      h.stabilize();
    },
  ],
];

async function run(context: LabContext, commitByCounting: boolean): Promise<VariantOutcome> {
  const sim = context.simulation();
  for (const id of IDS) sim.node(id);
  let first: Evidence | undefined;
  const checker = new RaftSafetyChecker(
    () => sim.nowMs,
    (v: RaftViolation) => {
      if (first !== undefined) return;
      const traceIndex = context.note(v.node, `${v.property} violated: ${v.summary}`);
      first = {
        timeMs: v.timeMs,
        summary: `${v.property}: ${v.summary}`,
        node: v.node,
        traceIndex,
        operations: [v.summary],
      };
    },
  );
  const h = new RaftHarness({
    ids: IDS,
    seed: context.seed,
    options: {
      preVote: false,
      checkQuorum: false,
      maxEntriesPerMessage: 1,
      unsafe: { commitByCounting },
    },
  });
  const seenApplied = new Map<string, number>();
  const leaders = new Set<string>();
  for (const [title, act] of schedule) {
    context.note('s1', title);
    const before = h.lines.length;
    act(h);
    for (const line of h.lines.slice(before)) {
      sim.runSync({ forMs: 0.1 });
      context.note(
        line.startsWith('dropped')
          ? (line.split(' ')[1]?.split('->')[0] ?? 's1')
          : (line.split('->')[0] ?? 's1'),
        line,
      );
    }
    for (const id of IDS) {
      const node = h.node(id);
      if (node.role === 'leader' && !leaders.has(`${id}@${node.term}`)) {
        leaders.add(`${id}@${node.term}`);
        checker.leader(id, node.term, node);
      }
      const applied = h.applied(id);
      for (const e of applied.slice(seenApplied.get(id) ?? 0)) checker.applied(id, e);
      seenApplied.set(id, applied.length);
    }
    sim.runSync({ forMs: 1 });
  }
  return {
    violated: first !== undefined,
    ...(first === undefined ? {} : { evidence: first }),
    figures: {
      violations: checker.count,
      divergentApplies: checker.violations.filter((v) => v.property === 'state-machine-safety')
        .length,
    },
  };
}

/** The raft-figure-8 scenario. */
export const raftFigure8: Scenario = {
  name: 'raft-figure-8',
  title: 'Raft: Figure 8 (committing entries of older terms)',
  problem:
    'A new leader finds an entry of an earlier term on a majority and counts it as committed. A ' +
    'later leader whose log ends in a newer term can still be elected without it and overwrite it: ' +
    'an entry applied as committed is lost.',
  reference:
    'Ongaro & Ousterhout, “In Search of an Understandable Consensus Algorithm” (2014), §5.4.2 and ' +
    'Figure 8',
  property:
    'State-machine safety and leader completeness (RaftSafetyChecker): no two members apply ' +
    'different entries at the same index.',
  standIn:
    'The paper’s schedule is replayed step by step by RaftHarness (messages delivered, dropped ' +
    'and members crashed in the figure’s order) on the same RaftNode code; the simulator records ' +
    'the trace. The seed only draws election jitter, which the schedule does not use.',
  api: [
    "import { RaftNode } from 'faultline/raft';",
    '// commit rule: the quorum index counts only if log.term(index) === currentTerm',
  ].join('\n'),
  figures: [
    { name: 'violations', label: 'safety violations', unit: '', better: 'lower', key: true },
    {
      name: 'divergentApplies',
      label: 'entries applied unlike another member',
      unit: 'entries',
      better: 'lower',
      key: true,
    },
  ],
  variants: {
    unsafe: {
      summary: 'The leader commits the highest index a majority stores, whatever its term.',
      run: (context) => run(context, true),
    },
    safe: {
      summary: 'Raft: a majority commits an entry only if it is of the leader’s current term.',
      run: (context) => run(context, false),
    },
  },
};

/**
 * Split votes: members with the same election timeout campaign at the same moment, each votes
 * for itself, nobody wins, and they all time out together again — forever. Randomized timeouts
 * break the tie.
 *
 * @module
 */
import { runRaftLab } from '../raft/outcome.js';
import type { LabContext, Scenario, VariantOutcome } from '../types.js';

const DURATION_MS = 800;

async function run(context: LabContext, randomized: boolean): Promise<VariantOutcome> {
  // A symmetric network (every message takes the same time) and no faults: only the timeouts differ.
  const { run, evidence } = await runRaftLab(
    context,
    {
      nodes: 5,
      clients: 2,
      durationMs: DURATION_MS,
      faults: 'none',
      randomizedTimeouts: randomized,
      raft: { preVote: false },
    },
    { latency: { kind: 'fixed', ms: 5 } },
  );
  let violation = evidence;
  if (violation === undefined && run.elections === 0) {
    const summary = `no leader after ${DURATION_MS + 1000} ms: ${run.maxTerm} elections, every one a split vote`;
    violation = {
      timeMs: run.simulation.nowMs,
      summary,
      node: 'n1',
      traceIndex: context.note('n1', summary),
      operations: [`highest term ${run.maxTerm}, leaders elected 0`],
    };
  }
  return {
    violated: violation !== undefined,
    ...(violation === undefined ? {} : { evidence: violation }),
    figures: {
      elections: run.elections,
      termsReached: run.maxTerm,
      acknowledgedWrites: run.acknowledgedWrites,
    },
  };
}

/** The raft-split-vote scenario. */
export const raftSplitVote: Scenario = {
  name: 'raft-split-vote',
  title: 'Raft: split votes and randomized timeouts',
  problem:
    'When every member waits the same time before campaigning, they all become candidates at ' +
    'once, each votes for itself and none gets a majority; they time out together and repeat, so ' +
    'no leader is ever elected (a livelock).',
  reference:
    'Ongaro & Ousterhout, “In Search of an Understandable Consensus Algorithm” (2014), §5.2 and ' +
    '§9.3 (randomized timeouts)',
  property:
    'Liveness: a leader is elected within the run (checked from outside: some member leads), and ' +
    'Raft’s safety invariants after every step.',
  api: [
    'const node = new RaftNode({ id, voters, electionTicks: 10, random: runtime.random });',
    '// each election timeout is drawn from [10, 20) ticks',
  ].join('\n'),
  figures: [
    { name: 'elections', label: 'leaders elected', unit: '', better: 'higher', key: true },
    { name: 'termsReached', label: 'terms reached', unit: '', better: 'lower', key: true },
    { name: 'acknowledgedWrites', label: 'writes acknowledged', unit: 'writes', better: 'higher' },
  ],
  variants: {
    unsafe: {
      summary: 'Every member times out after exactly electionTicks ticks.',
      run: (context) => run(context, false),
    },
    safe: {
      summary: 'Each timeout is drawn at random from [electionTicks, 2 × electionTicks).',
      run: (context) => run(context, true),
    },
  },
};

/**
 * TrueTime commit wait: transactions commit on different nodes whose clocks are off by up to a
 * known bound. Without commit wait, a transaction that starts after another committed can get a
 * smaller commit timestamp; waiting out the uncertainty restores external consistency.
 *
 * @module
 */
import { IntervalClock } from '../../clocks/interval.js';
import type { Envelope, Node } from '../../sim/node.js';
import type { Simulation } from '../../sim/simulation.js';
import type { Evidence, LabContext, Scenario, VariantOutcome } from '../types.js';

const SERVERS = ['s1', 's2', 's3'] as const;
const CLIENTS = ['c1', 'c2', 'c3'] as const;
/** Transactions each client runs back to back. */
const TRANSACTIONS_PER_CLIENT = 12;
const END_MS = 2_000;
const EPOCH_MS = 1_700_000_000_000;

interface CommitRequest {
  readonly txn: string;
}

interface CommitReply {
  readonly txn: string;
  readonly tsMs: number;
}

/** One committed transaction as the checker saw it, in true (virtual) time. */
interface Committed {
  readonly txn: string;
  readonly server: string;
  readonly tsMs: number;
  /** True time the server started the transaction (the request arrived). */
  readonly startMs: number;
  /** True time the commit completed and was acknowledged. */
  readonly commitMs: number;
  readonly waitedMs: number;
  readonly noteIndex: number;
}

const tsText = (ms: number): string => `${(ms - EPOCH_MS).toFixed(2)} ms`;

/**
 * A transaction server (a toy stand-in: it only assigns commit timestamps). Both variants take
 * Spanner's timestamp `s = TT.now().latest`; only the safe one waits until `TT.after(s)`.
 */
function startServer(
  sim: Simulation,
  context: LabContext,
  node: Node,
  commitWait: boolean,
  committed: Committed[],
): void {
  const epsilonMs = context.knobs['epsilonMs'] ?? 10;
  const tt = new IntervalClock({ epsilonMs, runtime: node.runtime });
  const commit = async (m: Envelope<CommitRequest>): Promise<void> => {
    const startMs = sim.nowMs;
    const tsMs = tt.now().latestMs;
    if (commitWait) await tt.commitWait(tsMs);
    const waitedMs = sim.nowMs - startMs;
    const noteIndex = context.note(
      node.name,
      `${m.payload.txn} commits at ts ${tsText(tsMs)}${commitWait ? ` after a ${waitedMs.toFixed(1)} ms commit wait` : ''}`,
    );
    committed.push({
      txn: m.payload.txn,
      server: node.name,
      tsMs,
      startMs,
      commitMs: sim.nowMs,
      waitedMs,
      noteIndex,
    });
    node.send(m.from, { txn: m.payload.txn, tsMs } satisfies CommitReply);
  };
  node.onMessage((m: Envelope<CommitRequest>) => {
    commit(m).catch((error: unknown) => sim.fail(error));
  });
}

/** A client runs transactions one after the other, each on a random server. */
async function client(node: Node): Promise<void> {
  let resolveReply: (() => void) | undefined;
  node.onMessage(() => resolveReply?.());
  for (let i = 1; i <= TRANSACTIONS_PER_CLIENT; i++) {
    const server = SERVERS[node.runtime.random.int(SERVERS.length)] as string;
    const replied = new Promise<void>((resolve) => (resolveReply = resolve));
    node.send(server, { txn: `${node.name}.t${i}` } satisfies CommitRequest);
    await replied;
    // Think time: sometimes none at all, so the next transaction starts right after the commit.
    const think = node.runtime.random.int(4);
    if (think > 0) await node.runtime.timers.sleep(think);
  }
}

/** The checker: for every pair where T1 committed before T2 started (true time), ts(T1) < ts(T2). */
function violations(committed: readonly Committed[]): [Committed, Committed][] {
  const out: [Committed, Committed][] = [];
  for (const t2 of committed)
    for (const t1 of committed)
      if (t1.commitMs < t2.startMs && !(t1.tsMs < t2.tsMs)) out.push([t1, t2]);
  return out.sort((x, y) => x[1].startMs - y[1].startMs || x[0].commitMs - y[0].commitMs);
}

function evidenceOf([t1, t2]: [Committed, Committed]): Evidence {
  const describe = (t: Committed): string =>
    `${t.txn} on ${t.server}: started ${t.startMs.toFixed(1)} ms, committed ${t.commitMs.toFixed(1)} ms, ts ${tsText(t.tsMs)}`;
  return {
    timeMs: t2.commitMs,
    summary: `${t2.txn} started on ${t2.server} after ${t1.txn} had committed on ${t1.server}, yet got the smaller commit timestamp (${tsText(t2.tsMs)} ≤ ${tsText(t1.tsMs)}).`,
    node: t2.server,
    traceIndex: t2.noteIndex,
    operations: [describe(t1), describe(t2)],
  };
}

async function run(context: LabContext, commitWait: boolean): Promise<VariantOutcome> {
  const clockErrorMs = context.knobs['clockErrorMs'] ?? 9;
  const sim = context.simulation({ network: { latency: { kind: 'uniform', minMs: 1, maxMs: 4 } } });
  const offsets = sim.random.fork('clock-offsets');
  const committed: Committed[] = [];
  for (const name of SERVERS) {
    // Each server's clock is off by at most clockErrorMs (the true bound that ε must cover).
    const node = sim.node(name, { offsetMs: (offsets.next() * 2 - 1) * clockErrorMs });
    startServer(sim, context, node, commitWait, committed);
  }
  const errors: unknown[] = [];
  for (const name of CLIENTS) client(sim.node(name)).catch((error: unknown) => errors.push(error));
  await sim.run({ untilMs: END_MS });
  if (errors.length > 0) throw errors[0];
  const found = violations(committed);
  const waited = committed.reduce((sum, t) => sum + t.waitedMs, 0);
  const first = found[0];
  return {
    violated: first !== undefined,
    ...(first === undefined ? {} : { evidence: evidenceOf(first) }),
    figures: {
      orderViolations: found.length,
      commitWaitMs: committed.length === 0 ? 0 : waited / committed.length,
      transactions: committed.length,
    },
  };
}

/** The TrueTime commit-wait scenario. */
export const commitWait: Scenario = {
  name: 'commit-wait',
  title: 'TrueTime commit wait',
  problem:
    'Transactions that take their commit timestamp from the local clock of the node they commit on ' +
    'inherit its error: a transaction that starts after another has committed, on a node whose ' +
    'clock is behind, gets the smaller timestamp. Snapshot reads at a timestamp then see the later ' +
    'transaction without the earlier one.',
  reference:
    'Corbett et al., Spanner: Google’s Globally-Distributed Database (OSDI 2012), §4.1.2 (commit wait)',
  property:
    'External consistency: whenever T1 committed before T2 started (in true, virtual time), ' +
    'ts(T1) < ts(T2); the checker compares every pair of committed transactions.',
  standIn:
    'The transactions are a toy: a server only assigns a commit timestamp and acknowledges. The ' +
    'interval clock and its commit wait are faultline’s IntervalClock on each node’s simulated clock.',
  api: [
    "import { IntervalClock } from 'faultline';",
    'const tt = new IntervalClock({ epsilonMs: 10, runtime });',
    'const commitTs = tt.now().latestMs;',
    'await tt.commitWait(commitTs);   // until tt.now().earliestMs > commitTs',
    'acknowledge(commitTs);',
  ].join('\n'),
  figures: [
    {
      name: 'orderViolations',
      label: 'externally inconsistent pairs',
      unit: 'pairs',
      better: 'lower',
      key: true,
    },
    { name: 'commitWaitMs', label: 'commit wait (mean)', unit: 'ms', better: 'lower', key: true },
    { name: 'transactions', label: 'transactions committed', unit: '', better: 'none' },
  ],
  knobs: [
    {
      name: 'clockErrorMs',
      label: 'true clock error, up to ±',
      min: 0,
      max: 50,
      step: 1,
      default: 9,
      unit: 'ms',
    },
    {
      name: 'epsilonMs',
      label: 'assumed uncertainty ε',
      min: 0,
      max: 50,
      step: 1,
      default: 10,
      unit: 'ms',
    },
  ],
  variants: {
    unsafe: {
      summary:
        'A server takes the commit timestamp TT.now().latest on its own clock and acknowledges at once.',
      run: (context) => run(context, false),
    },
    safe: {
      summary:
        'A server takes the same timestamp, then waits (IntervalClock.commitWait) until it has certainly passed on every clock before acknowledging.',
      run: (context) => run(context, true),
    },
  },
};

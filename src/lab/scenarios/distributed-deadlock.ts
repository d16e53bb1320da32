/**
 * Distributed deadlock: six workers on three sites each lock two resources (on any site) in
 * random order. Without detection a cycle of waits across sites lasts forever — no single site
 * sees it. A detector that assembles a global wait-for graph from per-site snapshots taken one
 * after the other reports phantom deadlocks (and aborts their victims for nothing); Chandy–Misra–
 * Haas edge chasing reports every real cycle and never a phantom.
 *
 * @module
 */
import { runDeadlockWorkload } from '../../deadlock/sim.js';
import type { DeadlockDesign } from '../../deadlock/sim.js';
import type { Evidence, LabContext, Scenario, VariantOutcome } from '../types.js';

const HORIZON_MS = 8000;
const ITERATIONS = 12;

async function run(context: LabContext, design: DeadlockDesign): Promise<VariantOutcome> {
  const sim = context.simulation({
    network: { latency: { kind: 'uniform', minMs: 1, maxMs: 10 } },
  });
  let evidence: Evidence | undefined;
  const r = runDeadlockWorkload({
    sim,
    design,
    horizonMs: HORIZON_MS,
    iterations: ITERATIONS,
    onReport: (site, cycle, real) => {
      const text = [...cycle, cycle[0]].join(' → ');
      const index = context.note(
        site,
        `${real ? 'deadlock' : 'PHANTOM deadlock'} ${text}: aborts a victim`,
      );
      if (real || evidence !== undefined) return;
      evidence = {
        timeMs: sim.nowMs,
        node: site,
        traceIndex: index,
        summary: `Reported the deadlock ${text}, but its wait-for edges never existed at the same instant: the site snapshots were taken at different times.`,
        operations: cycle.map(
          (t, i) => `${t} waits for ${cycle[(i + 1) % cycle.length] as string}`,
        ),
      };
    },
  });
  const c = r.checker;
  if (evidence === undefined && (c.missed > 0 || r.unfinishedWorkers > 0)) {
    const index = context.note('site-a', `${r.unfinishedWorkers} workers still blocked`);
    evidence = {
      timeMs: c.firstProblem?.timeMs ?? sim.nowMs,
      node: 'site-a',
      traceIndex: index,
      summary: `${c.firstProblem?.summary ?? 'a deadlock was never broken'}; ${r.unfinishedWorkers} of 6 workers wait forever.`,
      operations: [
        `${c.missed} deadlocks never reported`,
        `${r.unfinishedWorkers} workers unfinished at ${HORIZON_MS} ms`,
      ],
    };
    // The note is at the end of the run; the evidence points at it.
    evidence = { ...evidence, timeMs: sim.nowMs };
  }
  const mean =
    c.detectionMs.length === 0
      ? 0
      : c.detectionMs.reduce((a, b) => a + b, 0) / c.detectionMs.length;
  return {
    violated: evidence !== undefined,
    ...(evidence === undefined ? {} : { evidence }),
    figures: {
      phantomDeadlocks: c.phantoms,
      missedDeadlocks: c.missed,
      unfinishedWorkers: r.unfinishedWorkers,
      realDeadlocksReported: c.detected,
      detectionMs: mean,
      detectorMessages: r.detectorMessages,
      aborts: r.aborts,
    },
  };
}

/** The distributed-deadlock scenario. */
export const distributedDeadlock: Scenario = {
  name: 'distributed-deadlock',
  title: 'Distributed deadlock: waits across sites, snapshots vs edge chasing',
  problem:
    'Transactions that lock resources on several sites can wait for each other in a cycle that no ' +
    'single site sees, and then wait forever. Gluing per-site wait-for graphs taken at different ' +
    'instants finds cycles that never existed; probes that chase the edges find only real ones.',
  reference:
    'Chandy, Misra, Haas, “Distributed Deadlock Detection” (ACM TOCS 1983); Knapp, “Deadlock ' +
    'Detection in Distributed Databases” (ACM Computing Surveys 1987)',
  property:
    'Every reported deadlock existed at one instant in the global wait-for graph, no deadlock lasts 1 s unreported, and every worker finishes (checked on the global graph the simulation sees).',
  standIn:
    'The workers and the textbook snapshot coordinator are lab code; the sites (lock tables and edge chasing) are faultline’s DeadlockSite.',
  api: [
    "import { DeadlockSite, isDeadlockError, LockManager } from 'faultline/deadlock';",
    'const site = new DeadlockSite({ name, siteOf, priority }); // one per site',
    '// every 10 ms: site.tick(now); per message: site.step(m); send site.ready().messages',
    "// one process: new LockManager().acquireOrdered('t1', ['a', 'b'])",
  ].join('\n'),
  figures: [
    {
      name: 'phantomDeadlocks',
      label: 'phantom deadlocks reported',
      unit: 'cycles',
      better: 'lower',
      key: true,
    },
    {
      name: 'unfinishedWorkers',
      label: 'workers waiting forever',
      unit: 'workers',
      better: 'lower',
      key: true,
    },
    { name: 'missedDeadlocks', label: 'deadlocks never reported', unit: 'cycles', better: 'lower' },
    {
      name: 'realDeadlocksReported',
      label: 'real deadlocks reported',
      unit: 'cycles',
      better: 'none',
    },
    { name: 'detectionMs', label: 'mean time from cycle to report', unit: 'ms', better: 'lower' },
    { name: 'detectorMessages', label: 'detector messages', unit: 'messages', better: 'lower' },
    { name: 'aborts', label: 'victims aborted', unit: 'aborts', better: 'lower' },
  ],
  variants: {
    unsafe: {
      summary: 'No detection: each site only knows its own lock queues.',
      run: (context) => run(context, 'none'),
    },
    textbook: {
      summary:
        'A coordinator asks each site in turn for its wait-for edges every 50 ms, joins them into one graph and aborts the youngest transaction of each cycle.',
      why: 'The sites answer at different instants: an edge from one snapshot may be gone before another snapshot’s edge appears, so the joined graph has cycles that never existed, and their victims are aborted for nothing.',
      run: (context) => run(context, 'snapshot'),
    },
    safe: {
      summary:
        'Chandy–Misra–Haas edge chasing: probes follow the wait-for edges of blocked transactions, each edge re-checked, and only the youngest member of a cycle reports it and aborts.',
      run: (context) => run(context, 'edge-chasing'),
    },
  },
};

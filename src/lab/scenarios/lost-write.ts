/**
 * Lost write: a server that acknowledges a write before it is durable loses it in a crash.
 *
 * @module
 */
import { register } from '../../check/models.js';
import type { ScheduledFault } from '../../sim/faults.js';
import type { Simulation } from '../../sim/simulation.js';
import { historyVerdict } from '../checks.js';
import { runKvWorkload } from '../kv/kv.js';
import type { KvServerKind } from '../kv/kv.js';
import type { LabContext, Scenario, VariantOutcome } from '../types.js';

const DURATION_MS = 1500;

/** Crashes of the server at seeded times; each restarts after a short outage. */
function crashes(sim: Simulation, count: number): ScheduledFault[] {
  const random = sim.random.fork('lab-crashes');
  const out: ScheduledFault[] = [];
  for (let i = 0; i < count; i++) {
    const atMs = 200 + random.int(DURATION_MS - 300);
    out.push({
      atMs,
      fault: { kind: 'crash', node: 'server', restartAfterMs: 20 + random.int(60) },
    });
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}

async function run(context: LabContext, server: KvServerKind): Promise<VariantOutcome> {
  const sim = context.simulation({
    network: { latency: { kind: 'uniform', minMs: 1, maxMs: 10 } },
  });
  const faults = crashes(sim, context.knobs['crashes'] ?? 3);
  const result = await runKvWorkload({
    seed: context.seed,
    simulation: sim,
    server,
    faults,
    durationMs: DURATION_MS,
    clients: 3,
  });
  const verdict = historyVerdict(sim.history, register());
  let acknowledged = 0;
  for (const e of result.history) if (e.type === 'ok' && e.f === 'write') acknowledged++;
  return {
    violated: verdict.violated,
    ...(verdict.evidence === undefined ? {} : { evidence: verdict.evidence }),
    figures: {
      operations: verdict.result.operations,
      acknowledgedWrites: acknowledged,
      crashes: faults.length,
    },
  };
}

/** The lost-write scenario. */
export const lostWrite: Scenario = {
  name: 'lost-write',
  title: 'Lost write',
  problem:
    'A server that acknowledges a write while it is still only in memory loses it when it crashes. ' +
    'Clients were told the write happened; after the restart they read an older value.',
  reference:
    'Kleppmann, Designing Data-Intensive Applications, ch. 5 and 7 (durability); Herlihy & Wing, ' +
    'Linearizability (TOPLAS 1990)',
  property:
    'The client history (reads, writes, timeouts as indeterminate) is linearizable for a register: ' +
    'faultline/check decides it.',
  standIn:
    'The key-value server is the lab’s small example service, not a faultline module; the disk ' +
    'with fsync and the crashes are the simulator’s.',
  api: [
    "import { Simulation } from 'faultline/sim';",
    "import { check, register } from 'faultline/check';",
    '// Write, then await node.disk.sync(), then acknowledge.',
    'const verdict = check(sim.history.ops, register());',
  ].join('\n'),
  figures: [
    { name: 'operations', label: 'operations', unit: 'ops', better: 'none' },
    {
      name: 'acknowledgedWrites',
      label: 'acknowledged writes',
      unit: 'writes',
      better: 'none',
      key: true,
    },
    { name: 'crashes', label: 'server crashes', unit: '', better: 'none' },
  ],
  knobs: [
    { name: 'crashes', label: 'server crashes', min: 0, max: 5, step: 1, default: 3, unit: '' },
  ],
  variants: {
    unsafe: {
      summary:
        'The server acknowledges a write once it is in memory and syncs it later in a group commit.',
      run: (context) => run(context, 'lossy'),
    },
    safe: {
      summary: 'The server acknowledges a write only after fsync made it durable.',
      run: (context) => run(context, 'correct'),
    },
  },
};

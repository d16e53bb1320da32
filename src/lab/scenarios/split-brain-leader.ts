/**
 * Split brain of a lease-based leader: the leader is paused past its term, a new leader is
 * elected, and the old one wakes up still acting as leader and writes.
 *
 * @module
 */
import { Election } from '../../coord/election.js';
import { MemoryLockBackend } from '../../coord/memory.js';
import type { Node } from '../../sim/node.js';
import { RemoteLockBackend, serveLocks } from '../coord/remote-lock.js';
import {
  ActingHolders,
  LeaseTruth,
  StaleWriteChecker,
  sendWrite,
  serveStorage,
} from '../coord/storage.js';
import type { StorageMode } from '../coord/storage.js';
import type { LabContext, Scenario, VariantOutcome } from '../types.js';

const HORIZON_MS = 1_500;
const CANDIDATES = ['n1', 'n2', 'n3'] as const;
/** Lease 300 ms, step down after 200 ms without a renewal, renew every 50 ms (client-go's rule). */
const TIMING = { leaseDurationMs: 300, renewDeadlineMs: 200, retryPeriodMs: 50 };

/**
 * A candidate: campaign; while it leads, check the leadership, prepare a batch (this is where the
 * pause lands) and write it to the storage tagged with the term; campaign again when demoted.
 */
async function candidate(context: LabContext, node: Node, leaders: ActingHolders): Promise<void> {
  const { runtime } = node;
  const election = new Election(new RemoteLockBackend(node, 'lock'), {
    key: 'leader',
    candidateId: node.name,
    runtime,
    callTimeoutMs: 40,
    ...TIMING,
  });
  election.onElected((l) => {
    leaders.began(node.name);
    context.note(node.name, `leads term ${l.term}`);
  });
  election.onDemoted((d) => {
    leaders.ended(node.name);
    context.note(node.name, `steps down from term ${d.term} (${d.reason})`);
  });
  let n = 0;
  for (;;) {
    try {
      const leadership = await election.campaign();
      while (leadership.valid) {
        await runtime.timers.sleep(20 + runtime.random.int(20));
        sendWrite(node, 'storage', leadership.term, `${node.name}.${++n}`);
      }
    } catch (error) {
      context.note(node.name, `campaign failed: ${String(error)}`);
      await runtime.timers.sleep(TIMING.retryPeriodMs);
    }
  }
}

async function run(context: LabContext, mode: StorageMode): Promise<VariantOutcome> {
  const sim = context.simulation({ network: { latency: { kind: 'uniform', minMs: 1, maxMs: 5 } } });
  const pauseKnobMs = context.knobs['pauseMs'] ?? 500;
  const nowMs = (): number => sim.nowMs;
  const truth = new LeaseTruth(context, nowMs, 'lock', 'term');
  const checker = new StaleWriteChecker(context, nowMs, truth, 'term');
  const leaders = new ActingHolders();
  const random = sim.random.fork('split-brain-leader');
  const pauseMs = Math.round(pauseKnobMs * (0.6 + 0.8 * random.next()));
  const pauseAtMs = 200 + random.int(100);

  sim
    .node('lock')
    .start((node) =>
      serveLocks(node, new MemoryLockBackend({ runtime: node.runtime }), truth.onApplied),
    );
  sim.node('storage').start((node) => serveStorage(node, mode, checker));
  for (const name of CANDIDATES)
    sim.node(name).start((node) => void candidate(context, node, leaders));
  // The fault: whoever leads at that moment stops for a GC pause.
  sim.scheduler.after(pauseAtMs, () => {
    const leader = leaders.any();
    if (leader !== undefined && pauseMs > 0)
      sim.inject({ kind: 'pause', node: leader, durationMs: pauseMs });
  });
  await sim.run({ untilMs: HORIZON_MS });

  return {
    violated: checker.evidence !== undefined,
    ...(checker.evidence === undefined ? {} : { evidence: checker.evidence }),
    figures: {
      staleWrites: checker.stale,
      leadersAtOnce: leaders.max,
      terms: truth.grants,
      writesRejected: checker.rejected,
    },
  };
}

/** The split-brain-leader scenario. */
export const splitBrainLeader: Scenario = {
  name: 'split-brain-leader',
  title: 'Split brain of a lease-based leader',
  problem:
    'A leader elected with a lease is paused past its term; the others elect a new leader, and the ' +
    'old one wakes up still believing it leads and writes before it notices. For a while two nodes ' +
    'act as leader, and without a term on each write the storage cannot tell them apart.',
  reference:
    'Kleppmann, Designing Data-Intensive Applications, ch. 8 (“The leader and the lock”, fencing ' +
    'tokens); Gray & Cheriton, “Leases” (SOSP 1989)',
  property:
    'No write from a deposed leader is accepted after a write of a newer leader: the storage never ' +
    'accepts a term lower than one it already accepted (an invariant checked outside the storage).',
  standIn:
    'The election runs faultline’s Election against MemoryLockBackend on a simulated lock node, ' +
    'reached through a small lab RPC shim (RemoteLockBackend). The storage is a lab node wrapping FencedStore.',
  api: [
    "import { Election, FencedStore } from 'faultline/coord';",
    "const election = new Election(backend, { key: 'leader', candidateId: 'n1' });",
    'const leadership = await election.campaign();',
    "store.write('file', leadership.term, batch); // the term is the fencing token",
  ].join('\n'),
  figures: [
    {
      name: 'staleWrites',
      label: 'stale writes accepted',
      unit: 'writes',
      better: 'lower',
      key: true,
    },
    {
      name: 'leadersAtOnce',
      label: 'leaders at once (max)',
      unit: 'nodes',
      better: 'lower',
      key: true,
    },
    { name: 'terms', label: 'terms granted', unit: '', better: 'none' },
    { name: 'writesRejected', label: 'writes rejected', unit: 'writes', better: 'none' },
  ],
  knobs: [
    {
      name: 'pauseMs',
      label: 'leader GC pause (mean)',
      min: 0,
      max: 800,
      step: 10,
      default: 500,
      unit: 'ms',
    },
  ],
  variants: {
    unsafe: {
      summary: 'The storage does not look at the leader’s term: it accepts every write.',
      run: (context) => run(context, 'unfenced'),
    },
    safe: {
      summary:
        'Every write carries the leader’s term, and the storage refuses a term older than the newest it accepted.',
      run: (context) => run(context, 'fenced'),
    },
  },
};

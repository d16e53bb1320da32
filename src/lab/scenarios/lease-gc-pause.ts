/**
 * Lease + GC pause: a lock holder paused past its lease writes late, after the next holder wrote
 * (Kleppmann, "How to do distributed locking", 2016).
 *
 * @module
 */
import { Lock } from '../../coord/lock.js';
import { MemoryLockBackend } from '../../coord/memory.js';
import type { Node } from '../../sim/node.js';
import { RemoteLockBackend, serveLocks } from '../coord/remote-lock.js';
import { LeaseTruth, StaleWriteChecker, sendWrite, serveStorage } from '../coord/storage.js';
import type { StorageMode } from '../coord/storage.js';
import type { LabContext, Scenario, VariantOutcome } from '../types.js';

const HORIZON_MS = 1_500;
const KEY = 'file';

interface ClientPlan {
  /** When the client starts, ms. */
  readonly startMs: number;
  /** How long its work between acquiring and writing takes, ms. */
  readonly workMs: number;
  readonly ttlMs: number;
}

/**
 * Kleppmann's client: acquire the lock, check the lease, do the work (read, update: this is where
 * the GC pause lands), write the result to the storage with the lease's token, release.
 */
async function client(context: LabContext, node: Node, plan: ClientPlan): Promise<void> {
  const { runtime } = node;
  const lock = new Lock(new RemoteLockBackend(node, 'lock'), { runtime, callTimeoutMs: 50 });
  try {
    await runtime.timers.sleep(plan.startMs);
    const lease = await lock.acquire(KEY, { ttlMs: plan.ttlMs, waitMs: 1_000 });
    context.note(node.name, `holds the lock: token ${lease.token}`);
    lease.assertValid();
    await runtime.timers.sleep(plan.workMs);
    context.note(node.name, `writes with token ${lease.token}`);
    sendWrite(node, 'storage', lease.token, `${node.name}.1`);
    await lease.release();
  } catch (error) {
    context.note(node.name, `gave up: ${String(error)}`);
  } finally {
    await lock.close();
  }
}

async function run(context: LabContext, mode: StorageMode): Promise<VariantOutcome> {
  const sim = context.simulation({ network: { latency: { kind: 'uniform', minMs: 1, maxMs: 5 } } });
  const ttlMs = context.knobs['ttlMs'] ?? 100;
  const pauseKnobMs = context.knobs['pauseMs'] ?? 200;
  const nowMs = (): number => sim.nowMs;
  const truth = new LeaseTruth(context, nowMs, 'lock');
  const checker = new StaleWriteChecker(context, nowMs, truth);
  const random = sim.random.fork('lease-gc-pause');
  const c1Work = 40 + random.int(20);
  const c2Start = 20 + random.int(20);
  const c2Work = 10 + random.int(20);
  // The GC pause: seeded length around the knob, landing during c1's work.
  const pauseMs = Math.round(pauseKnobMs * (0.5 + random.next()));
  const pauseAtMs = 15 + random.int(15);

  sim
    .node('lock')
    .start((node) =>
      serveLocks(node, new MemoryLockBackend({ runtime: node.runtime }), truth.onApplied),
    );
  sim.node('storage').start((node) => serveStorage(node, mode, checker));
  sim.node('c1').start((node) => client(context, node, { startMs: 0, workMs: c1Work, ttlMs }));
  sim
    .node('c2')
    .start((node) => client(context, node, { startMs: c2Start, workMs: c2Work, ttlMs }));
  if (pauseMs > 0)
    sim.schedule([{ atMs: pauseAtMs, fault: { kind: 'pause', node: 'c1', durationMs: pauseMs } }]);
  await sim.run({ untilMs: HORIZON_MS });

  return {
    violated: checker.evidence !== undefined,
    ...(checker.evidence === undefined ? {} : { evidence: checker.evidence }),
    figures: {
      staleWrites: checker.stale,
      writesRejected: checker.rejected,
      pauseMs,
    },
  };
}

/** The lease + GC pause scenario. */
export const leaseGcPause: Scenario = {
  name: 'lease-gc-pause',
  title: 'Lease + GC pause',
  problem:
    'A client holding a lease is paused (a stop-the-world GC) past the lease’s expiry, another ' +
    'client is granted the lock and writes, and the first client wakes up and writes too. A lease ' +
    'cannot stop a process that does not know time has passed; only the storage can refuse the late write.',
  reference: 'Kleppmann, “How to do distributed locking” (2016); DDIA ch. 8, “Fencing tokens”',
  property:
    'The storage never accepts a write whose token is lower than a token it already accepted; an ' +
    'invariant checked outside the storage from every write it accepted, explained with the lock ' +
    'server’s own record of grants and expiries.',
  standIn:
    'The lock server is faultline’s MemoryLockBackend on its own simulated node; the clients reach ' +
    'it through a small lab RPC shim (RemoteLockBackend) that carries each LockBackend call as a ' +
    'simulated message. The storage is a lab node wrapping FencedStore.',
  api: [
    "import { Lock, FencedStore } from 'faultline/coord';",
    "const lease = await lock.acquire('file', { ttlMs: 100 });",
    '// storage side: refuse any write older than the newest one',
    "const result = store.write('file', lease.token, data); // kind: 'accepted' | 'stale'",
  ].join('\n'),
  figures: [
    {
      name: 'staleWrites',
      label: 'stale writes accepted',
      unit: 'writes',
      better: 'lower',
      key: true,
    },
    { name: 'writesRejected', label: 'writes rejected', unit: 'writes', better: 'none', key: true },
    { name: 'pauseMs', label: 'GC pause of c1', unit: 'ms', better: 'none' },
  ],
  knobs: [
    {
      name: 'pauseMs',
      label: 'GC pause (mean)',
      min: 0,
      max: 1_000,
      step: 10,
      default: 200,
      unit: 'ms',
    },
    { name: 'ttlMs', label: 'lease TTL', min: 20, max: 500, step: 10, default: 100, unit: 'ms' },
  ],
  variants: {
    unsafe: {
      summary:
        'The storage accepts every write: the lease alone is trusted to exclude the paused client.',
      run: (context) => run(context, 'unfenced'),
    },
    safe: {
      summary:
        'The storage accepts a write only if its fencing token is at least the newest it has accepted (FencedStore).',
      run: (context) => run(context, 'fenced'),
    },
  },
};

/**
 * Redlock under a clock jump: Kleppmann's scenario with five simulated lock servers. Client 1
 * holds the lock on a majority, one server of that majority steps its clock forward and expires
 * the key, and client 2 gets a majority too: both believe they hold the lock.
 *
 * @module
 */
import { RedlockQuorumBackend } from '../../adapters/redis/redlock-core.js';
import { Lock } from '../../coord/lock.js';
import type { ScheduledFault } from '../../sim/faults.js';
import type { Node } from '../../sim/node.js';
import { MemoryRedlockInstance } from '../coord/redlock-instance.js';
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
const TTL_MS = 1_000;
const KEY = 'file';
const SERVERS = ['r1', 'r2', 'r3', 'r4', 'r5'] as const;

interface ClientPlan {
  readonly startMs: number;
  readonly workMs: number;
}

/** A client: Redlock over the five servers, acquire, work, write with the lock's token, release. */
async function client(
  context: LabContext,
  node: Node,
  plan: ClientPlan,
  holders: ActingHolders,
): Promise<void> {
  const { runtime } = node;
  const redlock = new RedlockQuorumBackend(
    SERVERS.map((server) => new RemoteLockBackend(node, server)),
    { runtime },
  );
  const lock = new Lock(redlock, { runtime, callTimeoutMs: 100 });
  try {
    await runtime.timers.sleep(plan.startMs);
    const lease = await lock.acquire(KEY, { ttlMs: TTL_MS, waitMs: 500 });
    holders.began(node.name);
    context.note(
      node.name,
      `holds the lock on a quorum: token ${lease.token}, valid ${lease.remainingMs().toFixed(0)} ms`,
    );
    await runtime.timers.sleep(plan.workMs);
    lease.assertValid();
    context.note(node.name, `writes with token ${lease.token}, its lease still valid`);
    sendWrite(node, 'storage', lease.token, `${node.name}.1`);
    await lease.release();
    holders.ended(node.name);
  } catch (error) {
    holders.ended(node.name);
    context.note(node.name, `gave up: ${String(error)}`);
  } finally {
    await lock.close();
    redlock.close();
  }
}

/** The faults: the two clients each cut off from two servers, and r3's clock stepping forward. */
function faults(
  c1Cut: readonly string[],
  c2Cut: readonly string[],
  jumpAtMs: number,
  jumpMs: number,
): ScheduledFault[] {
  const out: ScheduledFault[] = [];
  for (const [from, servers] of [
    ['c1', c1Cut],
    ['c2', c2Cut],
  ] as const) {
    for (const to of servers)
      out.push({ atMs: 0, fault: { kind: 'cut', from, to, durationMs: HORIZON_MS } });
  }
  if (jumpMs > 0)
    out.push({ atMs: jumpAtMs, fault: { kind: 'clock-step', node: 'r3', deltaMs: jumpMs } });
  return out;
}

async function run(context: LabContext, mode: StorageMode): Promise<VariantOutcome> {
  const sim = context.simulation({ network: { latency: { kind: 'uniform', minMs: 1, maxMs: 5 } } });
  const jumpMs = context.knobs['clockJumpMs'] ?? 2_000;
  const nowMs = (): number => sim.nowMs;
  const checker = new StaleWriteChecker(context, nowMs, undefined);
  const holders = new ActingHolders();
  const random = sim.random.fork('redlock-clock-jump');
  const c1Work = 150 + random.int(350);
  const c2Start = 60 + random.int(60);
  const c2Work = 20 + random.int(40);
  const jumpAtMs = 30 + random.int(20);

  for (const name of SERVERS) {
    const truth = new LeaseTruth(context, nowMs, name);
    sim
      .node(name)
      .start((node) => serveLocks(node, new MemoryRedlockInstance(node.runtime), truth.onApplied));
  }
  sim.node('storage').start((node) => serveStorage(node, mode, checker));
  sim.node('c1').start((node) => client(context, node, { startMs: 0, workMs: c1Work }, holders));
  sim
    .node('c2')
    .start((node) => client(context, node, { startMs: c2Start, workMs: c2Work }, holders));
  // Kleppmann's network: c1 cannot reach r4 and r5, c2 cannot reach r1 and r2; r3 is in both quorums.
  sim.schedule(faults(['r4', 'r5'], ['r1', 'r2'], jumpAtMs, jumpMs));
  await sim.run({ untilMs: HORIZON_MS });

  return {
    violated: checker.evidence !== undefined,
    ...(checker.evidence === undefined ? {} : { evidence: checker.evidence }),
    figures: {
      staleWrites: checker.stale,
      holdersAtOnce: holders.max,
      writesRejected: checker.rejected,
    },
  };
}

/** The Redlock clock-jump scenario. */
export const redlockClockJump: Scenario = {
  name: 'redlock-clock-jump',
  title: 'Redlock under a clock jump',
  problem:
    'Redlock grants a lock when a majority of five independent servers grant it, and each server ' +
    'expires the key by its own clock. When one server of the holder’s majority steps its clock ' +
    'forward, the key expires there early, a second client gets a majority that shares only that ' +
    'server, and both clients believe they hold the lock.',
  reference:
    'Kleppmann, “How to do distributed locking” (2016); Sanfilippo, “Is Redlock safe?” (2016); ' +
    'redis.io, “Distributed Locks with Redis”',
  property:
    'The storage never accepts a write whose token is lower than a token it already accepted ' +
    '(an invariant checked outside the storage from every write it accepted).',
  standIn:
    'Each lock server is faultline’s MemoryLockBackend on its own simulated node, with that ' +
    'node’s wall clock as its expiry clock (as Redis expires keys) and a lab wrapper adding ' +
    'Redlock’s extend-by-owner and token raise; clients run faultline’s RedlockBackend and Lock ' +
    'and reach the servers through the lab RPC shim. The storage is a lab node wrapping FencedStore.',
  api: [
    "import { Lock, FencedStore } from 'faultline/coord';",
    "import { RedlockBackend } from 'faultline/redis';",
    'const lock = new Lock(RedlockBackend.fromClients([r1, r2, r3, r4, r5]));',
    "const lease = await lock.acquire('file', { ttlMs: 1_000 });",
    "store.write('file', lease.token, data); // the quorum's maximum token fences the storage",
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
      name: 'holdersAtOnce',
      label: 'clients holding the lock at once (max)',
      unit: 'clients',
      better: 'lower',
      key: true,
    },
    { name: 'writesRejected', label: 'writes rejected', unit: 'writes', better: 'none' },
  ],
  knobs: [
    {
      name: 'clockJumpMs',
      label: 'forward clock step on r3',
      min: 0,
      max: 5_000,
      step: 100,
      default: 2_000,
      unit: 'ms',
    },
  ],
  variants: {
    unsafe: {
      summary:
        'The storage accepts every write: Redlock’s majority is trusted to exclude the other client.',
      run: (context) => run(context, 'unfenced'),
    },
    safe: {
      summary:
        'Every write carries the Redlock token (the maximum of the quorum’s counters) and the storage refuses an older one.',
      run: (context) => run(context, 'fenced'),
    },
  },
};

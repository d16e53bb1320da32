/**
 * CAP under a partition: five replicas split two against three, with clients on both sides that
 * can reach only their own side. A consistent store (Raft) refuses the minority side's writes and
 * keeps one linearizable history; an available store (dotted version vector sets, anti-entropy)
 * accepts writes on both sides, keeps the concurrent ones as siblings and reconciles them after the
 * heal — and its history is not linearizable. Both outcomes are shown and checked.
 *
 * @module
 */
import { check } from '../../check/checker.js';
import {
  dvvEqual,
  dvvJoin,
  dvvNewWithContext,
  dvvSync,
  dvvUpdateWith,
  dvvValues,
} from '../../clocks/dvvset.js';
import type { DvvContext, DvvSet } from '../../clocks/dvvset.js';
import { raftKvModel } from '../../protocols/raft/kv.js';
import { keyedHistory } from '../../protocols/raft/sim.js';
import type { Random } from '../../core/runtime.js';
import type { OpEvent } from '../../sim/history.js';
import type { Envelope, Node } from '../../sim/node.js';
import type { Simulation } from '../../sim/simulation.js';
import { historyEvidence, runRaftLab } from '../raft/outcome.js';
import type { Evidence, LabContext, Scenario, VariantOutcome } from '../types.js';

const REPLICAS = ['n1', 'n2', 'n3', 'n4', 'n5'] as const;
const MINORITY = ['n1', 'n2'];
const MAJORITY = ['n3', 'n4', 'n5'];
/** Clients: c1, c2 live with the minority, c3, c4 with the majority (each reaches its side only). */
const MINORITY_CLIENTS = ['c1', 'c2'];
const MAJORITY_CLIENTS = ['c3', 'c4'];
/** Virtual ms during which clients start operations. */
const DURATION_MS = 1500;
const PARTITION_MS = 700;
const KEYS = ['x', 'y'];
const ANTI_ENTROPY_MS = 25;
/** Upper bound on the AP store's whole run (it ends well before). */
const MAX_RUN_MS = 10_000;
const CHECK_TIMEOUT_MS = 10_000;

/** When the partition starts (it lasts {@link PARTITION_MS}). */
const partitionAtMs = (seed: number): number => 300 + (seed % 5) * 20;

/** The partition: replicas and the clients that live with them. */
function partition(seed: number): {
  atMs: number;
  fault: { kind: 'partition'; groups: string[][]; durationMs: number };
} {
  return {
    atMs: partitionAtMs(seed),
    fault: {
      kind: 'partition',
      groups: [
        [...MINORITY, ...MINORITY_CLIENTS],
        [...MAJORITY, ...MAJORITY_CLIENTS],
      ],
      durationMs: PARTITION_MS,
    },
  };
}

/**
 * What became of the writes the minority side's clients invoked during the partition, read from
 * the client history: acknowledged before the heal, or not (timed out, or answered only after it).
 */
function minorityWrites(
  ops: readonly OpEvent[],
  seed: number,
): { accepted: number; refused: number } {
  const from = partitionAtMs(seed);
  const to = from + PARTITION_MS;
  const invoked = new Map<string, OpEvent>();
  let accepted = 0;
  let refused = 0;
  for (const e of ops) {
    if (!MINORITY_CLIENTS.includes(e.process) || e.f === 'get') continue;
    if (e.type === 'invoke') {
      invoked.set(e.process, e);
      continue;
    }
    const at = invoked.get(e.process)?.timeMs ?? -1;
    if (at < from || at >= to) continue;
    if (e.type === 'ok' && e.timeMs < to) accepted++;
    else if (e.type !== 'fail') refused++;
  }
  return { accepted, refused };
}

// ---------------------------------------------------------------------------------------------
// The AP store: every replica accepts reads and writes alone; DVV sets keep concurrent writes.

type ApRequest =
  | { type: 'put'; id: number; key: string; value: string; context: DvvContext }
  | { type: 'get'; id: number; key: string }
  | { type: 'sync'; state: readonly (readonly [string, DvvSet<string>])[] };

/** A reply carries the key's values and causal context after the operation (Riak's return_body). */
interface ApReply {
  readonly id: number;
  readonly siblings: readonly string[];
  readonly context: DvvContext;
}

const EMPTY: DvvSet<string> = { entries: [], anonymous: [] };

/** An acknowledged write and the values its client had seen of the key when it wrote it. */
export interface AckedWrite {
  readonly key: string;
  readonly value: string;
  readonly observed: readonly string[];
  readonly client?: string;
  readonly timeMs?: number;
}

interface ApWorld {
  readonly seed: number;
  readonly sim: Simulation;
  readonly context: LabContext;
  readonly sets: Map<string, Map<string, DvvSet<string>>>;
  readonly keys: Map<number, string>;
  readonly acked: AckedWrite[];
  readonly partitioned: () => boolean;
}

/** A replica: answers alone, and ships its whole state to every other replica periodically. */
function startReplica(world: ApWorld, node: Node): void {
  const sets = new Map<string, DvvSet<string>>();
  world.sets.set(node.name, sets);
  const answer = (to: string, id: number, key: string): void => {
    const set = sets.get(key) ?? EMPTY;
    node.send(to, { id, siblings: dvvValues(set), context: dvvJoin(set) } satisfies ApReply);
  };
  node.onMessage((m: Envelope<ApRequest>) => {
    const r = m.payload;
    if (r.type === 'sync') {
      for (const [key, set] of r.state) sets.set(key, dvvSync([sets.get(key) ?? EMPTY, set]));
      return;
    }
    if (r.type === 'put') {
      const stored = sets.get(r.key) ?? EMPTY;
      const next = dvvUpdateWith(dvvNewWithContext(r.context, r.value), stored, node.name);
      sets.set(r.key, next);
      if (world.partitioned() && MINORITY.includes(node.name))
        world.context.note(
          node.name,
          `accepts ${r.key}=${r.value} in the minority; holds ${dvvValues(next).join(', ')}`,
        );
    }
    answer(m.from, r.id, r.key);
  });
  const antiEntropy = (): void => {
    const state = [...sets];
    for (const peer of REPLICAS)
      if (peer !== node.name) node.send(peer, { type: 'sync', state } satisfies ApRequest);
    node.runtime.timers.setTimer(ANTI_ENTROPY_MS, antiEntropy);
  };
  node.runtime.timers.setTimer(ANTI_ENTROPY_MS, antiEntropy);
}

/** A client of the AP store: one request at a time (nothing is lost on its side of the cut). */
class ApClient {
  private readonly pending = new Map<number, (reply: ApReply) => void>();
  private nextId = 1;
  /** Per key: the context and values of the last reply, sent with the next write. */
  private readonly seen = new Map<string, ApReply>();

  constructor(
    readonly world: ApWorld,
    readonly node: Node,
  ) {
    node.onMessage((m: Envelope<ApReply>) => this.pending.get(m.payload.id)?.(m.payload));
  }

  private request(to: string, build: (id: number) => ApRequest): Promise<ApReply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, (reply) => {
        this.pending.delete(id);
        resolve(reply);
      });
      this.node.send(to, build(id));
    });
  }

  /** Reads `key` at `to`; the history gets the single value, or every sibling joined by `|`. */
  async get(to: string, key: string): Promise<readonly string[]> {
    const { history } = this.world.sim;
    const op = history.invoke(this.node.name, 'get', null);
    this.world.keys.set(op.invokeIndex, key);
    const reply = await this.request(to, (id) => ({ type: 'get', id, key }));
    this.seen.set(key, reply);
    history.complete(op, 'ok', [...reply.siblings].sort().join('|'));
    return reply.siblings;
  }

  /** Writes `key=value` at `to` with the context of the last reply for `key`. */
  async put(to: string, key: string, value: string): Promise<void> {
    const { history } = this.world.sim;
    const before = this.seen.get(key);
    const op = history.invoke(this.node.name, 'put', value);
    this.world.keys.set(op.invokeIndex, key);
    const context = before?.context ?? {};
    const reply = await this.request(to, (id) => ({ type: 'put', id, key, value, context }));
    this.seen.set(key, reply);
    history.complete(op, 'ok', value);
    this.world.acked.push({
      client: this.node.name,
      key,
      value,
      observed: before?.siblings ?? [],
      timeMs: this.world.sim.nowMs,
    });
  }
}

async function apWorkload(
  client: ApClient,
  side: readonly string[],
  random: Random,
): Promise<void> {
  const { clock, timers } = client.node.runtime;
  // The clients start with the partition: every conflict shown is one the partition caused.
  await timers.sleep(partitionAtMs(client.world.seed));
  let seq = 0;
  while (clock.monotonicMs() < DURATION_MS) {
    seq++;
    const key = random.pick(KEYS);
    const to = random.pick(side);
    if (random.next() < 0.5) await client.get(to, key);
    else await client.put(to, key, `${client.node.name}.${seq}`);
    await timers.sleep(1 + random.int(20));
  }
}

/**
 * The acknowledged writes that no other acknowledged write had seen (transitively): after the
 * heal every replica must hold exactly these, per key, as siblings. Exported for its test.
 *
 * @example
 * survivors([{ key: 'x', value: 'a', observed: [] }, { key: 'x', value: 'b', observed: ['a'] }], 'x'); // ['b']
 */
export function survivors(acked: readonly AckedWrite[], key: string): string[] {
  const writes = acked.filter((w) => w.key === key);
  const byValue = new Map(writes.map((w) => [w.value, w]));
  const superseded = new Set<string>();
  const stack = writes.flatMap((w) => w.observed.filter((v) => v !== w.value));
  while (stack.length > 0) {
    const v = stack.pop() as string;
    if (superseded.has(v)) continue;
    superseded.add(v);
    stack.push(...(byValue.get(v)?.observed ?? []));
  }
  return writes.map((w) => w.value).filter((v) => !superseded.has(v));
}

/** What differs between the replicas' values of `key` and `expected` (empty when converged). */
function divergence(world: ApWorld, key: string, expected: readonly string[]): string[] {
  const want = [...expected].sort().join(', ');
  const first = world.sets.get('n1')?.get(key) ?? EMPTY;
  const out: string[] = [];
  for (const r of REPLICAS) {
    const set = world.sets.get(r)?.get(key) ?? EMPTY;
    const held = dvvValues(set).sort().join(', ');
    if (held !== want || !dvvEqual(set, first))
      out.push(`${r} holds ${key} = [${held}], expected [${want}]`);
  }
  return out;
}

/** Reconciles every key that holds siblings: one client reads them and writes their union. */
async function reconcile(client: ApClient): Promise<void> {
  for (const key of KEYS) {
    const siblings = await client.get('n1', key);
    if (siblings.length > 1) await client.put('n1', key, [...siblings].sort().join('+'));
  }
}

async function runAp(context: LabContext): Promise<VariantOutcome> {
  const sim = context.simulation({
    network: { latency: { kind: 'uniform', minMs: 1, maxMs: 10 } },
  });
  const from = partitionAtMs(context.seed);
  const world: ApWorld = {
    seed: context.seed,
    sim,
    context,
    sets: new Map(),
    keys: new Map(),
    acked: [],
    partitioned: () => sim.nowMs >= from && sim.nowMs < from + PARTITION_MS,
  };
  for (const r of REPLICAS) startReplica(world, sim.node(r));
  const random = sim.random.fork('cap-workload');
  const clients = [...MINORITY_CLIENTS, ...MAJORITY_CLIENTS].map(
    (c) => new ApClient(world, sim.node(c)),
  );
  sim.schedule([partition(context.seed)]);
  let finished = 0;
  const errors: unknown[] = [];
  for (const c of clients) {
    const side = MINORITY_CLIENTS.includes(c.node.name) ? MINORITY : MAJORITY;
    apWorkload(c, side, random).then(
      () => finished++,
      (e: unknown) => errors.push(e),
    );
  }
  await sim.run({
    untilMs: MAX_RUN_MS,
    until: () => finished === clients.length || errors.length > 0,
  });
  if (errors.length > 0) throw errors[0];
  // The partition healed long ago: two anti-entropy rounds and the replicas agree.
  await sim.run({ forMs: 4 * ANTI_ENTROPY_MS });
  return judgeAp(world, clients[0] as ApClient);
}

async function judgeAp(world: ApWorld, reconciler: ApClient): Promise<VariantOutcome> {
  const { sim, context } = world;
  const problems: string[] = [];
  let siblingsAfterHeal = 0;
  for (const key of KEYS) {
    const expected = survivors(world.acked, key);
    problems.push(...divergence(world, key, expected));
    siblingsAfterHeal = Math.max(siblingsAfterHeal, expected.length > 1 ? expected.length : 0);
    context.note('n1', `after the heal ${key} holds [${expected.sort().join(', ')}]`);
  }
  const healed = sim.nowMs;
  let done = false;
  void reconcile(reconciler).then(() => (done = true));
  await sim.run({ untilMs: MAX_RUN_MS, until: () => done });
  await sim.run({ forMs: 4 * ANTI_ENTROPY_MS });
  let reconciled = done ? 1 : 0;
  for (const key of KEYS) {
    const values = dvvValues(world.sets.get('n1')?.get(key) ?? EMPTY);
    const left = divergence(world, key, values);
    if (values.length > 1 || left.length > 0) reconciled = 0;
    problems.push(...left);
  }
  const history = keyedHistory(sim.history.ops, world.keys);
  const verdict = check(history, raftKvModel(), { timeoutMs: CHECK_TIMEOUT_MS });
  const evidence: Evidence | undefined =
    problems.length > 0
      ? {
          timeMs: healed,
          summary: `the replicas lost or kept stale writes: ${problems[0]}`,
          node: 'n1',
          traceIndex: context.note('n1', problems[0] as string),
          operations: problems.slice(0, 5),
        }
      : historyEvidence(context, sim, history, verdict);
  const writes = minorityWrites(sim.history.ops, context.seed);
  return {
    violated: evidence !== undefined,
    ...(evidence === undefined ? {} : { evidence }),
    figures: {
      acceptedMinorityWrites: writes.accepted,
      refusedMinorityWrites: writes.refused,
      linearizable: verdict.kind === 'legal' ? 1 : 0,
      siblingsAfterHeal,
      reconciled,
      acknowledgedWrites: world.acked.length,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The CP store: the Raft key-value store, same replicas, same partition, same client placement.

async function runRaft(context: LabContext): Promise<VariantOutcome> {
  const { run, evidence, linearizable } = await runRaftLab(context, {
    nodes: REPLICAS.length,
    clients: MINORITY_CLIENTS.length + MAJORITY_CLIENTS.length,
    durationMs: DURATION_MS,
    faults: [partition(context.seed)],
  });
  const writes = minorityWrites(run.rawHistory, context.seed);
  return {
    violated: evidence !== undefined,
    ...(evidence === undefined ? {} : { evidence }),
    figures: {
      acceptedMinorityWrites: writes.accepted,
      refusedMinorityWrites: writes.refused,
      linearizable,
      // A Raft key is one replicated register: there is never more than one value to keep.
      siblingsAfterHeal: 0,
      // Nothing diverged, so nothing is left to reconcile after the heal.
      reconciled: 1,
      acknowledgedWrites: run.acknowledgedWrites,
    },
  };
}

/** The cap-partition scenario. */
export const capPartition: Scenario = {
  name: 'cap-partition',
  title: 'CAP under a partition: Raft (consistent) vs dotted version vectors (available)',
  problem:
    'A partition splits five replicas two against three, with clients on both sides. A store ' +
    'cannot both answer every client (availability) and keep one linearizable history ' +
    '(consistency): it must refuse the minority side, or accept writes that the other side does ' +
    'not see and reconcile the conflicts later.',
  reference:
    'Gilbert & Lynch, “Brewer’s Conjecture and the Feasibility of Consistent, Available, ' +
    'Partition-Tolerant Web Services” (SIGACT News 2002); Ongaro & Ousterhout (USENIX ATC 2014); ' +
    'Almeida et al., “Scalable and Accurate Causality Tracking for Eventually Consistent Stores” ' +
    '(DAIS 2014)',
  property:
    'Linearizability of the clients’ key-value history (faultline/check) — which the available ' +
    'store gives up by design — plus, for the available store, that after the heal every replica ' +
    'holds exactly the acknowledged writes no later write had seen (siblings, none lost) and that ' +
    'one reconciling write leaves a single value everywhere; for Raft, its safety invariants.',
  standIn:
    'The available store (replicas answering alone, full-state anti-entropy) is the lab’s small ' +
    'example service on faultline’s DVV sets; the consistent store is faultline’s Raft.',
  api: [
    "import { RaftNode } from 'faultline/raft';          // CP: a majority or nothing",
    "import { dvvUpdateWith, dvvNewWithContext, dvvSync } from 'faultline'; // AP: siblings",
    'stored = dvvUpdateWith(dvvNewWithContext(readContext, value), stored, replicaId);',
    'merged = dvvSync([mine, theirs]); // anti-entropy after the heal keeps concurrent writes',
  ].join('\n'),
  figures: [
    {
      name: 'acceptedMinorityWrites',
      label: 'minority-side writes acknowledged during the partition',
      unit: 'writes',
      better: 'none',
      key: true,
    },
    { name: 'linearizable', label: 'history linearizable', unit: '', better: 'higher', key: true },
    {
      name: 'refusedMinorityWrites',
      label: 'minority-side writes not acknowledged before the heal',
      unit: 'writes',
      better: 'none',
    },
    {
      name: 'siblingsAfterHeal',
      label: 'siblings of one key after the heal (most)',
      unit: 'values',
      better: 'none',
    },
    {
      name: 'reconciled',
      label: 'one value per key everywhere after reconciling',
      unit: '',
      better: 'higher',
    },
    { name: 'acknowledgedWrites', label: 'writes acknowledged', unit: 'writes', better: 'none' },
  ],
  variants: {
    unsafe: {
      summary:
        'Available: every replica accepts reads and writes alone and keeps concurrent writes as DVV siblings; anti-entropy merges them after the heal, and a client reconciles.',
      run: runAp,
    },
    safe: {
      summary:
        'Consistent: the Raft key-value store; the two replicas of the minority cannot commit, so their clients’ writes time out until the heal.',
      run: runRaft,
    },
  },
};

/**
 * Last write wins under clock skew: two replicas stamp writes with their own clocks and
 * anti-entropy keeps the larger stamp. A write that causally followed another, accepted by the
 * replica whose wall clock is behind, gets the smaller stamp and is silently discarded everywhere.
 * A hybrid logical clock keeps the causal order; dotted version vectors keep truly concurrent
 * writes as siblings instead of dropping one.
 *
 * @module
 */
import {
  dvvJoin,
  dvvNewWithContext,
  dvvSync,
  dvvUpdateWith,
  dvvValues,
} from '../../clocks/dvvset.js';
import type { DvvContext, DvvSet } from '../../clocks/dvvset.js';
import { isClockOffsetError } from '../../clocks/errors.js';
import { HybridLogicalClock } from '../../clocks/hlc.js';
import type { HlcTimestamp } from '../../clocks/hlc.js';
import { HlcLwwRegister, WallClockLwwRegister } from '../../clocks/registers.js';
import type { LwwState, WallStamp } from '../../clocks/registers.js';
import type { Random } from '../../core/runtime.js';
import type { Envelope, Node } from '../../sim/node.js';
import type { Simulation } from '../../sim/simulation.js';
import type { Evidence, LabContext, Scenario, VariantOutcome } from '../types.js';

/** Wall time at virtual time 0 (the simulator's default epoch); stamps are shown relative to it. */
const EPOCH_MS = 1_700_000_000_000;
/** Keys written twice in a causal sequence (write, observe at the other replica, write again). */
const CAUSAL_KEYS = 8;
/** Keys written concurrently at both replicas by two clients that saw nothing. */
const CONCURRENT_KEYS = 3;
/** Upper bound on the workload's virtual time (it ends well before, even at the slowest knobs). */
const MAX_WORKLOAD_MS = 20_000;
/** Reads at the second replica until the first write shows up, at most this many. */
const MAX_POLLS = 40;
const POLL_MS = 5;
const REPLICAS = ['a', 'b'] as const;
/** When the optional wall-clock step of replica b happens. */
const STEP_AT_MS = 250;

type ReplicaName = (typeof REPLICAS)[number];

/** What a read returns: the LWW register's value, the multi-value store's siblings and context. */
interface ReadResult {
  readonly lww: string | undefined;
  readonly siblings: readonly string[];
  readonly context: DvvContext;
}

/** A replica's storage: the design under test. */
interface ReplicaStore {
  /** Applies a client write; returns the stamp given to it and what the register holds after. */
  write(key: string, value: string, context: DvvContext): { stamp: string; holds: string };
  read(key: string): ReadResult;
  /** Immutable state shipped to the other replica by anti-entropy. */
  snapshot(): unknown;
  merge(snapshot: unknown): void;
  /** The multi-value store's siblings, or undefined when the design has none. */
  siblings(key: string): readonly string[] | undefined;
}

type Request =
  | { type: 'write'; id: number; key: string; value: string; context: DvvContext }
  | { type: 'read'; id: number; key: string }
  | { type: 'sync'; snapshot: unknown };

type Reply = { type: 'ack'; id: number } | ({ type: 'value'; id: number } & ReadResult);

const wallText = (ms: number): string => `${(ms - EPOCH_MS).toFixed(1)} ms`;
const hlcText = (ts: HlcTimestamp): string => `l=${ts.wallMs - EPOCH_MS} ms, c=${ts.logical}`;

/** The naive design: one `WallClockLwwRegister` per key, stamped with the replica's wall clock. */
function wallClockStore(node: Node): ReplicaStore {
  const registers = new Map<string, WallClockLwwRegister<string>>();
  const get = (key: string): WallClockLwwRegister<string> => {
    let r = registers.get(key);
    if (r === undefined) {
      r = new WallClockLwwRegister<string>({ nodeId: node.name, runtime: node.runtime });
      registers.set(key, r);
    }
    return r;
  };
  return {
    write(key, value) {
      const winner = get(key).set(value);
      const stamp = wallText(node.runtime.clock.wallMs());
      return { stamp, holds: `${winner.value} (${wallText(winner.stamp.wallMs)})` };
    },
    read: (key) => ({ lww: get(key).get(), siblings: [], context: {} }),
    snapshot: () => [...registers].map(([k, r]) => [k, r.state()] as const),
    merge(snapshot) {
      for (const [k, s] of snapshot as [string, LwwState<string, WallStamp> | undefined][])
        get(k).merge(s);
    },
    siblings: () => undefined,
  };
}

/** faultline's fix: `HlcLwwRegister` per key on one HLC per replica, plus a DVV set per key. */
function hlcStore(node: Node): ReplicaStore {
  const clock = new HybridLogicalClock({ nodeId: node.name, runtime: node.runtime });
  const registers = new Map<string, HlcLwwRegister<string>>();
  const sets = new Map<string, DvvSet<string>>();
  const get = (key: string): HlcLwwRegister<string> => {
    let r = registers.get(key);
    if (r === undefined) {
      r = new HlcLwwRegister<string>(clock);
      registers.set(key, r);
    }
    return r;
  };
  const set = (key: string): DvvSet<string> => sets.get(key) ?? { entries: [], anonymous: [] };
  return {
    write(key, value, context) {
      const written = get(key).set(value);
      sets.set(key, dvvUpdateWith(dvvNewWithContext(context, value), set(key), node.name));
      const winner = get(key).state() as LwwState<string, HlcTimestamp>;
      return { stamp: hlcText(written.stamp), holds: `${winner.value} (${hlcText(winner.stamp)})` };
    },
    read: (key) => ({
      lww: get(key).get(),
      siblings: dvvValues(set(key)),
      context: dvvJoin(set(key)),
    }),
    snapshot: () => [...registers.keys()].map((k) => [k, get(k).state(), set(k)] as const),
    merge(snapshot) {
      type Item = [string, LwwState<string, HlcTimestamp> | undefined, DvvSet<string>];
      for (const [k, lww, dvv] of snapshot as Item[]) {
        get(k).merge(lww);
        sets.set(k, dvvSync([set(k), dvv]));
      }
    },
    siblings: (key) => dvvValues(set(key)),
  };
}

/** An acknowledged write as the checker saw it: what its client had observed of the key before. */
interface AckedWrite {
  readonly client: string;
  readonly key: string;
  readonly value: string;
  readonly replica: ReplicaName;
  readonly stamp: string;
  /** Values of the same key the client had observed (its own writes, its reads) before writing. */
  readonly observed: readonly string[];
  readonly noteIndex: number;
  readonly timeMs: number;
}

/** Everything the run's world recorded for the checker. */
interface World {
  readonly sim: Simulation;
  readonly context: LabContext;
  readonly acked: AckedWrite[];
  readonly reads: Map<string, string>;
  /** Per `key=value`: the trace index and time of the replica's note accepting it, and its stamp. */
  readonly accepted: Map<string, { noteIndex: number; timeMs: number; stamp: string }>;
}

function startReplica(world: World, node: Node, peer: string, store: ReplicaStore): void {
  const antiEntropyMs = world.context.knobs['antiEntropyMs'] ?? 20;
  let rejected = false;
  node.onMessage((m: Envelope<Request>) => {
    const r = m.payload;
    switch (r.type) {
      case 'write': {
        const { stamp, holds } = store.write(r.key, r.value, r.context);
        const noteIndex = world.context.note(
          node.name,
          `accepts ${r.key}=${r.value} stamped ${stamp}; holds ${holds}`,
        );
        world.accepted.set(`${r.key}=${r.value}`, { noteIndex, timeMs: world.sim.nowMs, stamp });
        node.send(m.from, { type: 'ack', id: r.id } satisfies Reply);
        return;
      }
      case 'read':
        node.send(m.from, { type: 'value', id: r.id, ...store.read(r.key) } satisfies Reply);
        return;
      case 'sync':
        try {
          store.merge(r.snapshot);
        } catch (error) {
          // An HLC refuses stamps further ahead than maxOffsetMs: the replica drops the message.
          if (!isClockOffsetError(error)) throw error;
          if (!rejected) world.context.note(node.name, `rejects anti-entropy: ${error.message}`);
          rejected = true;
        }
        return;
    }
  });
  const antiEntropy = (): void => {
    node.send(peer, { type: 'sync', snapshot: store.snapshot() } satisfies Request);
    node.runtime.timers.setTimer(antiEntropyMs, antiEntropy);
  };
  node.runtime.timers.setTimer(antiEntropyMs, antiEntropy);
}

/** A client: awaits each reply (the network loses nothing here, so there is no timeout). */
class Client {
  private readonly pending = new Map<number, (reply: Reply) => void>();
  private nextId = 1;

  constructor(
    readonly world: World,
    readonly node: Node,
  ) {
    node.onMessage((m: Envelope<Reply>) => this.pending.get(m.payload.id)?.(m.payload));
  }

  private request(to: ReplicaName, build: (id: number) => Request): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, (reply) => {
        this.pending.delete(id);
        resolve(reply);
      });
      this.node.send(to, build(id));
    });
  }

  async write(
    to: ReplicaName,
    key: string,
    value: string,
    observed: readonly string[],
    context: DvvContext,
  ): Promise<void> {
    await this.request(to, (id) => ({ type: 'write', id, key, value, context }));
    const accepted = this.world.accepted.get(`${key}=${value}`);
    if (accepted === undefined) return;
    this.world.acked.push({
      client: this.node.name,
      key,
      value,
      replica: to,
      observed,
      ...accepted,
    });
  }

  async read(to: ReplicaName, key: string): Promise<ReadResult> {
    const reply = await this.request(to, (id) => ({ type: 'read', id, key }));
    return reply.type === 'value' ? reply : { lww: undefined, siblings: [], context: {} };
  }
}

/**
 * Client c1, per causal key: writes `i.1` at one replica, reads the key at the other until it
 * sees `i.1`, then writes `i.2` there with the context it read. `i.1` happened before `i.2`.
 */
async function causalClient(client: Client, random: Random): Promise<void> {
  const { runtime } = client.node;
  for (let i = 0; i < CAUSAL_KEYS; i++) {
    const key = `k${i}`;
    const [first, second]: [ReplicaName, ReplicaName] =
      random.next() < 0.5 ? ['a', 'b'] : ['b', 'a'];
    const v1 = `${i}.1`;
    await client.write(first, key, v1, [], {});
    let seen: ReadResult | undefined;
    for (let poll = 0; poll < MAX_POLLS && seen === undefined; poll++) {
      const r = await client.read(second, key);
      if (r.lww === v1) seen = r;
      else await runtime.timers.sleep(POLL_MS);
    }
    if (seen === undefined) continue;
    const observed = [v1, ...seen.siblings, seen.lww ?? v1];
    client.world.reads.set(key, `${client.node.name} read ${key} at ${second} → ${v1}`);
    client.world.context.note(client.node.name, `read ${key} at ${second} → ${v1}; writes ${i}.2`);
    await client.write(second, key, `${i}.2`, [...new Set(observed)], seen.context);
    await runtime.timers.sleep(random.int(20));
  }
}

/** Clients c2 and c3 write each concurrent key at the same moment, at replicas a and b. */
async function concurrentClient(client: Client, replica: ReplicaName): Promise<void> {
  for (let j = 0; j < CONCURRENT_KEYS; j++) {
    await client.node.runtime.timers.sleep(j === 0 ? 30 : 150);
    await client.write(replica, `x${j}`, `x${j}.${replica}`, [], {});
  }
}

/** The values each acknowledged write causally followed (transitively), per key. */
function ancestors(acked: readonly AckedWrite[]): Map<string, Set<string>> {
  const byValue = new Map(acked.map((w) => [`${w.key}=${w.value}`, w]));
  const out = new Map<string, Set<string>>();
  const visit = (w: AckedWrite): Set<string> => {
    const id = `${w.key}=${w.value}`;
    const known = out.get(id);
    if (known !== undefined) return known;
    const set = new Set<string>();
    out.set(id, set);
    for (const v of w.observed) {
      if (v === w.value) continue;
      set.add(v);
      const parent = byValue.get(`${w.key}=${v}`);
      if (parent !== undefined) for (const a of visit(parent)) set.add(a);
    }
    return set;
  };
  for (const w of acked) visit(w);
  return out;
}

/** A violation found by the checker, with the write it concerns. */
interface Finding {
  readonly write: AckedWrite;
  readonly replica: ReplicaName;
  readonly kind: 'lost-causal' | 'lost-sibling' | 'stale-sibling';
  readonly held: readonly string[];
}

/**
 * The checker: after anti-entropy, no replica may hold (as its LWW value, or as a sibling) a
 * value that an acknowledged write causally followed; and the multi-value store must keep every
 * acknowledged write no other acknowledged write followed.
 */
function check(world: World, stores: Record<ReplicaName, ReplicaStore>): Finding[] {
  const anc = ancestors(world.acked);
  const findings: Finding[] = [];
  const keys = [...new Set(world.acked.map((w) => w.key))];
  for (const replica of REPLICAS) {
    for (const key of keys) {
      const writes = world.acked.filter((w) => w.key === key);
      const lww = stores[replica].read(key).lww;
      const last = writes[writes.length - 1];
      if (lww === undefined && last !== undefined)
        findings.push({ write: last, replica, kind: 'lost-sibling', held: [] });
      for (const w of writes) {
        const before = anc.get(`${key}=${w.value}`) ?? new Set<string>();
        if (lww !== undefined && before.has(lww))
          findings.push({ write: w, replica, kind: 'lost-causal', held: [lww] });
      }
      const siblings = stores[replica].siblings(key);
      if (siblings === undefined) continue;
      for (const w of writes) {
        const before = anc.get(`${key}=${w.value}`) ?? new Set<string>();
        const superseded = writes.some((o) => anc.get(`${key}=${o.value}`)?.has(w.value));
        if (!superseded && !siblings.includes(w.value))
          findings.push({ write: w, replica, kind: 'lost-sibling', held: siblings });
        if (siblings.some((s) => before.has(s)))
          findings.push({ write: w, replica, kind: 'stale-sibling', held: siblings });
      }
    }
  }
  return findings;
}

function evidenceOf(world: World, finding: Finding): Evidence {
  const w = finding.write;
  const earlier = world.acked.filter(
    (o) => o.key === w.key && (w.observed.includes(o.value) || o.value === finding.held[0]),
  );
  const describe = (o: AckedWrite): string =>
    `${o.client} write ${o.key}=${o.value} at ${o.replica}, stamped ${o.stamp}`;
  const read = world.reads.get(w.key);
  const operations = [
    ...earlier.filter((o) => o !== w).map(describe),
    ...(read === undefined ? [] : [read]),
    `${describe(w)} (acknowledged)`,
  ];
  const what =
    finding.kind === 'lost-causal'
      ? `after anti-entropy replica ${finding.replica} holds ${finding.held[0]} and has lost ${w.value}, although ${w.value} was written after its client saw ${finding.held[0]}`
      : finding.kind === 'lost-sibling'
        ? `replica ${finding.replica} lost the acknowledged write ${w.value}, which no later write had seen`
        : `replica ${finding.replica} still holds a value that ${w.value} superseded`;
  return {
    timeMs: w.timeMs,
    summary: `Key ${w.key}: ${what}.`,
    node: w.replica,
    traceIndex: w.noteIndex,
    operations,
  };
}

async function run(context: LabContext, design: 'wall' | 'hlc'): Promise<VariantOutcome> {
  const skewMs = context.knobs['skewMs'] ?? 100;
  const sim = context.simulation({ network: { latency: { kind: 'uniform', minMs: 1, maxMs: 8 } } });
  const world: World = { sim, context, acked: [], reads: new Map(), accepted: new Map() };
  // Replica b's wall clock runs skewMs behind a's (an NTP offset, a VM that resumed late).
  const a = sim.node('a');
  const b = sim.node('b', { offsetMs: -skewMs });
  const stepBackMs = context.knobs['stepBackMs'] ?? 0;
  // Optionally, an NTP correction steps b's wall clock further back in the middle of the run.
  if (stepBackMs > 0)
    sim.schedule([
      { atMs: STEP_AT_MS, fault: { kind: 'clock-step', node: 'b', deltaMs: -stepBackMs } },
    ]);
  const make = design === 'wall' ? wallClockStore : hlcStore;
  const stores = { a: make(a), b: make(b) };
  startReplica(world, a, 'b', stores.a);
  startReplica(world, b, 'a', stores.b);
  const random = sim.random.fork('lww-workload');
  const c1 = new Client(world, sim.node('c1'));
  const c2 = new Client(world, sim.node('c2'));
  const c3 = new Client(world, sim.node('c3'));
  const errors: unknown[] = [];
  let finished = 0;
  const tasks = [causalClient(c1, random), concurrentClient(c2, 'a'), concurrentClient(c3, 'b')];
  for (const task of tasks)
    task.then(
      () => finished++,
      (e: unknown) => errors.push(e),
    );
  // Run the workload to its end, then let anti-entropy converge: two full rounds after the last write.
  await sim.run({
    untilMs: MAX_WORKLOAD_MS,
    until: () => finished === tasks.length || errors.length > 0,
  });
  if (errors.length > 0) throw errors[0];
  await sim.run({ forMs: 2 * (context.knobs['antiEntropyMs'] ?? 20) + 20 });
  const findings = check(world, stores);
  const lost = new Set(findings.filter((f) => f.kind !== 'stale-sibling').map((f) => f.write));
  let siblingsKept = 0;
  for (let j = 0; j < CONCURRENT_KEYS; j++)
    if ((stores.a.siblings(`x${j}`)?.length ?? 0) > 1) siblingsKept++;
  const first = findings.sort((x, y) => x.write.timeMs - y.write.timeMs)[0];
  return {
    violated: first !== undefined,
    ...(first === undefined ? {} : { evidence: evidenceOf(world, first) }),
    figures: {
      lostWrites: lost.size,
      siblingsKept,
      acknowledgedWrites: world.acked.length,
    },
  };
}

/** The last-write-wins-under-clock-skew scenario. */
export const lwwClockSkew: Scenario = {
  name: 'lww-clock-skew',
  title: 'Last write wins under clock skew',
  problem:
    'Replicas that resolve conflicting writes by the writer’s wall-clock timestamp discard a write ' +
    'that causally followed another whenever it was accepted by a replica whose clock is behind. ' +
    'The client was told its write succeeded; after anti-entropy every replica holds the older value.',
  reference:
    'Kleppmann, Designing Data-Intensive Applications, ch. 8 (“Timestamps for ordering events”); ' +
    'Kulkarni et al., Logical Physical Clocks (OPODIS 2014); Almeida et al., Scalable and Accurate ' +
    'Causality Tracking for Eventually Consistent Stores (DAIS 2014)',
  property:
    'After anti-entropy, no replica holds a value that an acknowledged write causally followed (the ' +
    'checker knows the causal order from what each client had observed), and the multi-value store ' +
    'keeps every acknowledged write that no later write had seen.',
  standIn:
    'The replicas, their request protocol and the full-state anti-entropy are the lab’s small ' +
    'example service; the registers, the HLC and the DVV sets are faultline’s.',
  api: [
    "import { HybridLogicalClock, HlcLwwRegister, dvvUpdateWith, dvvNewWithContext, dvvSync } from 'faultline';",
    'const clock = new HybridLogicalClock({ nodeId: replicaId, runtime });',
    'const register = new HlcLwwRegister<string>(clock);',
    'register.set(value);              // on a client write',
    'register.merge(peerState);        // on anti-entropy: observes the peer’s stamp',
    '// Keep concurrent writes instead: stored = dvvUpdateWith(dvvNewWithContext(readContext, value), stored, replicaId)',
  ].join('\n'),
  figures: [
    {
      name: 'lostWrites',
      label: 'causally later writes lost',
      unit: 'writes',
      better: 'lower',
      key: true,
    },
    {
      name: 'siblingsKept',
      label: 'concurrent writes kept as siblings',
      unit: 'keys',
      better: 'higher',
      key: true,
    },
    { name: 'acknowledgedWrites', label: 'acknowledged writes', unit: 'writes', better: 'none' },
  ],
  knobs: [
    {
      name: 'skewMs',
      label: 'replica b’s clock behind a',
      min: 0,
      max: 400,
      step: 10,
      default: 100,
      unit: 'ms',
    },
    {
      name: 'stepBackMs',
      label: 'b’s clock steps back at 250 ms by',
      min: 0,
      max: 400,
      step: 10,
      default: 0,
      unit: 'ms',
    },
    {
      name: 'antiEntropyMs',
      label: 'anti-entropy interval',
      min: 5,
      max: 200,
      step: 5,
      default: 20,
      unit: 'ms',
    },
  ],
  variants: {
    unsafe: {
      summary:
        'Each replica keeps a WallClockLwwRegister per key: a write is stamped with the accepting replica’s wall clock and the larger stamp wins.',
      run: (context) => run(context, 'wall'),
    },
    safe: {
      summary:
        'Each replica keeps an HlcLwwRegister per key on one hybrid logical clock (merging observes the peer’s stamps), and a DVV set per key that keeps concurrent writes as siblings.',
      run: (context) => run(context, 'hlc'),
    },
  },
};

/**
 * Raft in the simulator: every member is a driver around a {@link RaftNode} on a simulated node
 * (ticks from the node's timers, messages over the simulated network, hard state and log on the
 * node's disk, fsync before sending), serving the replicated key-value store to clients that
 * record a Jepsen-style history. A {@link RaftSafetyChecker} watches every step from outside.
 *
 * @module
 */
import { SeededRandom } from '../../core/random.js';
import { integerIn, positive, rangeError } from '../../core/validate.js';
import { randomFaultSchedule } from '../../sim/faults.js';
import type { ScheduledFault } from '../../sim/faults.js';
import type { OpEvent } from '../../sim/history.js';
import type { NetworkOptions } from '../../sim/network.js';
import type { Envelope, Node } from '../../sim/node.js';
import { Simulation } from '../../sim/simulation.js';
import { RaftSafetyChecker } from './invariants.js';
import { startNemesis } from './nemesis.js';
import type { NemesisAction } from './nemesis.js';
import type { RaftViolation } from './invariants.js';
import { KvStateMachine, isKvCommand } from './kv.js';
import type { KvCommand, KvImage, KvOp, KvResult } from './kv.js';
import type { RaftOptions } from './options.js';
import { RaftNode } from './raft.js';
import type { Entry, HardState, RaftMessage, Ready, Snapshot } from './types.js';

/**
 * The variants `faultline sim raft` runs: `correct`, then deliberately broken ones the checkers
 * must catch.
 * - `commit-by-counting`: commits old-term entries by counting replicas (Figure 8).
 * - `forget-vote`: persists the term but forgets the vote on restart (votes twice in a term).
 * - `follower-reads`: any member answers reads from its own state, without ReadIndex.
 * - `leader-local-reads`: a member that believes it leads answers reads at once, without
 *   confirming its leadership (a deposed leader serves stale reads).
 * - `ack-before-sync`: sends (acknowledges) before its writes are durable; crashes lose them.
 * - `lease-reads`: ReadIndex by leader lease; unsafe when a paused leader's lease outlives it.
 */
export const raftVariants = [
  'correct',
  'commit-by-counting',
  'forget-vote',
  'follower-reads',
  'leader-local-reads',
  'ack-before-sync',
  'lease-reads',
] as const;

/** One of {@link raftVariants}. */
export type RaftVariant = (typeof raftVariants)[number];

/** The messages of the simulated service. */
type Wire =
  | { readonly kind: 'raft'; readonly msg: RaftMessage }
  | {
      readonly kind: 'req';
      readonly id: number;
      readonly client: string;
      readonly seq: number;
      readonly op: KvOp;
    }
  | {
      readonly kind: 'resp';
      readonly id: number;
      readonly ok: boolean;
      readonly result?: KvResult;
      readonly leader?: string | null;
    };

/** Options of {@link runRaftSim}. */
export interface RaftSimOptions {
  readonly seed: number;
  /** Default `correct`. */
  readonly variant?: RaftVariant;
  /** Members (default 5, 1–9). */
  readonly nodes?: number;
  /** Client processes (default 4). */
  readonly clients?: number;
  /** Virtual ms during which clients start operations (default 2,000). */
  readonly durationMs?: number;
  /**
   * `nemesis` (default): the Raft-aware nemesis ({@link startNemesis}) with a subset of its
   * actions drawn from the seed; `random`: the simulator's generic swarm-testing schedule;
   * `none`; or exactly these faults.
   */
  readonly faults?: 'none' | 'random' | 'nemesis' | readonly ScheduledFault[];
  /** Ms per tick (default 10). */
  readonly tickMs?: number;
  /**
   * Raft options for every member (ids, random and storage are the driver's). Pre-vote and the
   * entries per message are drawn from the seed unless given here.
   */
  readonly raft?: Partial<Omit<RaftOptions, 'id' | 'voters' | 'random' | 'storage'>>;
  /** Snapshot every N applied entries (default: drawn from the seed; 0: never compact). */
  readonly compactEvery?: number;
  /** A simulation without nodes to run in (the lab passes its traced one). */
  readonly simulation?: Simulation;
  /** Hears every safety violation as the checker finds it. */
  readonly onViolation?: (violation: RaftViolation) => void;
  /** Records a domain event on a node's lane (the lab's `note`). */
  readonly note?: (node: string, text: string) => void;
  /** The nemesis actions to draw from (default: a random subset of all of them per seed). */
  readonly nemesis?: readonly NemesisAction[];
  /**
   * Members draw their election timeouts at random (default true). False gives every member the
   * same timeout (`electionTicks`): the split-vote livelock randomization exists to prevent.
   */
  readonly randomizedTimeouts?: boolean;
  /** Network behaviour (default: 1–10 ms, with duplication and reordering drawn from the seed). */
  readonly network?: NetworkOptions;
  /** Fsync latency in ms (default: drawn from the seed, 1, 5 or 20). */
  readonly syncLatencyMs?: number;
}

/** What one run produced. */
export interface RaftSimResult {
  readonly violations: readonly RaftViolation[];
  readonly violationCount: number;
  /** The client history, keyed, ready for `check(history, raftKvModel())`. */
  readonly history: readonly (OpEvent & { readonly key?: string })[];
  /** The same history with virtual times (for the lab's evidence). */
  readonly rawHistory: readonly OpEvent[];
  /** The most members acting as leader at the same moment (by their own account). */
  readonly maxLeadersAtOnce: number;
  /** Client writes acknowledged. */
  readonly acknowledgedWrites: number;
  /** The highest term any member reached (elections started, roughly). */
  readonly maxTerm: number;
  readonly events: number;
  readonly elections: number;
  readonly committed: number;
  readonly faults: readonly ScheduledFault[];
  readonly simulation: Simulation;
}

interface Shared {
  readonly sim: Simulation;
  readonly variant: RaftVariant;
  readonly members: readonly string[];
  readonly checker: RaftSafetyChecker;
  readonly tickMs: number;
  readonly compactEvery: number;
  readonly raft: RaftSimOptions['raft'];
  readonly note: ((node: string, text: string) => void) | undefined;
  readonly leaderTerms: Set<number>;
  /** The running incarnation of each member. */
  readonly live: Map<string, Member>;
  /** Called when a member sends a granted vote (the nemesis may crash it right then). */
  onVote: ((voter: string) => void) | undefined;
  /** Called when a member becomes leader. */
  onLeader: ((leader: string) => void) | undefined;
  readonly randomizedTimeouts: boolean;
  /** Members acting as leader now, and the most at once. */
  readonly leading: Set<string>;
  maxLeading: number;
  maxTerm: number;
}

const MAX_PENDING = 1000;

/** A Random whose draws are all 0: every election timeout is exactly `electionTicks`. */
const fixedJitter = new (class extends SeededRandom {
  override next(): number {
    return 0;
  }
  override int(): number {
    return 0;
  }
})(0);
const entryKey = (i: number): string => `e:${i}`;

/** A member: the driver that connects a RaftNode to its simulated node. */
class Member {
  private readonly raft: RaftNode;
  private readonly kv = new KvStateMachine();
  private readonly node: Node;
  private readonly s: Shared;
  private readonly gen: number;
  private diskLast = 0;
  private busy = false;
  private lastLeaderTerm = -1;
  private lastCommit = 0;
  private readCounter = 0;
  private readonly writes = new Map<string, { to: string; id: number }>();
  private readonly reads = new Map<string, { to: string; id: number; key: string }>();
  private waiting: { index: number; to: string; id: number; key: string }[] = [];

  constructor(shared: Shared, node: Node) {
    this.s = shared;
    this.node = node;
    this.gen = node.generation;
    const storage = this.load();
    this.raft = new RaftNode({
      electionTicks: 10,
      ...shared.raft,
      ...(shared.variant === 'lease-reads' ? { readOnly: 'lease' } : {}),
      ...(shared.variant === 'commit-by-counting' ? { unsafe: { commitByCounting: true } } : {}),
      id: node.name,
      voters: shared.members,
      random: shared.randomizedTimeouts ? node.runtime.random.fork('raft') : fixedJitter,
      storage,
    });
    shared.checker.reset(node.name, storage.snapshot?.index ?? 0, storage.entries);
    shared.live.set(node.name, this);
    shared.leading.delete(node.name);
    this.lastCommit = this.raft.commitIndex;
    node.transport.onMessage((m) => this.receive(m as Envelope<Wire>));
    this.scheduleTick();
  }

  /** This incarnation's term when it leads and runs, else undefined. */
  leadingTerm(): number | undefined {
    if (!this.node.isCurrent(this.gen) || this.raft.role !== 'leader') return undefined;
    return this.raft.term;
  }

  private load(): { hardState?: HardState; snapshot?: Snapshot; entries: Entry[] } {
    const disk = this.node.disk;
    const snapshot = disk.read('snap') as Snapshot | undefined;
    let hardState = disk.read('hs') as HardState | undefined;
    // The bug of `forget-vote`: the term survives a restart, the vote does not.
    if (hardState !== undefined && this.s.variant === 'forget-vote')
      hardState = { ...hardState, vote: null };
    const entries: Entry[] = [];
    for (let i = (snapshot?.index ?? 0) + 1; disk.has(entryKey(i)); i++)
      entries.push(disk.read(entryKey(i)) as Entry);
    this.diskLast = (snapshot?.index ?? 0) + entries.length;
    if (snapshot !== undefined) this.kv.restore(snapshot.data as KvImage);
    return {
      ...(hardState === undefined ? {} : { hardState }),
      ...(snapshot === undefined ? {} : { snapshot }),
      entries,
    };
  }

  private scheduleTick(): void {
    this.node.runtime.timers.setTimer(this.s.tickMs, () => {
      this.raft.tick();
      this.after();
      this.scheduleTick();
    });
  }

  private receive(m: Envelope<Wire>): void {
    const wire = m.payload;
    if (wire.kind === 'raft') this.raft.step(wire.msg);
    else if (wire.kind === 'req') this.request(m.from, wire);
    this.after();
  }

  /** Observes the member for the checker, then drives its Ready loop. */
  private after(): void {
    this.observe();
    if (!this.busy) this.pump().catch((error: unknown) => this.s.sim.fail(error));
  }

  private observe(): void {
    const r = this.raft;
    const name = this.node.name;
    if (r.term > this.s.maxTerm) this.s.maxTerm = r.term;
    if (r.role === 'leader' && this.node.isCurrent(this.gen)) {
      this.s.leading.add(name);
      this.s.maxLeading = Math.max(this.s.maxLeading, this.s.leading.size);
    } else this.s.leading.delete(name);
    if (r.role === 'leader' && r.term !== this.lastLeaderTerm) {
      this.lastLeaderTerm = r.term;
      this.s.leaderTerms.add(r.term);
      this.s.checker.leader(name, r.term, r);
      this.s.note?.(name, `leads term ${r.term}`);
      this.s.onLeader?.(name);
    }
    if (r.commitIndex !== this.lastCommit) {
      this.lastCommit = r.commitIndex;
      this.s.checker.commit(name, this.gen, r.commitIndex, r.term, r, {
        quorum: Math.floor(this.s.members.length / 2) + 1,
        copies: (index, term) => this.durableCopies(index, term),
      });
    }
  }

  private durableCopies(index: number, term: number): number {
    let copies = 0;
    for (const name of this.s.members) {
      const disk = this.s.sim.getNode(name).disk;
      const snap = disk.readDurable('snap') as Snapshot | undefined;
      const entry = disk.readDurable(entryKey(index)) as Entry | undefined;
      if ((snap !== undefined && snap.index >= index) || entry?.term === term) copies++;
    }
    return copies;
  }

  private async pump(): Promise<void> {
    while (!this.busy && this.raft.hasReady()) {
      const rd = this.raft.ready();
      const durable = this.persist(rd);
      if (durable && this.s.variant !== 'ack-before-sync') {
        this.busy = true;
        await this.node.disk.sync();
        this.busy = false;
        if (!this.node.isCurrent(this.gen)) return;
      } else if (durable) {
        // The bug of `ack-before-sync`: the messages go out while the writes are volatile.
        void this.node.disk.sync();
      }
      for (const msg of rd.messages) {
        if (msg.type === 'vote-resp' && !msg.preVote && !msg.reject) {
          this.s.checker.voted(msg.from, msg.term, msg.to);
          this.s.onVote?.(msg.from);
        }
        this.node.transport.send(msg.to, { kind: 'raft', msg } satisfies Wire);
      }
      this.apply(rd);
      this.raft.advance(rd);
      this.maybeCompact();
      this.observe();
    }
  }

  /** Writes what `rd` asks to persist; returns true when there was anything. */
  private persist(rd: Ready): boolean {
    const disk = this.node.disk;
    const name = this.node.name;
    if (rd.snapshot !== undefined) {
      for (let i = this.firstOnDisk(); i <= this.diskLast; i++) disk.delete(entryKey(i));
      disk.write('snap', rd.snapshot);
      this.diskLast = rd.snapshot.index;
      this.s.checker.reset(name, rd.snapshot.index, []);
    }
    const first = rd.entries[0];
    if (first !== undefined) {
      const last = first.index + rd.entries.length - 1;
      for (let i = last + 1; i <= this.diskLast; i++) disk.delete(entryKey(i));
      for (const e of rd.entries) disk.write(entryKey(e.index), e);
      this.diskLast = last;
      this.s.checker.appended(name, rd.entries);
    }
    if (rd.hardState !== undefined) disk.write('hs', rd.hardState);
    return rd.snapshot !== undefined || first !== undefined || rd.hardState !== undefined;
  }

  private firstOnDisk(): number {
    const snap = this.node.disk.read('snap') as Snapshot | undefined;
    return (snap?.index ?? 0) + 1;
  }

  private apply(rd: Ready): void {
    if (rd.snapshot !== undefined) this.kv.restore(rd.snapshot.data as KvImage);
    for (const e of rd.committedEntries) {
      this.s.checker.applied(this.node.name, e);
      if (e.kind !== 'normal' || !isKvCommand(e.data)) continue;
      const result = this.kv.apply(e.data);
      const key = `${e.data.client}:${e.data.seq}`;
      const waiter = this.writes.get(key);
      if (result !== undefined && waiter !== undefined) {
        this.writes.delete(key);
        this.reply(waiter.to, waiter.id, result);
      }
    }
    for (const rs of rd.readStates) {
      const read = this.reads.get(rs.context);
      if (read === undefined) continue;
      this.reads.delete(rs.context);
      this.waiting.push({ index: rs.index, ...read });
    }
    const applied = rd.committedEntries.at(-1)?.index ?? this.raft.appliedIndex;
    const ready = this.waiting.filter((w) => w.index <= Math.max(applied, this.raft.appliedIndex));
    this.waiting = this.waiting.filter((w) => !ready.includes(w));
    for (const w of ready) this.reply(w.to, w.id, { value: this.kv.get(w.key) });
  }

  private maybeCompact(): void {
    const every = this.s.compactEvery;
    if (every === 0 || this.raft.appliedIndex - this.raft.snapshotIndex < every) return;
    const from = this.firstOnDisk();
    const snap = this.raft.compact(this.kv.image());
    this.node.disk.write('snap', snap);
    for (let i = from; i <= snap.index; i++) this.node.disk.delete(entryKey(i));
  }

  private reply(to: string, id: number, result: KvResult): void {
    this.node.transport.send(to, { kind: 'resp', id, ok: true, result } satisfies Wire);
  }

  private refuse(to: string, id: number): void {
    this.node.transport.send(to, {
      kind: 'resp',
      id,
      ok: false,
      leader: this.raft.leader,
    } satisfies Wire);
  }

  private request(from: string, req: Extract<Wire, { kind: 'req' }>): void {
    const { op } = req;
    if (op.f === 'get') {
      this.read(from, req.id, op.key);
      return;
    }
    const command: KvCommand = { client: req.client, seq: req.seq, op };
    if (this.writes.size >= MAX_PENDING) return this.refuse(from, req.id);
    const result = this.raft.propose(command);
    if (!result.ok) return this.refuse(from, req.id);
    this.writes.set(`${req.client}:${req.seq}`, { to: from, id: req.id });
  }

  private read(from: string, id: number, key: string): void {
    const v = this.s.variant;
    // The bugs of `follower-reads` and `leader-local-reads`: answer from local state at once.
    if (v === 'follower-reads' || (v === 'leader-local-reads' && this.raft.role === 'leader')) {
      this.reply(from, id, { value: this.kv.get(key) });
      return;
    }
    if (v === 'leader-local-reads' || this.reads.size >= MAX_PENDING) return this.refuse(from, id);
    const context = `${this.node.name}#${this.gen}:${++this.readCounter}`;
    if (!this.raft.readIndex(context)) return this.refuse(from, id);
    this.reads.set(context, { to: from, id, key });
  }
}

interface ClientContext {
  readonly sim: Simulation;
  readonly node: Node;
  readonly members: readonly string[];
  readonly keys: Map<number, string>;
  readonly durationMs: number;
}

const OP_TIMEOUT_MS = 500;
const ATTEMPT_TIMEOUT_MS = 100;
const KEYS = ['x', 'y', 'z'];

function drawOp(node: Node, seq: number, known: Map<string, string>): KvOp {
  const { random } = node.runtime;
  const key = random.pick(KEYS);
  const value = `${node.name}.${seq}`;
  switch (random.int(4)) {
    case 0:
      return { f: 'get', key };
    case 1:
      return { f: 'put', key, value };
    case 2:
      return { f: 'append', key, value: `${value};` };
    default:
      return { f: 'cas', key, from: known.get(key) ?? '', to: value };
  }
}

function historyValue(op: KvOp): unknown {
  switch (op.f) {
    case 'get':
      return null;
    case 'put':
    case 'append':
      return op.value;
    case 'cas':
      return [op.from, op.to];
  }
}

/** One client: one operation at a time, retried across members until it answers or times out. */
async function client(c: ClientContext): Promise<void> {
  const { node, sim } = c;
  const { clock, timers, random } = node.runtime;
  const replies = new Map<number, (w: Extract<Wire, { kind: 'resp' }>) => void>();
  node.transport.onMessage((m) => {
    const w = (m as Envelope<Wire>).payload;
    if (w.kind === 'resp') replies.get(w.id)?.(w);
  });
  const known = new Map<string, string>();
  let target = random.pick(c.members);
  let seq = 0;
  const attempt = (
    id: number,
    op: KvOp,
    s: number,
    to: string,
  ): Promise<Extract<Wire, { kind: 'resp' }> | undefined> =>
    new Promise((resolve) => {
      const cancel = timers.setTimer(ATTEMPT_TIMEOUT_MS, () => {
        replies.delete(id);
        resolve(undefined);
      });
      replies.set(id, (w) => {
        cancel();
        replies.delete(id);
        resolve(w);
      });
      node.transport.send(to, { kind: 'req', id, client: node.name, seq: s, op } satisfies Wire);
    });
  while (clock.monotonicMs() < c.durationMs) {
    seq++;
    const op = drawOp(node, seq, known);
    const pending = sim.history.invoke(node.name, op.f, historyValue(op));
    c.keys.set(pending.invokeIndex, op.key);
    const deadline = clock.monotonicMs() + OP_TIMEOUT_MS;
    let answer: KvResult | undefined;
    // Reads are spread over the members (each must make them linearizable); writes go to the
    // member believed to lead, and follow its hints.
    let to = op.f === 'get' ? random.pick(c.members) : target;
    while (answer === undefined && clock.monotonicMs() < deadline) {
      const w = await attempt(seq, op, seq, to);
      if (w?.ok === true && w.result !== undefined) answer = w.result;
      else {
        to = w?.leader ?? random.pick(c.members);
        if (op.f !== 'get') target = to;
        await timers.sleep(5);
      }
    }
    if (answer === undefined) sim.history.complete(pending, 'info', historyValue(op), 'timeout');
    else {
      known.set(op.key, answer.value);
      if (op.f === 'get') sim.history.complete(pending, 'ok', answer.value);
      else if (op.f === 'cas')
        sim.history.complete(pending, answer.swapped === true ? 'ok' : 'fail', historyValue(op));
      else sim.history.complete(pending, 'ok', historyValue(op));
    }
    await timers.sleep(1 + random.int(10));
  }
}

/**
 * The simulated history with each operation's key (from `keys`: invoke index → key), as the
 * checker's per-key models read it.
 */
export function keyedHistory(ops: readonly OpEvent[], keys: Map<number, string>): OpEvent[] {
  const open = new Map<string, string>();
  const out: OpEvent[] = [];
  for (const e of ops) {
    let key: string | undefined;
    if (e.type === 'invoke') {
      key = keys.get(e.index);
      if (key !== undefined) open.set(e.process, key);
    } else key = open.get(e.process);
    const event: OpEvent & { key?: string } = key === undefined ? e : { ...e, key };
    out.push(event);
  }
  return out;
}

/** The configuration a seed draws when the options leave it open (swarm testing of settings). */
interface DrawnConfig {
  readonly syncLatencyMs: number;
  readonly compactEvery: number;
  readonly raft: NonNullable<RaftSimOptions['raft']>;
}

function configFor(options: RaftSimOptions): DrawnConfig {
  const r = new SeededRandom(`raft-config:${options.seed}`);
  const syncLatencyMs = r.pick([1, 5, 20]);
  const compactEvery = r.pick([0, 16, 64]);
  const raft = {
    preVote: r.next() < 0.5,
    maxEntriesPerMessage: r.pick([1, 2, 64]),
    maxInflight: r.pick([1, 4, 64]),
  };
  return {
    syncLatencyMs: options.syncLatencyMs ?? syncLatencyMs,
    compactEvery: integerIn('compactEvery', options.compactEvery ?? compactEvery, 0, 1_000_000),
    raft: { ...raft, ...options.raft },
  };
}

function networkFor(seed: number): NetworkOptions {
  const r = new SeededRandom(`raft-network:${seed}`);
  return {
    latency: { kind: 'uniform', minMs: 1, maxMs: 10 },
    duplicateProbability: r.next() < 0.5 ? Math.round(r.float(0, 0.05) * 1000) / 1000 : 0,
    reorderProbability: r.next() < 0.5 ? Math.round(r.float(0, 0.1) * 1000) / 1000 : 0,
  };
}

function currentLeader(shared: Shared): string | undefined {
  let best: { name: string; term: number } | undefined;
  for (const [name, member] of shared.live) {
    const term = member.leadingTerm();
    if (term !== undefined && (best === undefined || term > best.term)) best = { name, term };
  }
  return best?.name;
}

/**
 * Runs a Raft cluster serving the key-value store for one seed, under the chosen faults, with the
 * safety checker watching every step. Check `history` with `raftKvModel()` for linearizability.
 *
 * @example
 * const run = await runRaftSim({ seed: 7, variant: 'correct' });
 * run.violationCount; // 0
 * check(run.history, raftKvModel()).kind; // 'legal'
 */
export async function runRaftSim(options: RaftSimOptions): Promise<RaftSimResult> {
  const variant = options.variant ?? 'correct';
  if (!raftVariants.includes(variant))
    throw rangeError('variant', raftVariants.join(', '), variant);
  const n = integerIn('nodes', options.nodes ?? 5, 1, 9);
  const clients = integerIn('clients', options.clients ?? 4, 1, 64);
  const durationMs = positive('durationMs', options.durationMs ?? 2000);
  const sim =
    options.simulation ??
    new Simulation({
      seed: options.seed,
      network: options.network ?? networkFor(options.seed),
      trace: false,
    });
  if (sim.nodes.length > 0) throw rangeError('simulation', 'a simulation without nodes', sim.seed);
  const members = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  const checker = new RaftSafetyChecker(() => sim.nowMs, options.onViolation);
  const config = configFor(options);
  const shared: Shared = {
    sim,
    variant,
    members,
    checker,
    tickMs: positive('tickMs', options.tickMs ?? 10),
    compactEvery: config.compactEvery,
    raft: config.raft,
    note: options.note,
    leaderTerms: new Set(),
    live: new Map(),
    onVote: undefined,
    onLeader: undefined,
    randomizedTimeouts: options.randomizedTimeouts ?? true,
    leading: new Set(),
    maxLeading: 0,
    maxTerm: 0,
  };
  const syncLatencyMs = config.syncLatencyMs;
  for (const name of members)
    sim.node(name, { disk: { syncLatencyMs } }).start((node) => void new Member(shared, node));
  const keys = new Map<number, string>();
  for (let i = 1; i <= clients; i++)
    sim.node(`c${i}`).start((node) => client({ sim, node, members, keys, durationMs }));
  const faults =
    options.faults === 'random'
      ? randomFaultSchedule(sim.random.fork('faults'), { nodes: members, durationMs }).faults
      : options.faults === undefined || typeof options.faults === 'string'
        ? []
        : options.faults;
  sim.schedule(faults);
  if (options.faults === undefined || options.faults === 'nemesis') {
    const nemesis = startNemesis({
      ...(options.nemesis === undefined ? {} : { actions: options.nemesis }),
      sim,
      random: sim.random.fork('nemesis'),
      members,
      leader: () => currentLeader(shared),
      untilMs: durationMs,
    });
    shared.onVote = nemesis.onVote;
    shared.onLeader = nemesis.onLeader;
  }
  const events = await sim.run({ untilMs: durationMs + 2 * OP_TIMEOUT_MS });
  return {
    violations: checker.violations,
    violationCount: checker.count,
    history: keyedHistory(sim.history.ops, keys),
    rawHistory: sim.history.ops,
    maxLeadersAtOnce: shared.maxLeading,
    maxTerm: shared.maxTerm,
    acknowledgedWrites: sim.history.ops.filter((e) => e.type === 'ok' && e.f !== 'get').length,
    events,
    elections: shared.leaderTerms.size,
    committed: checker.committedIndex,
    faults,
    simulation: sim,
  };
}

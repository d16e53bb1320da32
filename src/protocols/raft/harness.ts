/**
 * A step-by-step harness for Raft members without a simulator: messages wait in a queue until a
 * test delivers them, members persist to memory, and every delivered message is printed in one
 * line. Behaviour tests and the golden scenario traces (`testdata/*.txt`) drive it; the Figure 8
 * scenario of the lab replays its schedule through it.
 *
 * @module
 */
import { SeededRandom } from '../../core/random.js';
import { rangeError } from '../../core/validate.js';
import type { RaftOptions } from './options.js';
import { RaftNode } from './raft.js';
import type { Entry, HardState, RaftId, RaftMessage, ReadState, Snapshot } from './types.js';

interface Member {
  raft: RaftNode;
  hardState: HardState | undefined;
  snapshot: Snapshot | undefined;
  entries: Entry[];
  applied: Entry[];
  reads: ReadState[];
  down: boolean;
}

/** Options of a {@link RaftHarness}. */
export interface RaftHarnessOptions {
  /** The members (all voters). */
  readonly ids: readonly RaftId[];
  /** Seed of the election jitter (default 1). */
  readonly seed?: number;
  /** Options every member gets (ids, voters and random are the harness's). */
  readonly options?: Omit<RaftOptions, 'id' | 'voters' | 'random' | 'storage'>;
}

/** One short line per message, for traces. */
export function describeMessage(m: RaftMessage): string {
  const head = `${m.from}->${m.to} ${m.type} t${m.term}`;
  switch (m.type) {
    case 'vote':
      return `${head}${m.preVote ? ' pre' : ''} last=${m.lastIndex}/t${m.lastTerm}${m.transfer ? ' transfer' : ''}`;
    case 'vote-resp':
      return `${head}${m.preVote ? ' pre' : ''} ${m.reject ? 'rejected' : 'granted'}`;
    case 'append': {
      const entries = m.entries.map((e) => `${e.index}/t${e.term}${entryData(e)}`).join(' ');
      return `${head} prev=${m.index}/t${m.logTerm} commit=${m.commit} [${entries}]`;
    }
    case 'append-resp':
      return `${head} ${m.reject ? `rejected ${m.index} hint=${m.hint}` : `index=${m.index}`}`;
    case 'heartbeat':
      return `${head} commit=${m.commit}${m.context === null ? '' : ` ctx=${m.context}`}`;
    case 'heartbeat-resp':
      return `${head}${m.context === null ? '' : ` ctx=${m.context}`}`;
    case 'snapshot':
      return `${head} index=${m.snapshot.index}/t${m.snapshot.term}`;
    case 'timeout-now':
      return head;
    case 'read-index':
      return `${head} ctx=${m.context}`;
    case 'read-index-resp':
      return `${head} ctx=${m.context} ${m.reject ? 'rejected' : `index=${m.index}`}`;
  }
}

function entryData(e: Entry): string {
  if (e.kind === 'conf') return `:${e.change.kind}(${e.change.id})`;
  return e.data === null ? '' : `:${JSON.stringify(e.data)}`;
}

/**
 * A cluster of members connected by a queue the test controls.
 *
 * @example
 * const h = new RaftHarness({ ids: ['a', 'b', 'c'] });
 * h.campaign('a');
 * h.stabilize();
 * h.leader(); // 'a'
 */
export class RaftHarness {
  private readonly members = new Map<RaftId, Member>();
  private readonly cuts = new Set<string>();
  private readonly queue: RaftMessage[] = [];
  private readonly options: RaftHarnessOptions;
  private readonly random: SeededRandom;
  /** Every line printed so far (deliveries, drops, notes). */
  readonly lines: string[] = [];

  constructor(options: RaftHarnessOptions) {
    this.options = options;
    this.random = new SeededRandom(options.seed ?? 1);
    for (const id of options.ids) {
      this.members.set(id, {
        raft: this.build(id, {}),
        hardState: undefined,
        snapshot: undefined,
        entries: [],
        applied: [],
        reads: [],
        down: false,
      });
    }
  }

  private build(id: RaftId, storage: RaftOptions['storage']): RaftNode {
    return new RaftNode({
      ...this.options.options,
      id,
      voters: this.options.ids,
      random: this.random.fork(`${id}`),
      ...(storage === undefined ? {} : { storage }),
    });
  }

  /** The member `id`'s state machine. */
  node(id: RaftId): RaftNode {
    return this.member(id).raft;
  }

  /** Entries `id` applied, in order. */
  applied(id: RaftId): readonly Entry[] {
    return this.member(id).applied;
  }

  /** Reads that became safe on `id`, in order. */
  readStates(id: RaftId): readonly ReadState[] {
    return this.member(id).reads;
  }

  /** The members' ids. */
  get ids(): readonly RaftId[] {
    return this.options.ids;
  }

  /** Messages waiting to be delivered. */
  get pending(): readonly RaftMessage[] {
    return this.queue;
  }

  private member(id: RaftId): Member {
    const m = this.members.get(id);
    if (m === undefined)
      throw rangeError('id', `one of ${[...this.members.keys()].join(', ')}`, id);
    return m;
  }

  /** The one member that leads in the highest term, if any. */
  leader(): RaftId | undefined {
    let best: RaftNode | undefined;
    for (const m of this.members.values())
      if (!m.down && m.raft.role === 'leader' && (best === undefined || m.raft.term > best.term))
        best = m.raft;
    return best?.id;
  }

  /** `id` starts an election. */
  campaign(id: RaftId): void {
    this.node(id).campaign();
    this.process(id);
  }

  /** `id` proposes `data`; returns the log index or the reason it was refused. */
  propose(id: RaftId, data: unknown): number | string {
    const result = this.node(id).propose(data);
    this.process(id);
    return result.ok ? result.index : result.reason;
  }

  /** Ticks `id` `n` times. */
  tick(id: RaftId, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.node(id).tick();
      this.process(id);
    }
  }

  /** Cuts the link between `a` and `b` both ways (messages on it are dropped when delivered). */
  cut(a: RaftId, b: RaftId): void {
    this.cuts.add(`${a}|${b}`);
    this.cuts.add(`${b}|${a}`);
  }

  /** Cuts `id` from every other member. */
  isolate(id: RaftId): void {
    for (const other of this.members.keys()) if (other !== id) this.cut(id, other);
  }

  /** Restores every link. */
  heal(): void {
    this.cuts.clear();
  }

  /** Crashes `id`: its volatile state and undelivered messages to it are gone. */
  crash(id: RaftId): void {
    this.member(id).down = true;
  }

  /** Restarts a crashed `id` from what it persisted. */
  restart(id: RaftId): void {
    const m = this.member(id);
    m.raft = this.build(id, {
      ...(m.hardState === undefined ? {} : { hardState: m.hardState }),
      ...(m.snapshot === undefined ? {} : { snapshot: m.snapshot }),
      entries: m.entries,
    });
    m.down = false;
  }

  /** Drops every queued message (a lossy moment). */
  dropAll(): void {
    for (const msg of this.queue.splice(0)) this.lines.push(`dropped ${describeMessage(msg)}`);
  }

  /**
   * Delivers the queued messages (only those matching `filter`, if given) in order, once; answers
   * they cause wait for the next delivery. Returns how many were delivered.
   */
  deliver(filter?: (m: RaftMessage) => boolean): number {
    const now = filter === undefined ? this.queue.splice(0) : this.take(filter);
    let n = 0;
    for (const msg of now) {
      const to = this.members.get(msg.to);
      if (to === undefined || to.down || this.cuts.has(`${msg.from}|${msg.to}`)) {
        this.lines.push(`dropped ${describeMessage(msg)}`);
        continue;
      }
      this.lines.push(describeMessage(msg));
      to.raft.step(msg);
      this.process(msg.to);
      n++;
    }
    return n;
  }

  private take(filter: (m: RaftMessage) => boolean): RaftMessage[] {
    const out: RaftMessage[] = [];
    for (let i = 0; i < this.queue.length;) {
      const m = this.queue[i] as RaftMessage;
      if (filter(m)) {
        out.push(m);
        this.queue.splice(i, 1);
      } else i++;
    }
    return out;
  }

  /** Delivers until no message is queued (at most `maxRounds` rounds). */
  stabilize(maxRounds = 1000): void {
    for (let i = 0; i < maxRounds && this.queue.length > 0; i++) this.deliver();
  }

  /** Persists, sends and applies what `id` has ready. */
  process(id: RaftId): void {
    const m = this.member(id);
    if (m.down) return;
    while (m.raft.hasReady()) {
      const rd = m.raft.ready();
      if (rd.hardState !== undefined) m.hardState = rd.hardState;
      if (rd.snapshot !== undefined) {
        m.snapshot = rd.snapshot;
        m.entries = [];
      }
      const first = rd.entries[0];
      if (first !== undefined) {
        m.entries = m.entries.filter((e) => e.index < first.index).concat(rd.entries);
      }
      this.queue.push(...rd.messages);
      m.applied.push(...rd.committedEntries);
      m.reads.push(...rd.readStates);
      m.raft.advance(rd);
    }
  }

  /** A one-line summary of every member: role, term, last index, commit. */
  summary(): string[] {
    const out: string[] = [];
    for (const [id, m] of this.members) {
      const r = m.raft;
      const log = m.raft.lastIndex === 0 ? '' : ` log=${this.logText(r)}`;
      out.push(
        `${id}: ${m.down ? 'down' : r.role} term=${r.term} last=${r.lastIndex} commit=${r.commitIndex}${log}`,
      );
    }
    return out;
  }

  private logText(r: RaftNode): string {
    const terms: string[] = [];
    for (let i = 1; i <= r.lastIndex; i++) terms.push(String(r.entryTerm(i) ?? '?'));
    return terms.join(',');
  }
}

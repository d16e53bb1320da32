/**
 * Raft as a pure state machine (Ongaro & Ousterhout, “In Search of an Understandable Consensus
 * Algorithm”, and Ongaro's thesis), in the style of etcd-io/raft: no I/O, timers, promises or
 * globals. A driver calls {@link RaftNode.tick} at a fixed interval, hands it incoming messages
 * with {@link RaftNode.step}, and acts on {@link RaftNode.ready} batches.
 *
 * @module
 */
import { assert } from '../../core/assert.js';
import { rangeError } from '../../core/validate.js';
import { RaftLog } from './log.js';
import type { RaftOptions, ResolvedRaftOptions } from './options.js';
import { resolveOptions } from './options.js';
import { Progress } from './progress.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  ProposeResult,
  RaftId,
  RaftMessage,
  ReadState,
  Ready,
  Role,
  Snapshot,
  SoftState,
} from './types.js';

type Distribute<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A message before the header (from, to, term) is filled in. */
type Body = Distribute<RaftMessage, 'from' | 'to' | 'term'>;

interface PendingRead {
  readonly context: string;
  readonly index: number;
  readonly from: RaftId;
  readonly acks: Set<RaftId>;
}

/** What {@link RaftNode.status} reports. */
export interface RaftStatus {
  readonly id: RaftId;
  readonly term: number;
  readonly vote: RaftId | null;
  readonly role: Role;
  readonly leader: RaftId | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly conf: ConfState;
  /** The leader's replication progress per member (empty elsewhere). */
  readonly progress: Readonly<
    Record<RaftId, { readonly match: number; readonly next: number; readonly state: string }>
  >;
}

/**
 * One Raft member.
 *
 * @example
 * const node = new RaftNode({ id: 'a', voters: ['a', 'b', 'c'], random: runtime.random });
 * node.tick();                       // every 10 ms
 * node.step(message);                // for every message received
 * if (node.hasReady()) {
 *   const rd = node.ready();
 *   await persist(rd.hardState, rd.entries, rd.snapshot); // and fsync
 *   send(rd.messages);
 *   apply(rd.committedEntries);
 *   node.advance(rd);
 * }
 */
export class RaftNode {
  /** This member's id. */
  readonly id: RaftId;
  private readonly opts: ResolvedRaftOptions;
  private readonly log: RaftLog;
  private currentTerm = 0;
  private votedFor: RaftId | null = null;
  private leaderId: RaftId | null = null;
  private currentRole: Role = 'follower';
  private voters: Set<RaftId>;
  private learners: Set<RaftId>;
  private readonly progress = new Map<RaftId, Progress>();
  private readonly votes = new Map<RaftId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedTimeout = 0;
  private msgs: RaftMessage[] = [];
  private reads: ReadState[] = [];
  private pendingReads: PendingRead[] = [];
  /** Reads that arrived before this leader committed an entry of its term. */
  private readsBeforeCommit: { context: string; from: RaftId }[] = [];
  private pendingConfIndex = 0;
  private transferee: RaftId | null = null;
  private latestSnapshot: Snapshot | undefined;
  private prevHard: HardState;
  private prevSoft: SoftState;
  private outstanding: Ready | undefined;

  constructor(options: RaftOptions) {
    this.opts = resolveOptions(options);
    this.id = this.opts.id;
    const { hardState, snapshot, entries } = this.opts.storage;
    this.log = new RaftLog(
      snapshot,
      entries ?? [],
      hardState?.commit ?? 0,
      this.opts.unsafe.commitByCounting === true,
    );
    this.latestSnapshot = snapshot;
    const conf = snapshot?.conf ?? { voters: this.opts.voters, learners: this.opts.learners };
    this.voters = new Set(conf.voters);
    this.learners = new Set(conf.learners);
    if (hardState !== undefined) {
      this.currentTerm = hardState.term;
      this.votedFor = hardState.vote;
    }
    this.prevHard = this.hardState();
    this.prevSoft = { leader: null, role: 'follower' };
    this.drawElectionTimeout();
  }

  /** The current term. */
  get term(): number {
    return this.currentTerm;
  }

  /** The current role. */
  get role(): Role {
    return this.currentRole;
  }

  /** The leader this member follows (itself when leading), or null. */
  get leader(): RaftId | null {
    return this.leaderId;
  }

  /** The commit index. */
  get commitIndex(): number {
    return this.log.committed;
  }

  /** The last index of the log. */
  get lastIndex(): number {
    return this.log.lastIndex();
  }

  /** The index of the snapshot the log starts after (0: none). */
  get snapshotIndex(): number {
    return this.log.snapIndex;
  }

  /** The applied index (advanced by {@link RaftNode.advance}). */
  get appliedIndex(): number {
    return this.log.applied;
  }

  /** The term of the entry at `index` (undefined when compacted or missing). */
  entryTerm(index: number): number | undefined {
    return this.log.term(index);
  }

  /** The entry at `index`, when held (not compacted). */
  entry(index: number): Entry | undefined {
    return this.log.entry(index);
  }

  /** A read-only view of this member's state. */
  status(): RaftStatus {
    const progress: Record<RaftId, { match: number; next: number; state: string }> = {};
    for (const [id, pr] of this.progress)
      progress[id] = { match: pr.match, next: pr.next, state: pr.state };
    return {
      id: this.id,
      term: this.currentTerm,
      vote: this.votedFor,
      role: this.currentRole,
      leader: this.leaderId,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      snapshotIndex: this.log.snapIndex,
      conf: this.confState(),
      progress,
    };
  }

  // ---------------------------------------------------------------- inputs

  /** Advances logical time by one tick. */
  tick(): void {
    if (this.currentRole === 'leader') this.tickLeader();
    else this.tickElection();
  }

  /** Starts an election now (if this member may vote). */
  campaign(): void {
    if (this.currentRole === 'leader' || !this.voters.has(this.id)) return;
    if (this.opts.preVote) this.becomePreCandidate();
    else this.becomeCandidate(false);
  }

  /**
   * Appends `data` to the log if this member leads. The result says where, or why not: the caller
   * retries elsewhere (`leader` hints where).
   */
  propose(data: unknown): ProposeResult {
    const refused = this.refuseProposal();
    if (refused !== undefined) return refused;
    return this.appendOne({ kind: 'normal', data });
  }

  /**
   * Proposes a single-server membership change (thesis §4.1). Refused while another one is not
   * applied yet, and until this leader committed an entry of its own term (the fix Ongaro gave in
   * 2015 for single-server changes racing with leader changes).
   */
  proposeConfChange(change: ConfChange): ProposeResult {
    const refused = this.refuseProposal();
    if (refused !== undefined) return refused;
    if (!['add-voter', 'add-learner', 'remove'].includes(change.kind))
      throw rangeError('change.kind', 'add-voter, add-learner or remove', change.kind);
    if (typeof change.id !== 'string' || change.id.length === 0)
      throw rangeError('change.id', 'a non-empty id', change.id);
    if (this.pendingConfIndex > this.log.applied || !this.committedInTerm())
      return { ok: false, reason: 'conf-change-pending', leader: this.leaderId };
    const result = this.appendOne({ kind: 'conf', change });
    if (result.ok) this.pendingConfIndex = result.index;
    return result;
  }

  /**
   * Requests a linearizable read: once a {@link ReadState} with this `context` comes out of
   * `ready()`, a read served after applying up to its index sees every write committed before
   * the request. Returns false when it was dropped (no known leader, too many pending); retry.
   */
  readIndex(context: string): boolean {
    if (this.currentRole === 'leader') return this.leaderRead(this.id, context);
    if (this.leaderId === null) return false;
    this.send(this.leaderId, { type: 'read-index', context });
    return true;
  }

  /**
   * Hands leadership to `to` (thesis §3.10): stop taking proposals, bring `to` up to date, tell it
   * to campaign at once. Gives up after an election timeout. Returns false when not possible.
   */
  transferLeadership(to: RaftId): boolean {
    if (this.currentRole !== 'leader' || to === this.id || !this.voters.has(to)) return false;
    this.transferee = to;
    this.electionElapsed = 0;
    const pr = this.progress.get(to);
    if (pr !== undefined && pr.match === this.log.lastIndex())
      this.send(to, { type: 'timeout-now' });
    else this.sendAppend(to, true);
    return true;
  }

  /**
   * Takes a snapshot of the application's state `data` as of the applied index and drops the
   * log before it. The driver persists the snapshot (and may delete the entries it covers).
   */
  compact(data: unknown): Snapshot {
    const index = this.log.applied;
    const term = this.log.term(index);
    assert(term !== undefined, `no term at applied index ${index}`);
    const snapshot: Snapshot = { index, term, conf: this.confState(), data };
    this.log.compact(index, term);
    this.latestSnapshot = snapshot;
    return snapshot;
  }

  /** Processes a message from a peer. */
  step(m: RaftMessage): void {
    if (m.to !== this.id) return;
    if (m.term > this.currentTerm) {
      if (!this.acceptHigherTerm(m)) return;
    } else if (m.term < this.currentTerm) {
      this.answerLowerTerm(m);
      return;
    }
    if (m.type === 'vote') {
      this.handleVote(m);
      return;
    }
    switch (this.currentRole) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'pre-candidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
    }
  }

  // ---------------------------------------------------------------- output

  /** True when {@link RaftNode.ready} has something to do. */
  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    return (
      this.msgs.length > 0 ||
      this.reads.length > 0 ||
      !sameHard(this.hardState(), this.prevHard) ||
      this.prevSoft.leader !== this.leaderId ||
      this.prevSoft.role !== this.currentRole ||
      this.log.pendingSnapshot !== undefined ||
      this.log.stable < this.log.lastIndex() ||
      this.log.nextToApply().length > 0
    );
  }

  /** The next batch of work; call {@link RaftNode.advance} with it before the next one. */
  ready(): Ready {
    assert(this.outstanding === undefined, 'ready() called before advance() of the previous Ready');
    const hard = this.hardState();
    const soft: SoftState = { leader: this.leaderId, role: this.currentRole };
    const snapshot = this.log.pendingSnapshot;
    // Built field by field in the declared order (no spreads: this runs for every step).
    const rd: { -readonly [K in keyof Ready]: Ready[K] } = {} as Ready;
    if (!sameHard(hard, this.prevHard)) rd.hardState = hard;
    if (soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role)
      rd.softState = soft;
    rd.entries = this.log.unstableEntries();
    if (snapshot !== undefined) rd.snapshot = snapshot;
    rd.messages = this.msgs;
    rd.committedEntries = this.log.nextToApply();
    rd.readStates = this.reads;
    this.msgs = [];
    this.reads = [];
    this.outstanding = rd;
    return rd;
  }

  /**
   * While the last Ready is outstanding (its write in flight), hands out the normal entries that
   * became committed since and are durable here, and counts them applied: the driver applies
   * them at once instead of after the write. A leader whose follower acknowledges during its
   * next write thus answers the client a whole sync earlier. It hands out nothing when a
   * snapshot is involved or a configuration change is among the entries to apply, and stops
   * before a configuration change (those go through {@link RaftNode.advance}).
   */
  takeCommitted(): Entry[] {
    const rd = this.outstanding;
    if (rd === undefined || rd.snapshot !== undefined || this.log.pendingSnapshot !== undefined)
      return [];
    for (const e of rd.committedEntries) if (e.kind === 'conf') return [];
    const lo = Math.max(
      this.log.applied + 1,
      (rd.committedEntries[rd.committedEntries.length - 1]?.index ?? 0) + 1,
      this.log.firstIndex(),
    );
    const hi = Math.min(this.log.committed, this.log.stable);
    if (hi < lo) return [];
    const out: Entry[] = [];
    for (const e of this.log.slice(lo, hi + 1)) {
      if (e.kind === 'conf') break;
      out.push(e);
    }
    const last = out[out.length - 1];
    if (last !== undefined) this.log.appliedTo(last.index);
    return out;
  }

  /** The driver persisted, sent and applied `rd`. */
  advance(rd: Ready): void {
    assert(this.outstanding === rd, 'advance() must get the last Ready');
    this.outstanding = undefined;
    if (rd.hardState !== undefined) this.prevHard = rd.hardState;
    if (rd.softState !== undefined) this.prevSoft = rd.softState;
    if (rd.snapshot !== undefined && this.log.pendingSnapshot === rd.snapshot)
      this.log.pendingSnapshot = undefined;
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) this.log.stableTo(last.index, last.term);
    for (const e of rd.committedEntries) {
      if (e.kind === 'conf') this.applyConfChange(e.change);
      this.log.appliedTo(e.index);
    }
    if (this.currentRole === 'leader') {
      const self = this.progress.get(this.id);
      if (self !== undefined) self.maybeUpdate(this.log.stable);
      if (this.maybeCommit()) this.broadcastAppend();
    }
  }

  // ---------------------------------------------------------------- roles

  private hardState(): HardState {
    return { term: this.currentTerm, vote: this.votedFor, commit: this.log.committed };
  }

  private confState(): ConfState {
    return { voters: [...this.voters].sort(), learners: [...this.learners].sort() };
  }

  private drawElectionTimeout(): void {
    const e = this.opts.electionTicks;
    this.randomizedTimeout = e + this.opts.random.int(e);
  }

  private reset(term: number): void {
    if (term !== this.currentTerm) {
      this.currentTerm = term;
      this.votedFor = null;
    }
    this.leaderId = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.drawElectionTimeout();
    this.votes.clear();
    this.progress.clear();
    this.transferee = null;
    this.pendingReads = [];
    this.readsBeforeCommit = [];
    this.pendingConfIndex = 0;
  }

  private becomeFollower(term: number, leader: RaftId | null): void {
    this.reset(term);
    this.leaderId = leader;
    this.currentRole = 'follower';
  }

  private becomePreCandidate(): void {
    this.currentRole = 'pre-candidate';
    this.leaderId = null;
    this.votes.clear();
    this.electionElapsed = 0;
    this.drawElectionTimeout();
    this.poll(true, false);
  }

  private becomeCandidate(transfer: boolean): void {
    this.reset(this.currentTerm + 1);
    this.votedFor = this.id;
    this.currentRole = 'candidate';
    this.poll(false, transfer);
  }

  private poll(preVote: boolean, transfer: boolean): void {
    this.votes.set(this.id, true);
    if (this.tally() === 'won') {
      this.won(preVote);
      return;
    }
    const term = preVote ? this.currentTerm + 1 : this.currentTerm;
    for (const id of this.voters) {
      if (id === this.id) continue;
      this.msgs.push({
        type: 'vote',
        from: this.id,
        to: id,
        term,
        preVote,
        lastIndex: this.log.lastIndex(),
        lastTerm: this.log.lastTerm(),
        transfer,
      });
    }
  }

  private won(preVote: boolean): void {
    if (preVote) this.becomeCandidate(false);
    else this.becomeLeader();
  }

  private becomeLeader(): void {
    this.reset(this.currentTerm);
    this.currentRole = 'leader';
    this.leaderId = this.id;
    const next = this.log.lastIndex() + 1;
    for (const id of [...this.voters, ...this.learners])
      this.progress.set(id, new Progress(next, this.opts.maxInflight));
    const self = this.progress.get(this.id);
    if (self !== undefined) {
      self.maybeUpdate(this.log.stable);
      self.becomeReplicate();
    }
    // Any conf change still in the log may be uncommitted: wait for it before another one.
    this.pendingConfIndex = this.log.lastIndex();
    // §5.4.2 / §8: a no-op of the new term lets earlier entries commit and reads be served.
    this.appendOne({ kind: 'normal', data: null });
  }

  private tally(): 'won' | 'lost' | 'pending' {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    const q = this.quorum();
    if (granted >= q) return 'won';
    if (rejected >= q) return 'lost';
    return 'pending';
  }

  private quorum(): number {
    return this.opts.unsafe.quorum ?? Math.floor(this.voters.size / 2) + 1;
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.voters.has(this.id) && this.electionElapsed >= this.randomizedTimeout) {
      this.electionElapsed = 0;
      this.campaign();
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.opts.electionTicks) {
      this.electionElapsed = 0;
      if (this.opts.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.currentTerm, null);
        return;
      }
      this.transferee = null;
    }
    if (this.heartbeatElapsed >= this.opts.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat(this.pendingReads.at(-1)?.context ?? null);
    }
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const [id, pr] of this.progress) {
      if (id === this.id) {
        if (this.voters.has(id)) active++;
        continue;
      }
      if (pr.recentActive && this.voters.has(id)) active++;
      pr.recentActive = false;
    }
    return active >= this.quorum();
  }

  // ---------------------------------------------------------------- messages

  /** A message of a higher term: returns false when it must be ignored. */
  private acceptHigherTerm(m: RaftMessage): boolean {
    if (m.type === 'vote') {
      const inLease =
        this.opts.checkQuorum &&
        this.leaderId !== null &&
        this.electionElapsed < this.opts.electionTicks;
      // §6 of the thesis: a member that hears from a leader ignores disruptive candidates.
      if (inLease && !m.transfer) return false;
      if (m.preVote) return true;
    }
    if (m.type === 'vote-resp' && m.preVote && !m.reject) return true;
    const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
    this.becomeFollower(m.term, fromLeader ? m.from : null);
    return true;
  }

  private answerLowerTerm(m: RaftMessage): void {
    if (
      (this.opts.checkQuorum || this.opts.preVote) &&
      (m.type === 'append' || m.type === 'heartbeat')
    ) {
      // A leader cut off and back: tell it the newer term so that it steps down.
      this.send(m.from, { type: 'append-resp', index: 0, reject: true, hint: 0 });
    } else if (m.type === 'vote' && m.preVote) {
      this.send(m.from, { type: 'vote-resp', preVote: true, reject: true });
    }
  }

  private handleVote(m: Extract<RaftMessage, { type: 'vote' }>): void {
    const canVote =
      this.votedFor === m.from ||
      (this.votedFor === null && this.leaderId === null) ||
      (m.preVote && m.term > this.currentTerm);
    if (canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm)) {
      this.msgs.push({
        type: 'vote-resp',
        from: this.id,
        to: m.from,
        term: m.term,
        preVote: m.preVote,
        reject: false,
      });
      if (!m.preVote) {
        this.electionElapsed = 0;
        this.votedFor = m.from;
      }
      return;
    }
    this.send(m.from, { type: 'vote-resp', preVote: m.preVote, reject: true });
  }

  private stepCandidate(m: RaftMessage): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.becomeFollower(this.currentTerm, m.from);
        this.stepFollower(m);
        return;
      case 'vote-resp': {
        if (m.preVote !== (this.currentRole === 'pre-candidate')) return;
        this.votes.set(m.from, !m.reject);
        const outcome = this.tally();
        if (outcome === 'won') this.won(m.preVote);
        else if (outcome === 'lost') this.becomeFollower(this.currentTerm, null);
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(m: RaftMessage): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
        this.send(m.from, { type: 'heartbeat-resp', context: m.context });
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleSnapshot(m.from, m.snapshot);
        return;
      case 'timeout-now':
        if (this.voters.has(this.id)) this.becomeCandidate(true);
        return;
      case 'read-index-resp':
        if (!m.reject) this.reads.push({ index: m.index, context: m.context });
        return;
      default:
        return;
    }
  }

  private handleAppend(m: Extract<RaftMessage, { type: 'append' }>): void {
    if (m.index < this.log.committed) {
      this.send(m.from, { type: 'append-resp', index: this.log.committed, reject: false, hint: 0 });
      return;
    }
    const last = this.log.maybeAppend(m.index, m.logTerm, m.entries);
    if (last === undefined) {
      const hint = Math.min(m.index, this.log.lastIndex());
      this.send(m.from, { type: 'append-resp', index: m.index, reject: true, hint });
      return;
    }
    this.log.commitTo(Math.min(m.commit, last));
    this.send(m.from, { type: 'append-resp', index: last, reject: false, hint: 0 });
  }

  private handleSnapshot(from: RaftId, s: Snapshot): void {
    if (s.index <= this.log.committed) {
      this.send(from, { type: 'append-resp', index: this.log.committed, reject: false, hint: 0 });
      return;
    }
    if (this.log.matchTerm(s.index, s.term)) {
      // The log already holds the snapshot's last entry: only the commit index moves.
      this.log.commitTo(s.index);
    } else {
      this.log.restore(s);
      this.latestSnapshot = s;
      this.voters = new Set(s.conf.voters);
      this.learners = new Set(s.conf.learners);
    }
    this.send(from, { type: 'append-resp', index: this.log.lastIndex(), reject: false, hint: 0 });
  }

  private stepLeader(m: RaftMessage): void {
    switch (m.type) {
      case 'append-resp':
        this.handleAppendResp(m);
        return;
      case 'heartbeat-resp':
        this.handleHeartbeatResp(m);
        return;
      case 'read-index':
        if (!this.leaderRead(m.from, m.context))
          this.send(m.from, {
            type: 'read-index-resp',
            context: m.context,
            index: 0,
            reject: true,
          });
        return;
      default:
        return;
    }
  }

  private handleAppendResp(m: Extract<RaftMessage, { type: 'append-resp' }>): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.reject) {
      if (pr.maybeDecrease(m.index, m.hint)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from, false);
      }
      return;
    }
    const wasPaused = pr.paused();
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) pr.becomeProbe();
    if (this.maybeCommit()) this.broadcastAppend();
    else if (wasPaused) this.sendAppend(m.from, false);
    while (this.sendAppend(m.from, false));
    if (m.from === this.transferee && pr.match === this.log.lastIndex())
      this.send(m.from, { type: 'timeout-now' });
  }

  private handleHeartbeatResp(m: Extract<RaftMessage, { type: 'heartbeat-resp' }>): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    pr.probeSent = false;
    // An empty append still probes: a follower that lost appends rejects it, and the leader
    // then backs up (this is how replication recovers from lost messages).
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, true);
    if (m.context === null || !this.voters.has(m.from)) return;
    const at = this.pendingReads.findIndex((r) => r.context === m.context);
    const read = this.pendingReads[at];
    if (read === undefined) return;
    read.acks.add(m.from);
    if (read.acks.size < this.quorum()) return;
    // A quorum confirmed this leadership after every read queued up to this one arrived.
    for (const r of this.pendingReads.splice(0, at + 1))
      this.answerRead(r.from, r.context, r.index);
  }

  // ---------------------------------------------------------------- replication

  private refuseProposal(): ProposeResult | undefined {
    if (this.currentRole !== 'leader')
      return { ok: false, reason: 'not-leader', leader: this.leaderId };
    if (this.transferee !== null)
      return { ok: false, reason: 'transferring', leader: this.leaderId };
    if (this.log.lastIndex() - this.log.committed >= this.opts.maxUncommitted)
      return { ok: false, reason: 'too-many-pending', leader: this.leaderId };
    return undefined;
  }

  private appendOne(
    body: { kind: 'normal'; data: unknown } | { kind: 'conf'; change: ConfChange },
  ): ProposeResult {
    const index = this.log.lastIndex() + 1;
    const term = this.currentTerm;
    const entry: Entry =
      body.kind === 'normal'
        ? { kind: 'normal', index, term, data: body.data }
        : { kind: 'conf', index, term, change: body.change };
    this.log.appendNew([entry]);
    this.broadcastAppend();
    return { ok: true, index, term };
  }

  /**
   * §5.3 and §5.4.2: the highest index a quorum of voters stores is committed if its entry is of
   * the current term (committing it commits everything before it by the Log Matching property).
   */
  private maybeCommit(): boolean {
    const matches: number[] = [];
    for (const id of this.voters) matches.push(this.progress.get(id)?.match ?? 0);
    matches.sort((a, b) => b - a);
    const q = matches[this.quorum() - 1] ?? 0;
    if (q <= this.log.committed) return false;
    const ofThisTerm = this.log.term(q) === this.currentTerm;
    if (!ofThisTerm && this.opts.unsafe.commitByCounting !== true) return false;
    this.log.commitTo(q);
    if (this.committedInTerm()) this.releaseEarlyReads();
    return true;
  }

  private committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.currentTerm;
  }

  private broadcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id, true);
  }

  private broadcastHeartbeat(context: string | null): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      const commit = Math.min(pr.match, this.log.committed);
      this.send(id, { type: 'heartbeat', commit, context });
    }
  }

  /** Sends the next append to `to` if its progress allows; returns true when one was sent. */
  private sendAppend(to: RaftId, evenEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined || pr.paused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) return this.sendSnapshot(to, pr);
    const entries =
      pr.next > this.log.lastIndex()
        ? []
        : this.log.slice(pr.next, this.log.lastIndex() + 1, this.opts.maxEntriesPerMessage);
    if (entries.length === 0 && !evenEmpty) return false;
    this.send(to, {
      type: 'append',
      index: prevIndex,
      logTerm: prevTerm,
      entries,
      commit: this.log.committed,
    });
    pr.sent(prevIndex + entries.length, entries.length);
    return true;
  }

  private sendSnapshot(to: RaftId, pr: Progress): boolean {
    const snapshot = this.latestSnapshot;
    if (snapshot === undefined) return false;
    this.send(to, { type: 'snapshot', snapshot });
    pr.becomeSnapshot(snapshot.index);
    return true;
  }

  private applyConfChange(change: ConfChange): void {
    const { id } = change;
    this.voters.delete(id);
    this.learners.delete(id);
    if (change.kind === 'add-voter') this.voters.add(id);
    else if (change.kind === 'add-learner') this.learners.add(id);
    if (this.currentRole !== 'leader') return;
    if (change.kind === 'remove') {
      this.progress.delete(id);
      if (id === this.id) {
        this.becomeFollower(this.currentTerm, null);
        return;
      }
    } else if (!this.progress.has(id)) {
      this.progress.set(id, new Progress(this.log.lastIndex() + 1, this.opts.maxInflight));
    }
    if (this.maybeCommit()) this.broadcastAppend();
  }

  // ---------------------------------------------------------------- reads

  private leaderRead(from: RaftId, context: string): boolean {
    if (!this.committedInTerm()) {
      if (this.readsBeforeCommit.length >= this.opts.maxPendingReads) return false;
      this.readsBeforeCommit.push({ context, from });
      return true;
    }
    if (this.voters.size === 1 || this.opts.readOnly === 'lease') {
      this.answerRead(from, context, this.log.committed);
      return true;
    }
    if (this.pendingReads.length >= this.opts.maxPendingReads) return false;
    this.pendingReads.push({ context, index: this.log.committed, from, acks: new Set([this.id]) });
    this.broadcastHeartbeat(context);
    return true;
  }

  private releaseEarlyReads(): void {
    const early = this.readsBeforeCommit;
    this.readsBeforeCommit = [];
    for (const r of early)
      if (!this.leaderRead(r.from, r.context))
        this.send(r.from, { type: 'read-index-resp', context: r.context, index: 0, reject: true });
  }

  private answerRead(from: RaftId, context: string, index: number): void {
    if (from === this.id) this.reads.push({ index, context });
    else this.send(from, { type: 'read-index-resp', context, index, reject: false });
  }

  /** `body` is always a fresh literal of the caller's: it becomes the message (no copy). */
  private send(to: RaftId, body: Body): void {
    const m = body as Body & { from?: RaftId; to?: RaftId; term?: number };
    m.from = this.id;
    m.to = to;
    m.term = this.currentTerm;
    this.msgs.push(m as RaftMessage);
  }
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

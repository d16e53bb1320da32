/**
 * Multi-Paxos with a stable leader: a node that suspects the leader runs phase 1 once for every
 * slot at a higher ballot, re-proposes the highest-ballot value any promiser accepted in each slot,
 * fills the gaps below with no-ops, and then runs only phase 2 for each new command until another
 * leader pre-empts it. Acceptor state (promise and accepted log) is durable.
 *
 * @module
 */
import { assertNever } from '../../core/assert.js';
import type { Random } from '../../core/runtime.js';
import { integerIn } from '../../core/validate.js';
import { Outbox } from '../machine.js';
import type { Ready, StateMachine } from '../machine.js';
import { ballotOf, peerIndex, roundOf } from './ballot.js';

/** The value a leader chooses for a slot nobody proposed anything in. */
export const NOOP = '(no-op)';

/** An accepted entry of the log. */
export interface SlotProposal {
  readonly slot: number;
  readonly ballot: number;
  readonly value: string;
}

/** The messages of Multi-Paxos. */
export type MultiPaxosMessage =
  | { readonly kind: 'prepare'; readonly ballot: number }
  | {
      readonly kind: 'promise';
      readonly ballot: number;
      readonly accepted: readonly SlotProposal[];
    }
  | { readonly kind: 'nack'; readonly ballot: number; readonly promised: number }
  | {
      readonly kind: 'accept';
      readonly ballot: number;
      readonly slot: number;
      readonly value: string;
    }
  | {
      readonly kind: 'accepted';
      readonly ballot: number;
      readonly slot: number;
      readonly value: string;
    }
  | { readonly kind: 'heartbeat'; readonly ballot: number; readonly nextSlot: number }
  | { readonly kind: 'forward'; readonly command: string }
  | { readonly kind: 'query'; readonly fromSlot: number }
  | { readonly kind: 'learned'; readonly entries: readonly { slot: number; value: string }[] };

/** What a node keeps on disk. */
export interface MultiPaxosDurable {
  readonly promised: number;
  readonly accepted: readonly SlotProposal[];
  readonly round: number;
}

/** Options of a {@link MultiPaxosNode}. */
export interface MultiPaxosOptions {
  id: string;
  peers: readonly string[];
  random: Random;
  /** Ticks without a leader's heartbeat before standing, plus up to as many at random (default 40). */
  electionTicks?: number;
  /** Ticks between a leader's heartbeats (default 5). */
  heartbeatTicks?: number;
  /** Commands waiting for a leader, at most (default 1,000). */
  maxPending?: number;
  /** @internal Broken variant: acceptor state is not persisted. */
  forgetPromises?: boolean;
  /** @internal Broken variant: a new leader ignores the values reported in promises. */
  skipRecovery?: boolean;
}

type Role =
  | { readonly kind: 'follower' }
  | {
      readonly kind: 'candidate';
      readonly ballot: number;
      readonly promises: Map<string, readonly SlotProposal[]>;
    }
  | {
      readonly kind: 'leader';
      readonly ballot: number;
      nextSlot: number;
      /** Slots proposed in this leadership and not learned yet: re-sent with each heartbeat. */
      readonly outstanding: Map<number, string>;
    };

/** Outstanding proposals a leader re-sends per heartbeat, at most. */
const RESEND_MAX = 64;

/**
 * One Multi-Paxos node (proposer, acceptor and learner).
 *
 * @example
 * const node = new MultiPaxosNode({ id: 'n1', peers, random }, saved);
 * node.submit('set x 1'); // ordered into the log once a leader runs phase 2 for it
 */
export class MultiPaxosNode implements StateMachine<MultiPaxosMessage, MultiPaxosDurable> {
  private readonly id: string;
  private readonly peers: readonly string[];
  private readonly index: number;
  private readonly random: Random;
  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly maxPending: number;
  private readonly forgetPromises: boolean;
  private readonly skipRecovery: boolean;
  private readonly out = new Outbox<MultiPaxosMessage, MultiPaxosDurable>();
  private promised: number;
  private readonly accepted = new Map<number, SlotProposal>();
  private round: number;
  private role: Role = { kind: 'follower' };
  private ticks = 0;
  private deadline: number;
  private leaderHint: string | undefined;
  private pending: string[] = [];
  private readonly votes = new Map<string, Set<string>>();
  private readonly log = new Map<number, string>();
  private knownNextSlot = 0;
  /** Phase-1 rounds this node started (once per attempted leadership). */
  phase1Rounds = 0;
  /** Leaderships this node won. */
  leaderships = 0;

  constructor(options: MultiPaxosOptions, durable?: MultiPaxosDurable) {
    this.index = peerIndex(options.id, options.peers);
    this.id = options.id;
    this.peers = [...options.peers];
    this.random = options.random;
    this.electionTicks = integerIn('electionTicks', options.electionTicks ?? 40, 2, 1e6);
    this.heartbeatTicks = integerIn(
      'heartbeatTicks',
      options.heartbeatTicks ?? 5,
      1,
      this.electionTicks - 1,
    );
    this.maxPending = integerIn('maxPending', options.maxPending ?? 1000, 1, 1e6);
    this.forgetPromises = options.forgetPromises ?? false;
    this.skipRecovery = options.skipRecovery ?? false;
    this.promised = durable?.promised ?? 0;
    for (const p of durable?.accepted ?? []) this.accepted.set(p.slot, p);
    this.round = durable?.round ?? 0;
    this.deadline = this.nextDeadline();
  }

  /** The learned log: slot → value (no-ops included). */
  get learned(): ReadonlyMap<number, string> {
    return this.log;
  }

  /** True while this node leads (it ran phase 1 and was not pre-empted since). */
  get isLeader(): boolean {
    return this.role.kind === 'leader';
  }

  /** Submits a command: proposed at once when leading, forwarded to the leader otherwise. */
  submit(command: string): void {
    if (this.role.kind === 'leader') return this.propose(this.role, command);
    if (this.leaderHint !== undefined && this.leaderHint !== this.id)
      return this.out.send(this.leaderHint, { kind: 'forward', command });
    if (this.pending.length < this.maxPending) this.pending.push(command);
  }

  tick(): void {
    this.ticks++;
    const role = this.role;
    if (role.kind === 'leader') {
      if (this.ticks % this.heartbeatTicks !== 0) return;
      this.out.broadcast(this.others(), {
        kind: 'heartbeat',
        ballot: role.ballot,
        nextSlot: role.nextSlot,
      });
      this.resend(role);
      return;
    }
    if (this.ticks >= this.deadline) this.stand();
    else if (this.ticks % this.electionTicks === 0) this.catchUp();
  }

  step(from: string, message: MultiPaxosMessage): void {
    switch (message.kind) {
      case 'prepare':
        return this.onPrepare(from, message.ballot);
      case 'promise':
        return this.onPromise(from, message.ballot, message.accepted);
      case 'nack':
        return this.onNack(message.promised);
      case 'accept':
        return this.onAccept(from, message.ballot, message.slot, message.value);
      case 'accepted':
        return this.onAccepted(from, message.ballot, message.slot, message.value);
      case 'heartbeat':
        return this.onHeartbeat(from, message.ballot, message.nextSlot);
      case 'forward':
        return this.submit(message.command);
      case 'query':
        return this.onQuery(from, message.fromSlot);
      case 'learned':
        for (const e of message.entries) this.learn(e.slot, e.value);
        return;
      default:
        assertNever(message, 'message');
    }
  }

  ready(): Ready<MultiPaxosMessage, MultiPaxosDurable> {
    return this.out.ready();
  }

  advance(): void {
    this.out.advance();
  }

  private others(): string[] {
    return this.peers.filter((p) => p !== this.id);
  }

  private get majority(): number {
    return Math.floor(this.peers.length / 2) + 1;
  }

  private nextDeadline(): number {
    return this.ticks + this.electionTicks + this.random.int(this.electionTicks);
  }

  private stand(): void {
    this.deadline = this.nextDeadline();
    this.round = Math.max(this.round, roundOf(this.promised)) + 1;
    this.phase1Rounds++;
    const ballot = ballotOf(this.round, this.index);
    this.role = { kind: 'candidate', ballot, promises: new Map() };
    this.persist();
    this.out.broadcast(this.peers, { kind: 'prepare', ballot });
  }

  private onPrepare(from: string, ballot: number): void {
    if (ballot < this.promised)
      return this.out.send(from, { kind: 'nack', ballot, promised: this.promised });
    this.promised = ballot;
    if (from !== this.id) this.follow(from);
    this.persist();
    this.out.send(from, { kind: 'promise', ballot, accepted: [...this.accepted.values()] });
  }

  private follow(leader: string): void {
    this.leaderHint = leader;
    this.deadline = this.nextDeadline();
    if (this.role.kind !== 'follower') this.role = { kind: 'follower' };
    const waiting = this.pending;
    this.pending = [];
    for (const command of waiting) this.out.send(leader, { kind: 'forward', command });
  }

  private onPromise(from: string, ballot: number, accepted: readonly SlotProposal[]): void {
    const role = this.role;
    if (role.kind !== 'candidate' || role.ballot !== ballot) return;
    role.promises.set(from, accepted);
    if (role.promises.size < this.majority) return;
    // Phase 1 done for every slot: re-propose what may have been chosen, fill gaps with no-ops.
    const best = new Map<number, SlotProposal>();
    if (!this.skipRecovery)
      for (const list of role.promises.values())
        for (const p of list) {
          const b = best.get(p.slot);
          if (b === undefined || p.ballot > b.ballot) best.set(p.slot, p);
        }
    let top = -1;
    for (const slot of best.keys()) top = Math.max(top, slot);
    for (const slot of this.log.keys()) top = Math.max(top, slot);
    const leader: Role = { kind: 'leader', ballot, nextSlot: top + 1, outstanding: new Map() };
    this.role = leader;
    this.leaderships++;
    this.leaderHint = this.id;
    for (let slot = 0; slot <= top; slot++) {
      const value = this.log.get(slot) ?? best.get(slot)?.value ?? NOOP;
      leader.outstanding.set(slot, value);
      this.out.broadcast(this.peers, { kind: 'accept', ballot, slot, value });
    }
    const waiting = this.pending;
    this.pending = [];
    for (const command of waiting) this.propose(leader, command);
  }

  private propose(role: Extract<Role, { kind: 'leader' }>, command: string): void {
    const slot = role.nextSlot++;
    role.outstanding.set(slot, command);
    this.out.broadcast(this.peers, { kind: 'accept', ballot: role.ballot, slot, value: command });
  }

  /** Phase 2 again for proposals not learned yet (their accepts or accepteds may be lost). */
  private resend(role: Extract<Role, { kind: 'leader' }>): void {
    let n = 0;
    for (const [slot, value] of role.outstanding) {
      if (this.log.has(slot)) {
        role.outstanding.delete(slot);
        continue;
      }
      if (n++ >= RESEND_MAX) return;
      this.out.broadcast(this.peers, { kind: 'accept', ballot: role.ballot, slot, value });
    }
  }

  private onNack(promised: number): void {
    if (this.role.kind === 'follower' || promised <= this.ballotOfRole()) return;
    this.round = Math.max(this.round, roundOf(promised));
    this.role = { kind: 'follower' };
    this.deadline = this.nextDeadline();
  }

  private ballotOfRole(): number {
    return this.role.kind === 'follower' ? 0 : this.role.ballot;
  }

  private onAccept(from: string, ballot: number, slot: number, value: string): void {
    if (ballot < this.promised)
      return this.out.send(from, { kind: 'nack', ballot, promised: this.promised });
    this.promised = ballot;
    if (from !== this.id) this.follow(from);
    this.accepted.set(slot, { slot, ballot, value });
    this.persist();
    this.out.broadcast(this.peers, { kind: 'accepted', ballot, slot, value });
  }

  private onAccepted(from: string, ballot: number, slot: number, value: string): void {
    const key = `${slot}/${ballot}`;
    let voters = this.votes.get(key);
    if (voters === undefined) this.votes.set(key, (voters = new Set()));
    voters.add(from);
    if (voters.size >= this.majority) {
      this.learn(slot, value);
      this.votes.delete(key);
    }
  }

  private onHeartbeat(from: string, ballot: number, nextSlot: number): void {
    if (ballot < this.promised)
      return this.out.send(from, { kind: 'nack', ballot, promised: this.promised });
    if (ballot > this.promised) {
      this.promised = ballot;
      this.persist();
    }
    this.follow(from);
    this.knownNextSlot = Math.max(this.knownNextSlot, nextSlot);
  }

  private catchUp(): void {
    let first = 0;
    while (this.log.has(first)) first++;
    if (first >= this.knownNextSlot || this.leaderHint === undefined) return;
    this.out.send(this.leaderHint, { kind: 'query', fromSlot: first });
  }

  private onQuery(from: string, fromSlot: number): void {
    const entries: { slot: number; value: string }[] = [];
    for (const [slot, value] of this.log)
      if (slot >= fromSlot && entries.length < 100) entries.push({ slot, value });
    if (entries.length > 0) this.out.send(from, { kind: 'learned', entries });
  }

  private learn(slot: number, value: string): void {
    if (this.log.has(slot)) return;
    this.log.set(slot, value);
    this.knownNextSlot = Math.max(this.knownNextSlot, slot + 1);
  }

  private persist(): void {
    if (this.forgetPromises) this.out.persist({ promised: 0, accepted: [], round: this.round });
    else
      this.out.persist({
        promised: this.promised,
        accepted: [...this.accepted.values()],
        round: this.round,
      });
  }
}

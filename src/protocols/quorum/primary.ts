/**
 * A primary elected by a quorum, as a pure state machine, in the designs that split-brain
 * protection is about: a lease that the primary renews with a majority and steps down on when it
 * runs out; a quorum checked only when a failure detector reports a peer down (the textbook
 * version); no check at all; a witness (a voting member that never leads) for two-node clusters;
 * and the two-node "the survivor takes over" rule, bare or with STONITH (fence the peer through a
 * fencing device before acting).
 *
 * @module
 */
import { assertNever } from '../../core/assert.js';
import type { Random } from '../../core/runtime.js';
import { integerIn, rangeError } from '../../core/validate.js';
import { Outbox } from '../machine.js';
import type { Ready, StateMachine } from '../machine.js';
import { majority } from './quorum.js';

/** How a primary decides it may go on acting. */
export type QuorumCheck =
  /** Renew a lease with a majority every heartbeat; step down when it runs out (correct). */
  | 'lease'
  /** Re-check reachability only when the failure detector reports a peer down (textbook). */
  | 'on-event'
  /** Never step down unless a higher term shows up (no quorum check). */
  | 'never';

/** How a node becomes primary. */
export type TakeOver =
  /** Votes from a majority of the members (witnesses vote too). */
  | 'majority'
  /** Two-node clusters: the survivor takes over when the peer is silent (split brain). */
  | 'survivor'
  /** The survivor first powers the peer off through the fencing device (STONITH). */
  | 'stonith';

/** Messages between members (and to and from the fencing device). */
export type QuorumMessage =
  | { readonly kind: 'vote-request'; readonly term: number }
  | { readonly kind: 'vote'; readonly term: number; readonly granted: boolean }
  | { readonly kind: 'heartbeat'; readonly term: number; readonly sentTick: number }
  | { readonly kind: 'ack'; readonly term: number; readonly sentTick: number }
  | { readonly kind: 'fence'; readonly target: string; readonly term: number }
  | { readonly kind: 'fenced'; readonly target: string; readonly term: number };

/** Durable state: the term and the vote given in it. */
export interface QuorumDurable {
  readonly term: number;
  readonly votedFor: string | null;
}

/** Options of a {@link QuorumMember}. */
export interface QuorumMemberOptions {
  id: string;
  /** Every voting member, this one included (the same list everywhere). */
  members: readonly string[];
  /** False for a witness: it votes and acknowledges but never leads (default true). */
  canLead?: boolean;
  check?: QuorumCheck;
  takeOver?: TakeOver;
  /** The fencing device's address (required with `stonith`). */
  fencer?: string;
  /** Ticks between the primary's heartbeats (default 10). */
  heartbeatTicks?: number;
  /**
   * Lease length in ticks (default 100). A member that acknowledged a heartbeat votes for nobody
   * else for this long; the primary counts its lease from when it sent the heartbeat, minus
   * `driftMarginTicks`, so it steps down before any member could vote for a successor.
   */
  leaseTicks?: number;
  /** Safety margin for clock-rate differences (default 10). */
  driftMarginTicks?: number;
  /** A follower stands after this many ticks without a heartbeat, plus up to as many again at random (default 150). */
  electionTicks?: number;
  /** The textbook check's failure detector: a peer is reported down after this many ticks without an ack (default 500). */
  suspectTicks?: number;
  random: Random;
}

type Role =
  | { readonly kind: 'follower' }
  | { readonly kind: 'candidate'; readonly votes: Set<string> }
  | { readonly kind: 'fencing' }
  | {
      readonly kind: 'primary';
      /** Acks per heartbeat sent, by sent tick. */
      readonly acks: Map<number, Set<string>>;
      readonly lastAck: Map<string, number>;
      leaseUntil: number;
      /** True once a majority acknowledged a heartbeat of this term. */
      leaseGranted: boolean;
    };

/**
 * One member.
 *
 * @example
 * const m = new QuorumMember({ id: 'n1', members, check: 'lease', random }, saved);
 * if (m.isPrimary) storage.write(m.term, batch); // the term is the fencing token
 */
export class QuorumMember implements StateMachine<QuorumMessage, QuorumDurable> {
  private readonly id: string;
  private readonly members: readonly string[];
  private readonly canLead: boolean;
  private readonly check: QuorumCheck;
  private readonly takeOver: TakeOver;
  private readonly fencer: string | undefined;
  private readonly heartbeatTicks: number;
  private readonly leaseTicks: number;
  private readonly driftMarginTicks: number;
  private readonly electionTicks: number;
  private readonly suspectTicks: number;
  private readonly random: Random;
  private readonly out = new Outbox<QuorumMessage, QuorumDurable>();
  private currentTerm: number;
  private votedFor: string | null;
  private role: Role = { kind: 'follower' };
  private ticks = 0;
  /** Until this tick the member votes for nobody (it acknowledged a primary's lease). */
  private loyalUntil = 0;
  private electionDeadline: number;

  constructor(options: QuorumMemberOptions, durable?: QuorumDurable) {
    const { id, members } = options;
    integerIn('members.length', members.length, 1, 1000);
    if (!members.includes(id)) throw rangeError('id', `one of ${members.join(', ')}`, id);
    this.id = id;
    this.members = [...members];
    this.canLead = options.canLead ?? true;
    this.check = options.check ?? 'lease';
    this.takeOver = options.takeOver ?? 'majority';
    if (this.takeOver !== 'majority' && members.length !== 2)
      throw rangeError('takeOver', "'majority' unless the cluster has two members", this.takeOver);
    if (this.takeOver === 'stonith' && options.fencer === undefined)
      throw rangeError('fencer', 'the fencing device’s address with stonith', options.fencer);
    this.fencer = options.fencer;
    this.heartbeatTicks = integerIn('heartbeatTicks', options.heartbeatTicks ?? 10, 1, 1e6);
    this.leaseTicks = integerIn('leaseTicks', options.leaseTicks ?? 100, this.heartbeatTicks, 1e6);
    this.driftMarginTicks = integerIn(
      'driftMarginTicks',
      options.driftMarginTicks ?? 10,
      0,
      this.leaseTicks - 1,
    );
    this.electionTicks = integerIn('electionTicks', options.electionTicks ?? 150, 1, 1e6);
    this.suspectTicks = integerIn('suspectTicks', options.suspectTicks ?? 500, 1, 1e6);
    this.random = options.random;
    this.currentTerm = durable?.term ?? 0;
    this.votedFor = durable?.votedFor ?? null;
    // A restarted member waits out any lease it may have acknowledged before it crashed.
    this.loyalUntil = durable === undefined ? 0 : this.leaseTicks;
    this.electionDeadline = this.nextDeadline();
  }

  /** The current term: the fencing token of a primary's writes. */
  get term(): number {
    return this.currentTerm;
  }

  /** True while this member acts as primary (with a lease: holds a granted, unexpired one). */
  get isPrimary(): boolean {
    const role = this.role;
    if (role.kind !== 'primary') return false;
    return this.check !== 'lease' || (role.leaseGranted && this.ticks < role.leaseUntil);
  }

  private get others(): string[] {
    return this.members.filter((m) => m !== this.id);
  }

  tick(): void {
    this.ticks++;
    const role = this.role;
    if (role.kind === 'primary') {
      if (this.shouldStepDown(role)) return this.stepDown(this.currentTerm);
      if (this.ticks % this.heartbeatTicks === 0) this.heartbeat(role);
      return;
    }
    if (this.canLead && role.kind !== 'fencing' && this.ticks >= this.electionDeadline)
      this.stand();
  }

  step(from: string, message: QuorumMessage): void {
    if ('term' in message && message.term > this.currentTerm && message.kind !== 'fenced')
      this.stepDown(message.term);
    switch (message.kind) {
      case 'vote-request':
        return this.onVoteRequest(from, message.term);
      case 'vote':
        return this.onVote(from, message.term, message.granted);
      case 'heartbeat':
        return this.onHeartbeat(from, message.term, message.sentTick);
      case 'ack':
        return this.onAck(from, message.term, message.sentTick);
      case 'fenced':
        if (this.role.kind === 'fencing' && message.term === this.currentTerm) this.become();
        return;
      case 'fence':
        return;
      default:
        assertNever(message, 'message');
    }
  }

  ready(): Ready<QuorumMessage, QuorumDurable> {
    return this.out.ready();
  }

  advance(): void {
    this.out.advance();
  }

  private nextDeadline(): number {
    return this.ticks + this.electionTicks + this.random.int(this.electionTicks);
  }

  private shouldStepDown(role: Extract<Role, { kind: 'primary' }>): boolean {
    switch (this.check) {
      case 'lease':
        return this.ticks >= role.leaseUntil;
      case 'on-event': {
        // The failure detector reports a peer down once it has been silent for suspectTicks;
        // only then does the primary count who it can still reach.
        const down = this.others.filter(
          (p) => this.ticks - (role.lastAck.get(p) ?? 0) >= this.suspectTicks,
        );
        if (down.length === 0) return false;
        return this.members.length - down.length < majority(this.members.length);
      }
      case 'never':
        return false;
    }
  }

  private stand(): void {
    this.electionDeadline = this.nextDeadline();
    this.currentTerm++;
    this.votedFor = this.id;
    this.persist();
    if (this.takeOver === 'majority') {
      this.role = { kind: 'candidate', votes: new Set([this.id]) };
      if (majority(this.members.length) === 1) return this.become();
      this.out.broadcast(this.others, { kind: 'vote-request', term: this.currentTerm });
      return;
    }
    // Two nodes: the peer has been silent for an election timeout, so the survivor takes over,
    // after fencing it when STONITH is configured.
    if (this.takeOver === 'survivor') return this.become();
    this.role = { kind: 'fencing' };
    const target = this.others[0] as string;
    this.out.send(this.fencer as string, { kind: 'fence', target, term: this.currentTerm });
  }

  private become(): void {
    const role: Role = {
      kind: 'primary',
      acks: new Map(),
      lastAck: new Map(),
      // Until a majority acknowledges a heartbeat the primary may not act; it gives the first
      // round one heartbeat interval (plus the round trip) before it steps down.
      leaseUntil: this.ticks + 2 * this.heartbeatTicks,
      leaseGranted: false,
    };
    for (const p of this.others) role.lastAck.set(p, this.ticks);
    this.role = role;
    this.heartbeat(role);
  }

  private heartbeat(role: Extract<Role, { kind: 'primary' }>): void {
    role.acks.set(this.ticks, new Set([this.id]));
    for (const t of role.acks.keys()) if (t < this.ticks - this.leaseTicks) role.acks.delete(t);
    this.out.broadcast(this.others, {
      kind: 'heartbeat',
      term: this.currentTerm,
      sentTick: this.ticks,
    });
  }

  private stepDown(term: number): void {
    if (term > this.currentTerm) {
      this.currentTerm = term;
      this.votedFor = null;
      this.persist();
    }
    if (this.role.kind !== 'follower') this.role = { kind: 'follower' };
    this.electionDeadline = this.nextDeadline();
  }

  private onVoteRequest(from: string, term: number): void {
    const granted =
      term === this.currentTerm &&
      (this.votedFor === null || this.votedFor === from) &&
      this.ticks >= this.loyalUntil &&
      this.role.kind !== 'primary';
    if (granted) {
      this.votedFor = from;
      this.persist();
      this.electionDeadline = this.nextDeadline();
    }
    this.out.send(from, { kind: 'vote', term: this.currentTerm, granted });
  }

  private onVote(from: string, term: number, granted: boolean): void {
    const role = this.role;
    if (role.kind !== 'candidate' || term !== this.currentTerm || !granted) return;
    role.votes.add(from);
    if (role.votes.size >= majority(this.members.length)) this.become();
  }

  private onHeartbeat(from: string, term: number, sentTick: number): void {
    if (term < this.currentTerm) return;
    if (this.role.kind !== 'follower') this.role = { kind: 'follower' };
    this.loyalUntil = this.ticks + this.leaseTicks;
    this.electionDeadline = this.nextDeadline();
    this.out.send(from, { kind: 'ack', term, sentTick });
  }

  private onAck(from: string, term: number, sentTick: number): void {
    const role = this.role;
    if (role.kind !== 'primary' || term !== this.currentTerm) return;
    role.lastAck.set(from, this.ticks);
    const acks = role.acks.get(sentTick);
    if (acks === undefined) return;
    acks.add(from);
    if (acks.size < majority(this.members.length)) return;
    role.leaseGranted = true;
    role.leaseUntil = Math.max(role.leaseUntil, sentTick + this.leaseTicks - this.driftMarginTicks);
  }

  private persist(): void {
    this.out.persist({ term: this.currentTerm, votedFor: this.votedFor });
  }
}

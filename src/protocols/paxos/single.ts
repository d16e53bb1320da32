/**
 * Single-decree Paxos (Lamport, "Paxos Made Simple", 2001) as a pure state machine: every node is
 * a proposer, an acceptor and a learner. The acceptor's promise and accepted proposal are durable
 * (persisted before the reply leaves), and so is the proposer's round, so a restarted proposer
 * never reuses a ballot with another value.
 *
 * @module
 */
import { assert, assertNever } from '../../core/assert.js';
import type { Random } from '../../core/runtime.js';
import { integerIn } from '../../core/validate.js';
import { Outbox } from '../machine.js';
import type { Ready, StateMachine } from '../machine.js';
import { backoffDelay, ballotOf, peerIndex, retryTiming, roundOf } from './ballot.js';
import type { RetryOptions, RetryTiming } from './ballot.js';

/** A proposal an acceptor accepted. */
export interface Proposal {
  readonly ballot: number;
  readonly value: string;
}

/** The messages of single-decree Paxos. */
export type PaxosMessage =
  | { readonly kind: 'prepare'; readonly ballot: number }
  | { readonly kind: 'promise'; readonly ballot: number; readonly accepted: Proposal | null }
  | { readonly kind: 'nack'; readonly ballot: number; readonly promised: number }
  | { readonly kind: 'accept'; readonly ballot: number; readonly value: string }
  | { readonly kind: 'accepted'; readonly ballot: number; readonly value: string }
  | { readonly kind: 'decided'; readonly value: string }
  /** A node that has not learned asks the others for the decision. */
  | { readonly kind: 'query' };

/** What a node keeps on disk. */
export interface PaxosDurable {
  /** The highest ballot this acceptor promised. */
  readonly promised: number;
  readonly accepted: Proposal | null;
  /** The proposer's highest round used. */
  readonly round: number;
}

/** Options of a {@link PaxosNode}. */
export interface PaxosOptions extends RetryOptions {
  /** This node's name (one of `peers`). */
  id: string;
  /** Every node (acceptors and learners), in the same order on every node. */
  peers: readonly string[];
  /** The value this node proposes; without one it only accepts and learns. */
  value?: string;
  /** Ticks before the first ballot (default 0: at once). */
  startTicks?: number;
  /** Back-off draws (inject the node's runtime random). */
  random: Random;
  /**
   * @internal A deliberately broken variant for the simulator: the acceptor's promise and the
   * proposal it accepted are not persisted, so a restarted acceptor forgets both.
   */
  forgetPromises?: boolean;
}

type Proposer =
  | { readonly kind: 'idle' }
  | { readonly kind: 'waiting'; readonly untilTick: number }
  | {
      readonly kind: 'preparing';
      readonly ballot: number;
      readonly sinceTick: number;
      readonly promises: Map<string, Proposal | null>;
    }
  | {
      readonly kind: 'accepting';
      readonly ballot: number;
      readonly value: string;
      readonly sinceTick: number;
    };

/** Ticks between retransmissions of an unanswered prepare or accept. */
const RESEND_TICKS = 5;

/**
 * One Paxos node.
 *
 * @example
 * const node = new PaxosNode({ id: 'n1', peers: ['n1', 'n2', 'n3'], value: 'x', random }, saved);
 * node.step('n2', message);
 * const { persist, messages } = node.ready(); // persist first, then send
 * node.advance();
 */
export class PaxosNode implements StateMachine<PaxosMessage, PaxosDurable> {
  private readonly id: string;
  private readonly peers: readonly string[];
  private readonly index: number;
  private readonly value: string | undefined;
  private readonly random: Random;
  private readonly timing: RetryTiming;
  private readonly forgetPromises: boolean;
  private readonly out = new Outbox<PaxosMessage, PaxosDurable>();
  private promised: number;
  private accepted: Proposal | null;
  private round: number;
  private proposer: Proposer = { kind: 'idle' };
  private ticks = 0;
  private failures = 0;
  /** Acceptors that accepted each ballot (the learner's view). */
  private readonly votes = new Map<number, Map<string, string>>();
  private learnedValue: string | undefined;
  /** Ballots this node started (phase 1 attempts). */
  ballotsStarted = 0;

  constructor(options: PaxosOptions, durable?: PaxosDurable) {
    this.index = peerIndex(options.id, options.peers);
    this.id = options.id;
    this.peers = [...options.peers];
    this.value = options.value;
    this.random = options.random;
    this.timing = retryTiming(options);
    this.forgetPromises = options.forgetPromises ?? false;
    this.promised = durable?.promised ?? 0;
    this.accepted = durable?.accepted ?? null;
    this.round = durable?.round ?? 0;
    const startTicks = integerIn('startTicks', options.startTicks ?? 0, 0, 1_000_000);
    if (this.value === undefined) return;
    if (startTicks === 0) this.startBallot();
    else this.proposer = { kind: 'waiting', untilTick: startTicks };
  }

  /** The value this node learned was chosen, if any. */
  get learned(): string | undefined {
    return this.learnedValue;
  }

  private get majority(): number {
    return Math.floor(this.peers.length / 2) + 1;
  }

  tick(): void {
    this.ticks++;
    if (this.learnedValue !== undefined) return;
    // A learner that missed the decision (lost messages, a restart) asks for it now and then.
    if (this.ticks % this.timing.retryTicks === 0)
      this.out.broadcast(
        this.peers.filter((p) => p !== this.id),
        { kind: 'query' },
      );
    const p = this.proposer;
    if (p.kind === 'waiting' && this.ticks >= p.untilTick) this.startBallot();
    else if (p.kind === 'preparing' || p.kind === 'accepting') {
      const age = this.ticks - p.sinceTick;
      if (age >= this.timing.retryTicks) this.giveUp(0);
      else if (age % RESEND_TICKS === 0) this.resend(p);
    }
  }

  /** Retransmits the phase's request to the peers that have not answered it yet. */
  private resend(p: Extract<Proposer, { kind: 'preparing' | 'accepting' }>): void {
    if (p.kind === 'preparing') {
      for (const peer of this.peers)
        if (!p.promises.has(peer)) this.out.send(peer, { kind: 'prepare', ballot: p.ballot });
      return;
    }
    const voted = this.votes.get(p.ballot);
    for (const peer of this.peers)
      if (voted?.has(peer) !== true)
        this.out.send(peer, { kind: 'accept', ballot: p.ballot, value: p.value });
  }

  step(from: string, message: PaxosMessage): void {
    switch (message.kind) {
      case 'prepare':
        return this.onPrepare(from, message.ballot);
      case 'accept':
        return this.onAccept(from, message.ballot, message.value);
      case 'promise':
        return this.onPromise(from, message.ballot, message.accepted);
      case 'nack':
        return this.onNack(message.ballot, message.promised);
      case 'accepted':
        return this.onAccepted(from, message.ballot, message.value);
      case 'decided':
        return this.learn(message.value);
      case 'query':
        if (this.learnedValue !== undefined)
          this.out.send(from, { kind: 'decided', value: this.learnedValue });
        return;
      default:
        assertNever(message, 'message');
    }
  }

  ready(): Ready<PaxosMessage, PaxosDurable> {
    return this.out.ready();
  }

  advance(): void {
    this.out.advance();
  }

  private startBallot(): void {
    this.round++;
    this.ballotsStarted++;
    const ballot = ballotOf(this.round, this.index);
    this.proposer = { kind: 'preparing', ballot, sinceTick: this.ticks, promises: new Map() };
    this.persist();
    this.out.broadcast(this.peers, { kind: 'prepare', ballot });
  }

  /** Gives up the current ballot; `promised` (if higher) tells which round to jump past. */
  private giveUp(promised: number): void {
    this.round = Math.max(this.round, roundOf(promised));
    this.failures++;
    const delay = backoffDelay(this.timing, this.failures - 1, this.random);
    if (delay === 0) this.startBallot();
    else this.proposer = { kind: 'waiting', untilTick: this.ticks + delay };
  }

  private onPrepare(from: string, ballot: number): void {
    if (ballot < this.promised) {
      this.out.send(from, { kind: 'nack', ballot, promised: this.promised });
      return;
    }
    this.promised = ballot;
    this.persist();
    this.out.send(from, { kind: 'promise', ballot, accepted: this.accepted });
  }

  private onAccept(from: string, ballot: number, value: string): void {
    if (ballot < this.promised) {
      this.out.send(from, { kind: 'nack', ballot, promised: this.promised });
      return;
    }
    this.promised = ballot;
    this.accepted = { ballot, value };
    this.persist();
    this.out.broadcast(this.peers, { kind: 'accepted', ballot, value });
  }

  private onPromise(from: string, ballot: number, accepted: Proposal | null): void {
    const p = this.proposer;
    if (p.kind !== 'preparing' || p.ballot !== ballot) return;
    p.promises.set(from, accepted);
    if (p.promises.size < this.majority) return;
    // The value of the highest-ballot proposal any promiser accepted, else our own.
    let chosen: Proposal | null = null;
    for (const a of p.promises.values())
      if (a !== null && (chosen === null || a.ballot > chosen.ballot)) chosen = a;
    const value = chosen?.value ?? this.value;
    assert(value !== undefined, 'only a node with a value starts ballots');
    this.proposer = { kind: 'accepting', ballot, value, sinceTick: this.ticks };
    this.out.broadcast(this.peers, { kind: 'accept', ballot, value });
  }

  private onNack(ballot: number, promised: number): void {
    const p = this.proposer;
    if ((p.kind === 'preparing' || p.kind === 'accepting') && p.ballot === ballot)
      this.giveUp(promised);
  }

  private onAccepted(from: string, ballot: number, value: string): void {
    let votes = this.votes.get(ballot);
    if (votes === undefined) this.votes.set(ballot, (votes = new Map()));
    votes.set(from, value);
    assert(new Set(votes.values()).size === 1, `ballot ${ballot} carries one value`);
    if (votes.size >= this.majority) this.learn(value);
  }

  private learn(value: string): void {
    if (this.learnedValue !== undefined) return;
    this.learnedValue = value;
    this.proposer = { kind: 'idle' };
    this.votes.clear();
  }

  private persist(): void {
    // The broken variant keeps only the proposer's round: the acceptor's promise (and what it
    // accepted under it) lives in memory and a restart forgets it.
    if (this.forgetPromises) this.out.persist({ promised: 0, accepted: null, round: this.round });
    else this.out.persist({ promised: this.promised, accepted: this.accepted, round: this.round });
  }
}

/**
 * Three-phase commit (Skeen, 1981) as two pure state machines — a coordinator and a participant —
 * for the simulator: CanCommit (votes), PreCommit (acknowledged), DoCommit, with timeouts in ticks.
 *
 * 3PC removes 2PC's blocking window for the sites that stay up: a participant that times out
 * *uncertain* (voted yes, no PreCommit yet) aborts, and one that times out *pre-committed*
 * commits, because the coordinator only pre-commits once every vote was yes. The rule is sound
 * while failures are crashes and messages arrive within a known bound: a PreCommit batch leaves
 * whole or not at all. A network partition breaks it: the participants that got the PreCommit
 * commit on their side, those cut off before it abort on theirs (an inconsistent decision). The
 * `blocking` termination (2PC's rule, presumed abort) never decides alone after a yes vote: it
 * waits for the coordinator, so it blocks through a partition but stays atomic.
 *
 * A participant that restarts uncertain cannot know whether a PreCommit reached it while it was
 * down, so it never times out to abort: it asks the coordinator until it gets an answer.
 *
 * @module
 */
import { assert, assertNever } from '../core/assert.js';
import { integerIn, nonEmptyString, rangeError } from '../core/validate.js';
import { Outbox } from '../protocols/machine.js';
import type { Ready, StateMachine } from '../protocols/machine.js';

/** Messages between the coordinator and the participants; `txn` is the coordinator's number. */
export type ThreePhaseMessage =
  | { readonly kind: 'can-commit'; readonly txn: number }
  | { readonly kind: 'vote'; readonly txn: number; readonly yes: boolean }
  | { readonly kind: 'pre-commit'; readonly txn: number }
  | { readonly kind: 'ack'; readonly txn: number }
  | { readonly kind: 'do-commit'; readonly txn: number }
  | { readonly kind: 'abort'; readonly txn: number }
  /** A participant that cannot decide alone asks the coordinator for the outcome. */
  | { readonly kind: 'query'; readonly txn: number };

/** Where a participant stands on one transaction. */
export type ParticipantTxnState = 'uncertain' | 'pre-committed' | 'committed' | 'aborted';

/**
 * What a participant does once it has voted yes and the coordinator falls silent:
 * `timeout` is 3PC's rule (uncertain → abort, pre-committed → commit); `blocking` is 2PC's rule
 * (wait for the coordinator, asking it again every `queryEveryTicks`).
 */
export type ThreePhaseTermination = 'timeout' | 'blocking';

/** The timeouts shared by both sides, in ticks. */
export interface ThreePhaseTimeouts {
  /**
   * Coordinator: ticks to wait for every vote before aborting (default 20). Keep it below a
   * participant's `uncertainTimeoutTicks` minus a round trip, or a slow PreCommit can meet a
   * participant that already aborted.
   */
  voteTimeoutTicks?: number;
  /** Coordinator: ticks to wait for PreCommit acknowledgements before committing anyway (default 20). */
  ackTimeoutTicks?: number;
  /** Participant: ticks uncertain before aborting alone, with `timeout` termination (default 40). */
  uncertainTimeoutTicks?: number;
  /** Participant: ticks pre-committed before committing alone, with `timeout` termination (default 40). */
  preCommitTimeoutTicks?: number;
  /** Participant: ticks between two queries while it waits for the coordinator (default 10). */
  queryEveryTicks?: number;
}

/** The most transactions either side remembers; the oldest decided ones are forgotten first. */
export const MAX_REMEMBERED_TXNS = 10_000;

function timeoutsOf(t: ThreePhaseTimeouts): Required<ThreePhaseTimeouts> {
  const max = 1_000_000;
  return {
    voteTimeoutTicks: integerIn('voteTimeoutTicks', t.voteTimeoutTicks ?? 20, 1, max),
    ackTimeoutTicks: integerIn('ackTimeoutTicks', t.ackTimeoutTicks ?? 20, 1, max),
    uncertainTimeoutTicks: integerIn(
      'uncertainTimeoutTicks',
      t.uncertainTimeoutTicks ?? 40,
      1,
      max,
    ),
    preCommitTimeoutTicks: integerIn(
      'preCommitTimeoutTicks',
      t.preCommitTimeoutTicks ?? 40,
      1,
      max,
    ),
    queryEveryTicks: integerIn('queryEveryTicks', t.queryEveryTicks ?? 10, 1, max),
  };
}

function participantsOf(list: readonly string[], coordinator: string): readonly string[] {
  if (list.length === 0) throw rangeError('participants', 'a non-empty list', '[]');
  const seen = new Set<string>();
  for (const p of list) {
    nonEmptyString('participants[]', p);
    if (seen.has(p) || p === coordinator)
      throw rangeError('participants', 'distinct names other than the coordinator', p);
    seen.add(p);
  }
  return [...list];
}

/* ------------------------------------------------------------------------------------------ */
/* Coordinator                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/** The coordinator's durable state: the next number, the commit decisions, a pending pre-commit. */
export interface ThreePhaseCoordinatorDurable {
  readonly nextTxn: number;
  /** Committed transactions (presumed abort: an aborted one leaves no record). */
  readonly committed: readonly number[];
  /** The transaction pre-committed and not yet committed, if any. */
  readonly preCommitted: number | null;
}

/** Options of a {@link ThreePhaseCoordinator}. */
export interface ThreePhaseCoordinatorOptions extends ThreePhaseTimeouts {
  /** This node's name (the participants send to it). */
  id: string;
  /** The participants' names, distinct. */
  participants: readonly string[];
}

/** The phase of the coordinator's transaction in progress. */
type Active =
  | { readonly kind: 'voting'; readonly txn: number; readonly yes: Set<string>; ticks: number }
  | {
      readonly kind: 'pre-committed';
      readonly txn: number;
      readonly acks: Set<string>;
      ticks: number;
    };

/** A decision the coordinator took, for the application and the checkers. */
export interface ThreePhaseDecision {
  readonly txn: number;
  readonly outcome: 'committed' | 'aborted';
}

/**
 * The 3PC coordinator: one transaction at a time, presumed abort, a durable commit decision.
 * After a restart a pre-committed transaction commits; one still collecting votes aborts.
 *
 * @example
 * const c = new ThreePhaseCoordinator({ id: 'c', participants: ['p1', 'p2'] }, saved);
 * const txn = c.begin(); // then tick()/step() and send c.ready().messages
 */
export class ThreePhaseCoordinator implements StateMachine<
  ThreePhaseMessage,
  ThreePhaseCoordinatorDurable
> {
  private readonly outbox = new Outbox<ThreePhaseMessage, ThreePhaseCoordinatorDurable>();
  private readonly participants: readonly string[];
  private readonly timeouts: Required<ThreePhaseTimeouts>;
  private readonly committed: Set<number>;
  private nextTxn: number;
  private active: Active | undefined;
  private readonly decided: ThreePhaseDecision[] = [];

  constructor(options: ThreePhaseCoordinatorOptions, durable?: ThreePhaseCoordinatorDurable) {
    const id = nonEmptyString('id', options.id);
    this.participants = participantsOf(options.participants, id);
    this.timeouts = timeoutsOf(options);
    this.nextTxn = durable?.nextTxn ?? 1;
    this.committed = new Set(durable?.committed ?? []);
    assert(
      Number.isSafeInteger(this.nextTxn) && this.nextTxn >= 1,
      'nextTxn is a positive integer',
    );
    // A transaction pre-committed before the crash commits now: every participant voted yes,
    // and the ones that got the PreCommit may already have committed on their timeout.
    const pending = durable?.preCommitted ?? null;
    if (pending !== null) this.commit(pending);
    // One still collecting votes is aborted (presumed abort), and the participants told so.
    const last = this.nextTxn - 1;
    if (durable !== undefined && pending === null && last >= 1 && !this.committed.has(last))
      this.abort(last);
  }

  /** True when no transaction is in progress ({@link ThreePhaseCoordinator.begin} would start one). */
  get idle(): boolean {
    return this.active === undefined;
  }

  /** Starts the next transaction (CanCommit to every participant); undefined while one is in progress. */
  begin(): number | undefined {
    if (this.active !== undefined) return undefined;
    const txn = this.nextTxn++;
    this.active = { kind: 'voting', txn, yes: new Set(), ticks: 0 };
    this.persist();
    this.outbox.broadcast(this.participants, { kind: 'can-commit', txn });
    return txn;
  }

  /** Decisions taken since the last call, oldest first. */
  takeDecisions(): ThreePhaseDecision[] {
    return this.decided.splice(0);
  }

  tick(): void {
    const a = this.active;
    if (a === undefined) return;
    a.ticks++;
    if (a.kind === 'voting' && a.ticks >= this.timeouts.voteTimeoutTicks) this.abort(a.txn);
    else if (a.kind === 'pre-committed' && a.ticks >= this.timeouts.ackTimeoutTicks)
      this.commit(a.txn);
  }

  step(from: string, message: ThreePhaseMessage): void {
    if (!this.participants.includes(from)) return;
    const a = this.active;
    switch (message.kind) {
      case 'vote':
        if (a?.kind !== 'voting' || a.txn !== message.txn) return;
        if (!message.yes) return this.abort(a.txn);
        a.yes.add(from);
        if (a.yes.size === this.participants.length) this.preCommit(a.txn);
        return;
      case 'ack':
        if (a?.kind !== 'pre-committed' || a.txn !== message.txn) return;
        a.acks.add(from);
        if (a.acks.size === this.participants.length) this.commit(a.txn);
        return;
      case 'query':
        return this.answer(from, message.txn);
      case 'can-commit':
      case 'pre-commit':
      case 'do-commit':
      case 'abort':
        return;
      default:
        assertNever(message, 'message');
    }
  }

  ready(): Ready<ThreePhaseMessage, ThreePhaseCoordinatorDurable> {
    return this.outbox.ready();
  }

  advance(): void {
    this.outbox.advance();
  }

  /** Answers a participant that waits: what is decided, PreCommit if pre-committed, nothing while voting. */
  private answer(to: string, txn: number): void {
    const a = this.active;
    if (a !== undefined && a.txn === txn) {
      if (a.kind === 'pre-committed') this.outbox.send(to, { kind: 'pre-commit', txn });
      return;
    }
    if (txn >= this.nextTxn) return; // Not a transaction of this coordinator.
    const kind = this.committed.has(txn) ? 'do-commit' : 'abort';
    this.outbox.send(to, { kind, txn });
  }

  private preCommit(txn: number): void {
    this.active = { kind: 'pre-committed', txn, acks: new Set(), ticks: 0 };
    this.persist();
    this.outbox.broadcast(this.participants, { kind: 'pre-commit', txn });
  }

  private commit(txn: number): void {
    this.active = undefined;
    this.committed.add(txn);
    if (this.committed.size > MAX_REMEMBERED_TXNS) {
      const oldest = this.committed.values().next().value;
      if (oldest !== undefined) this.committed.delete(oldest);
    }
    this.persist();
    this.decided.push({ txn, outcome: 'committed' });
    this.outbox.broadcast(this.participants, { kind: 'do-commit', txn });
  }

  private abort(txn: number): void {
    this.active = undefined;
    this.decided.push({ txn, outcome: 'aborted' });
    this.outbox.broadcast(this.participants, { kind: 'abort', txn });
  }

  private persist(): void {
    const a = this.active;
    this.outbox.persist({
      nextTxn: this.nextTxn,
      committed: [...this.committed],
      preCommitted: a?.kind === 'pre-committed' ? a.txn : null,
    });
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Participant                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/** A participant's durable state: where it stands on each transaction it remembers. */
export interface ThreePhaseParticipantDurable {
  readonly txns: readonly (readonly [txn: number, state: ParticipantTxnState])[];
}

/** Options of a {@link ThreePhaseParticipant}. */
export interface ThreePhaseParticipantOptions extends ThreePhaseTimeouts {
  id: string;
  /** The coordinator's name. */
  coordinator: string;
  /** The local vote on `txn` (default: always yes). */
  canCommit?: (txn: number) => boolean;
  /** What to do when the coordinator falls silent after a yes vote (default `timeout`). */
  termination?: ThreePhaseTermination;
  /**
   * What a participant that restarts uncertain does (default `query`: ask the coordinator until
   * it answers). `timeout` treats it like a live one and aborts on timeout — a deliberately broken
   * setting: a PreCommit it missed while down may already have made the others commit.
   */
  recovery?: 'query' | 'timeout';
  /**
   * What the uncertain timeout decides (default `abort`). `commit` is deliberately broken: the
   * coordinator may have aborted (a no vote it never forwarded before it crashed).
   */
  uncertainTimeoutDecides?: 'abort' | 'commit';
}

interface Entry {
  state: ParticipantTxnState;
  ticks: number;
  /** Restarted uncertain: waits for the coordinator instead of timing out. */
  recovered: boolean;
}

/**
 * A 3PC participant: votes on CanCommit, acknowledges PreCommit, applies DoCommit or Abort, and
 * terminates alone on a timeout (or waits, with `blocking` termination).
 *
 * @example
 * const p = new ThreePhaseParticipant({ id: 'p1', coordinator: 'c', canCommit: (txn) => stock > 0 }, saved);
 */
export class ThreePhaseParticipant implements StateMachine<
  ThreePhaseMessage,
  ThreePhaseParticipantDurable
> {
  private readonly outbox = new Outbox<ThreePhaseMessage, ThreePhaseParticipantDurable>();
  private readonly coordinator: string;
  private readonly timeouts: Required<ThreePhaseTimeouts>;
  private readonly canCommit: (txn: number) => boolean;
  private readonly termination: ThreePhaseTermination;
  private readonly uncertainDecides: 'abort' | 'commit';
  private readonly txns = new Map<number, Entry>();
  private readonly changes: { txn: number; state: ParticipantTxnState }[] = [];

  constructor(options: ThreePhaseParticipantOptions, durable?: ThreePhaseParticipantDurable) {
    nonEmptyString('id', options.id);
    this.coordinator = nonEmptyString('coordinator', options.coordinator);
    this.timeouts = timeoutsOf(options);
    this.canCommit = options.canCommit ?? (() => true);
    this.termination = oneOf('termination', options.termination, ['timeout', 'blocking']);
    this.uncertainDecides = oneOf('uncertainTimeoutDecides', options.uncertainTimeoutDecides, [
      'abort',
      'commit',
    ]);
    const recovery = oneOf('recovery', options.recovery, ['query', 'timeout']);
    for (const [txn, state] of durable?.txns ?? [])
      this.txns.set(txn, {
        state,
        ticks: 0,
        recovered: state === 'uncertain' && recovery === 'query',
      });
  }

  /** Where this participant stands on `txn` (undefined: never heard of it, or forgotten). */
  stateOf(txn: number): ParticipantTxnState | undefined {
    return this.txns.get(txn)?.state;
  }

  /** The state changes since the last call, oldest first (for the application and the checkers). */
  takeChanges(): { readonly txn: number; readonly state: ParticipantTxnState }[] {
    return this.changes.splice(0);
  }

  tick(): void {
    for (const [txn, e] of this.txns) {
      if (e.state === 'committed' || e.state === 'aborted') continue;
      e.ticks++;
      if (this.termination === 'blocking' || e.recovered) {
        if (e.ticks % this.timeouts.queryEveryTicks === 0)
          this.outbox.send(this.coordinator, { kind: 'query', txn });
      } else if (e.state === 'uncertain' && e.ticks >= this.timeouts.uncertainTimeoutTicks) {
        this.move(txn, this.uncertainDecides === 'abort' ? 'aborted' : 'committed');
      } else if (e.state === 'pre-committed' && e.ticks >= this.timeouts.preCommitTimeoutTicks) {
        this.move(txn, 'committed');
      }
    }
  }

  step(from: string, message: ThreePhaseMessage): void {
    if (from !== this.coordinator) return;
    const txn = message.txn;
    const state = this.txns.get(txn)?.state;
    switch (message.kind) {
      case 'can-commit':
        if (state !== undefined) return;
        return this.vote(txn);
      case 'pre-commit':
        if (state === 'uncertain') this.move(txn, 'pre-committed');
        // A repeated PreCommit (an answer to a query) is acknowledged again.
        if (state === 'uncertain' || state === 'pre-committed')
          this.outbox.send(this.coordinator, { kind: 'ack', txn });
        return;
      case 'do-commit':
        if (state === 'uncertain' || state === 'pre-committed') this.move(txn, 'committed');
        return;
      case 'abort':
        if (state === undefined || state === 'uncertain') this.move(txn, 'aborted');
        return;
      case 'vote':
      case 'ack':
      case 'query':
        return;
      default:
        assertNever(message, 'message');
    }
  }

  ready(): Ready<ThreePhaseMessage, ThreePhaseParticipantDurable> {
    return this.outbox.ready();
  }

  advance(): void {
    this.outbox.advance();
  }

  private vote(txn: number): void {
    const yes = this.canCommit(txn);
    this.move(txn, yes ? 'uncertain' : 'aborted');
    this.outbox.send(this.coordinator, { kind: 'vote', txn, yes });
  }

  /** Records `state` for `txn` durably (before any message of this batch leaves). */
  private move(txn: number, state: ParticipantTxnState): void {
    const e = this.txns.get(txn);
    if (e === undefined) this.txns.set(txn, { state, ticks: 0, recovered: false });
    else {
      e.state = state;
      e.ticks = 0;
    }
    if (this.changes.length < MAX_REMEMBERED_TXNS) this.changes.push({ txn, state });
    this.forgetOldest();
    this.outbox.persist({ txns: [...this.txns].map(([t, x]) => [t, x.state] as const) });
  }

  private forgetOldest(): void {
    if (this.txns.size <= MAX_REMEMBERED_TXNS) return;
    for (const [txn, e] of this.txns)
      if (e.state === 'committed' || e.state === 'aborted') {
        this.txns.delete(txn);
        return;
      }
  }
}

function oneOf<T extends string>(field: string, value: T | undefined, allowed: readonly T[]): T {
  const first = allowed[0];
  assert(first !== undefined, 'allowed is not empty');
  if (value === undefined) return first;
  if (!allowed.includes(value)) throw rangeError(field, `one of ${allowed.join(', ')}`, value);
  return value;
}

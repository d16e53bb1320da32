/**
 * A two-phase commit coordinator with presumed abort and a durable decision log, over any
 * {@link Participant}s (PostgreSQL `PREPARE TRANSACTION`, MariaDB XA, or simulated resource
 * managers in the lab), and its recovery of in-doubt transactions after a crash.
 *
 * @module
 */
import { assert } from '../core/assert.js';
import { Emitter } from '../core/events.js';
import type { Disposable, Listener } from '../core/events.js';
import type { Runtime } from '../core/runtime.js';
import { rangeError } from '../core/validate.js';
import type { Retry } from '../resilience/retry.js';
import type { BackoffOptions } from '../resilience/backoff.js';
import { bounded, callSettings, decisionLog, participantsByName } from './call.js';
import { TxnAbortedError, TxnInDoubtError } from './errors.js';
import { coordinatorId, gidPrefix, newGid } from './gid.js';
import { publish } from './diagnostics.js';
import type { Branch, DecisionLog, Participant, TwoPhaseStep } from './types.js';

/** Options of a {@link TwoPhaseCommit} coordinator. */
export interface TwoPhaseCommitOptions {
  /**
   * This coordinator's id, 1 to 31 of `[A-Za-z0-9_-]`, stable across restarts: every gid starts
   * with it, and recovery settles only gids with its prefix. Two live coordinators must never share
   * one (recovery of one would roll back the other's transactions in flight).
   */
  coordinatorId: string;
  /** Where commit decisions are made durable (e.g. `PostgresDecisionLog`). */
  log: DecisionLog;
  /** Every participant this coordinator may enlist; recovery asks each of them. Unique names. */
  participants: readonly Participant[];
  /** Deadline of each participant or log call, in ms (default 10,000). */
  callTimeoutMs?: number;
  /**
   * Attempts of each phase-2 call (default 5, in [1, 100]). A commit still failing after them is
   * left to {@link TwoPhaseCommit.recover}: the decision is durable, so it will be completed.
   */
  phaseTwoAttempts?: number;
  /** Backoff between phase-2 attempts (default exponential from 50 ms, capped at 2 s, full jitter). */
  phaseTwoBackoff?: BackoffOptions;
  /** Time, timers and randomness (default: the system runtime). */
  runtime?: Runtime;
}

/** What {@link TwoPhaseCommit.transaction}'s body uses to enlist participants. */
export interface TxnScope {
  /** The global transaction id. */
  readonly gid: string;
  /** Starts (once) and returns this transaction's branch at `participant`. */
  enlist<B extends Branch>(participant: Participant<B>): Promise<B>;
}

/** A committed transaction. */
export interface TxnResult<T> {
  readonly value: T;
  readonly gid: string;
  /**
   * Participants whose `COMMIT PREPARED` kept failing: the decision is durable and `recover()`
   * completes them; until then their branch holds its locks. Empty in the common case.
   */
  readonly unfinished: readonly string[];
}

/** What one {@link TwoPhaseCommit.recover} pass did. */
export interface RecoveryReport {
  /** Prepared branches committed because their decision record exists. */
  readonly committed: number;
  /** Prepared branches rolled back because they have no decision record (presumed abort). */
  readonly rolledBack: number;
  /** Decision records removed because no branch of theirs is left. */
  readonly forgotten: number;
  /** Participants that could not be asked or settled; run recover() again later. */
  readonly failed: readonly string[];
}

interface Enlisted {
  readonly participant: Participant;
  readonly branch: Branch;
  prepared: boolean;
}

const MAX_ACTIVE = 100_000;

/**
 * Runs distributed transactions with two-phase commit. Phase 1 prepares every enlisted branch;
 * if all vote yes the commit decision is written to the log in its own durable write, and only
 * then phase 2 commits the branches. A crash at any point is settled by {@link recover}: prepared
 * branches with a decision record commit, the others roll back (presumed abort), as Citus does.
 *
 * The blocking window is real: between prepare and the decision reaching a participant, its branch
 * holds its locks, and if the coordinator dies there they stay held until it recovers.
 *
 * @example
 * const coordinator = new TwoPhaseCommit({ coordinatorId: 'orders-1', log, participants: [pg, maria] });
 * await coordinator.recover(); // at start-up, before new transactions
 * await coordinator.transaction(async (tx) => {
 *   const a = await tx.enlist(pg);
 *   await a.client.query('UPDATE accounts SET balance = balance - 10 WHERE id = 1');
 *   const b = await tx.enlist(maria);
 *   await b.connection.query('UPDATE stock SET count = count - 1 WHERE id = 7');
 * });
 */
export class TwoPhaseCommit {
  readonly coordinatorId: string;
  private readonly log: DecisionLog;
  private readonly participants: ReadonlyMap<string, Participant>;
  private readonly callTimeoutMs: number;
  private readonly retry: Retry;
  private readonly runtime: Runtime;
  private readonly steps = new Emitter<TwoPhaseStep>();
  private readonly active = new Set<string>();
  private closed = false;

  constructor(options: TwoPhaseCommitOptions) {
    this.coordinatorId = coordinatorId('coordinatorId', options.coordinatorId);
    this.log = decisionLog(options.log);
    this.participants = participantsByName(
      options.participants,
      (p) => typeof p?.begin === 'function',
      'Participants',
    );
    const calls = callSettings(options);
    this.callTimeoutMs = calls.callTimeoutMs;
    this.runtime = calls.runtime;
    this.retry = calls.retry;
  }

  /** Calls `listener` at every step (synchronously, before the coordinator goes on). */
  onStep(listener: Listener<TwoPhaseStep>): Disposable {
    return this.steps.on(listener);
  }

  /** Transactions in flight in this process. */
  get inFlight(): number {
    return this.active.size;
  }

  /**
   * Runs `body` as one global transaction. Resolves once the decision is durable and phase 2 ran
   * (see {@link TxnResult.unfinished}); rejects with {@link TxnAbortedError} when the body threw or
   * a participant voted no, and with {@link TxnInDoubtError} when the decision's write failed with
   * an unknown outcome.
   */
  async transaction<T>(
    body: (tx: TxnScope) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<TxnResult<T>> {
    if (this.closed) throw new RangeError('the coordinator is closed');
    if (this.active.size >= MAX_ACTIVE)
      throw rangeError('transactions in flight', `at most ${MAX_ACTIVE}`, this.active.size + 1);
    const gid = newGid(this.coordinatorId, this.runtime.random);
    this.active.add(gid);
    try {
      const enlisted: Enlisted[] = [];
      const value = await this.runBody(gid, body, enlisted, signal);
      await this.phaseOne(gid, enlisted, signal);
      await this.decide(gid, enlisted, signal);
      const unfinished = await this.phaseTwo(gid, enlisted);
      return { value, gid, unfinished };
    } finally {
      this.active.delete(gid);
    }
  }

  private async runBody<T>(
    gid: string,
    body: (tx: TxnScope) => Promise<T>,
    enlisted: Enlisted[],
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const scope: TxnScope = {
      gid,
      enlist: async <B extends Branch>(participant: Participant<B>): Promise<B> => {
        const known = this.participants.get(participant.name);
        if (known !== participant)
          throw rangeError(
            'participant',
            "one of the coordinator's participants",
            participant.name,
          );
        const existing = enlisted.find((e) => e.participant === participant);
        if (existing !== undefined) return existing.branch as B;
        const branch = await bounded(
          this.runtime,
          `${participant.name} begin`,
          this.callTimeoutMs,
          signal,
          (s) => participant.begin(gid, s),
        );
        enlisted.push({ participant, branch, prepared: false });
        return branch;
      },
    };
    try {
      return await body(scope);
    } catch (error) {
      await this.rollback(gid, enlisted);
      throw new TxnAbortedError(
        gid,
        `the body threw: ${String((error as Error)?.message ?? error)}`,
        undefined,
        {
          cause: error,
        },
      );
    }
  }

  /** Prepares the branches in enlistment order; the first no vote rolls everything back. */
  private async phaseOne(
    gid: string,
    enlisted: Enlisted[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    for (const e of enlisted) {
      const name = e.participant.name;
      this.emit({ kind: 'preparing', gid, participant: name });
      try {
        await bounded(this.runtime, `${name} prepare`, this.callTimeoutMs, signal, (s) =>
          e.branch.prepare(s),
        );
      } catch (error) {
        await this.rollback(gid, enlisted, e);
        throw new TxnAbortedError(
          gid,
          `${name} voted no: ${String((error as Error)?.message ?? error)}`,
          name,
          {
            cause: error,
          },
        );
      }
      e.prepared = true;
      this.emit({ kind: 'prepared', gid, participant: name });
    }
  }

  /** Writes the commit decision; a failure there leaves the transaction to recovery. */
  private async decide(
    gid: string,
    enlisted: Enlisted[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    assert(
      enlisted.every((e) => e.prepared),
      'every branch is prepared before the decision',
    );
    if (enlisted.length === 0) return;
    try {
      await bounded(this.runtime, 'decision log', this.callTimeoutMs, signal, (s) =>
        this.log.recordCommit(
          gid,
          enlisted.map((e) => e.participant.name),
          s,
        ),
      );
    } catch (error) {
      throw new TxnInDoubtError(gid, { cause: error });
    }
    this.emit({ kind: 'decided', gid, outcome: 'commit' });
  }

  /** Commits every branch (with retries); returns the participants left to recovery. */
  private async phaseTwo(gid: string, enlisted: readonly Enlisted[]): Promise<string[]> {
    const unfinished: string[] = [];
    for (const e of enlisted) {
      const name = e.participant.name;
      try {
        await this.retry.execute(() =>
          bounded(this.runtime, `${name} commit`, this.callTimeoutMs, undefined, (s) =>
            e.participant.commitPrepared(gid, s),
          ),
        );
        this.emit({ kind: 'committed', gid, participant: name });
      } catch {
        unfinished.push(name);
      }
    }
    if (unfinished.length === 0 && enlisted.length > 0) {
      // The record is only a reminder now; a failure to remove it is cleaned up by recovery.
      await bounded(this.runtime, 'decision log', this.callTimeoutMs, undefined, (s) =>
        this.log.forget(gid, s),
      ).catch(() => undefined);
    }
    this.emit({ kind: 'finished', gid, outcome: 'commit' });
    return unfinished;
  }

  /**
   * Rolls back every enlisted branch: prepared ones with ROLLBACK PREPARED, the rest by aborting
   * their session. `failed` is the branch whose prepare failed: its state is unknown, so it gets
   * both. Failures are left to recovery: without a decision record it rolls them back.
   */
  private async rollback(
    gid: string,
    enlisted: readonly Enlisted[],
    failed?: Enlisted,
  ): Promise<void> {
    this.emit({ kind: 'decided', gid, outcome: 'abort' });
    for (const e of enlisted) {
      const name = e.participant.name;
      if (!e.prepared) await e.branch.abort();
      if (e.prepared || e === failed) {
        const done = await this.retry
          .execute(() =>
            bounded(this.runtime, `${name} rollback`, this.callTimeoutMs, undefined, (s) =>
              e.participant.rollbackPrepared(gid, s),
            ),
          )
          .then(
            () => true,
            () => false,
          );
        if (done) this.emit({ kind: 'rolled-back', gid, participant: name });
      }
    }
    this.emit({ kind: 'finished', gid, outcome: 'abort' });
  }

  /**
   * Settles this coordinator's in-doubt transactions: every prepared branch with its gid prefix
   * commits if the log has its decision and rolls back if not; decision records whose branches
   * are all settled are removed. Run it at start-up (before new transactions) and periodically.
   * Transactions in flight in this process are left alone.
   */
  async recover(signal?: AbortSignal): Promise<RecoveryReport> {
    const prefix = gidPrefix(this.coordinatorId);
    const call = <T>(what: string, fn: (s: AbortSignal) => Promise<T>): Promise<T> =>
      bounded(this.runtime, what, this.callTimeoutMs, signal, fn);
    // The records to forget once every branch is settled: read before any participant is listed,
    // so a branch of theirs still prepared is seen (and committed) by this pass.
    const recorded = await call('decision log', (s) => this.log.committed(prefix, s));
    let committed = 0;
    let rolledBack = 0;
    const failed: string[] = [];
    // Gids with a branch left alone because their transaction was in flight when it was listed:
    // their records stay until a later pass has seen every branch settled.
    const inFlight = new Set<string>();
    for (const participant of this.participants.values()) {
      const name = participant.name;
      try {
        const prepared = await call(`${name} recover`, (s) => participant.listPrepared(prefix, s));
        const settle: string[] = [];
        for (const gid of prepared) {
          if (!gid.startsWith(prefix)) continue;
          if (this.active.has(gid)) inFlight.add(gid);
          else settle.push(gid);
        }
        if (settle.length === 0) continue;
        // The decisions are read only now, after the in-flight check: a transaction that is no
        // longer in flight wrote its commit decision before it finished, so this read sees it. A
        // read from before the check could miss a decision made since, and roll back a branch
        // whose transaction committed elsewhere (a phase 2 that left this participant to recovery).
        const decided = new Set(await call('decision log', (s) => this.log.committed(prefix, s)));
        for (const gid of settle) {
          const commit = decided.has(gid);
          await call(`${name} ${commit ? 'commit' : 'rollback'}`, (s) =>
            commit ? participant.commitPrepared(gid, s) : participant.rollbackPrepared(gid, s),
          );
          if (commit) committed++;
          else rolledBack++;
          this.emit({
            kind: 'recovered',
            gid,
            participant: name,
            outcome: commit ? 'commit' : 'abort',
          });
        }
      } catch {
        failed.push(name);
      }
    }
    let forgotten = 0;
    if (failed.length === 0) {
      for (const gid of recorded) {
        if (this.active.has(gid) || inFlight.has(gid)) continue;
        await call('decision log', (s) => this.log.forget(gid, s));
        forgotten++;
      }
    }
    return { committed, rolledBack, forgotten, failed };
  }

  /** Refuses new transactions; those in flight finish. The participants and log stay the caller's. */
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private emit(step: TwoPhaseStep): void {
    publish('2pc', step);
    try {
      this.steps.emit(step);
    } catch {
      // A failing listener must not change the protocol's course.
    }
  }
}

/**
 * TCC (Try-Confirm-Cancel) with a fence table. Each branch of a global transaction reserves
 * resources in its Try, and the coordinator then confirms every branch or cancels every branch.
 * A fence store keeps one state row per (global id, branch id), changed in the same local
 * transaction as the branch's business write, which gives three guarantees:
 *
 * - Confirm and Cancel are idempotent: a repeated one finds the row settled and does nothing.
 * - A Cancel that arrives before its Try (the Try was delayed and the coordinator gave up) records
 *   the branch as cancelled and succeeds without releasing anything; the late ("hanging") Try then
 *   finds the row and is refused with {@link TccHangingTryError} instead of reserving forever.
 * - A Confirm with nothing reserved is refused with {@link TccNothingReservedError}.
 *
 * @module
 */
import { assert } from '../core/assert.js';
import { isFaultlineError } from '../core/errors.js';
import { Emitter } from '../core/events.js';
import type { Disposable, Listener } from '../core/events.js';
import type { Runtime } from '../core/runtime.js';
import { rangeError } from '../core/validate.js';
import type { Retry } from '../resilience/retry.js';
import type { BackoffOptions } from '../resilience/backoff.js';
import { bounded, callSettings, decisionLog, participantsByName } from './call.js';
import { publish } from './diagnostics.js';
import { TxnAbortedError, TxnInDoubtError } from './errors.js';
import { coordinatorId, gidPrefix, newGid } from './gid.js';
import type { DecisionLog } from './types.js';

/** A branch's row in the fence table. */
export type TccBranchState = 'tried' | 'confirmed' | 'cancelled';

/** What identifies a branch: the global transaction id and the branch (resource) id. */
export interface TccBranchKey {
  readonly gid: string;
  readonly branchId: string;
}

/** `tried`: the Try reserved; `duplicate`: a Try of this branch had already succeeded. */
export type TccTryOutcome = 'tried' | 'duplicate';
/** `confirmed`: this call applied the reservation; `duplicate`: an earlier Confirm did. */
export type TccConfirmOutcome = 'confirmed' | 'duplicate';
/**
 * `cancelled`: this call released the reservation; `duplicate`: an earlier Cancel did; `empty`:
 * no Try had arrived, so the branch is recorded as cancelled and a late Try will be refused.
 */
export type TccCancelOutcome = 'cancelled' | 'duplicate' | 'empty';

/**
 * Where branch states live. Each method runs the given business action and the row change in
 * one local transaction (the action gets that transaction as its context `C`: a `pg` client for
 * `PostgresTccFenceStore`), and changes of the same key are serialised.
 */
export interface TccFenceStore<C> {
  /**
   * Inserts the row as `tried` with `payload` and runs `reserve`, atomically. A row already
   * `cancelled` refuses with {@link "faultline/txn"!TccHangingTryError}; one `tried` or `confirmed` is a duplicate.
   */
  try(
    key: TccBranchKey,
    payload: string,
    reserve: (context: C) => Promise<void>,
    signal: AbortSignal,
  ): Promise<TccTryOutcome>;
  /** Moves a `tried` row to `confirmed` and runs `apply`, atomically; see {@link "faultline/txn"!TccNothingReservedError}. */
  confirm(
    key: TccBranchKey,
    apply: (context: C, payload: string) => Promise<void>,
    signal: AbortSignal,
  ): Promise<TccConfirmOutcome>;
  /**
   * Moves a `tried` row to `cancelled` and runs `release`, atomically; without a row it inserts
   * one as `cancelled` and runs nothing. A `confirmed` row refuses with `TccAlreadyConfirmedError`.
   */
  cancel(
    key: TccBranchKey,
    release: (context: C, payload: string) => Promise<void>,
    signal: AbortSignal,
  ): Promise<TccCancelOutcome>;
  /** The branch's state, or undefined when it has no row. */
  state(key: TccBranchKey, signal: AbortSignal): Promise<TccBranchState | undefined>;
  /** The gids starting with `prefix` whose branch `branchId` is still `tried` (for recovery). */
  pending(prefix: string, branchId: string, signal: AbortSignal): Promise<string[]>;
}

const BRANCH_ID = /^[A-Za-z0-9_.-]{1,64}$/;
/** Longest gid a fence store accepts (PostgreSQL's prepared-transaction limit, for symmetry). */
export const MAX_TCC_GID_LENGTH = 200;

/** False for a string with a lone surrogate (it would be stored as U+FFFD: another gid). */
function wellFormed(text: string): boolean {
  try {
    encodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

/** Validates a branch key from the edge: a `RangeError` naming the field and value otherwise. */
export function checkBranchKey(key: TccBranchKey): TccBranchKey {
  const gid: unknown = key?.gid;
  if (
    typeof gid !== 'string' ||
    gid.length === 0 ||
    gid.length > MAX_TCC_GID_LENGTH ||
    [...gid].some((ch) => ch < ' ') ||
    !wellFormed(gid)
  )
    throw rangeError('gid', `1 to ${MAX_TCC_GID_LENGTH} printable characters`, gid);
  const branchId: unknown = key.branchId;
  if (typeof branchId !== 'string' || !BRANCH_ID.test(branchId))
    throw rangeError('branchId', '1 to 64 of [A-Za-z0-9_.-]', branchId);
  return key;
}

/**
 * A resource taking part in TCC transactions: what {@link TccCoordinator} calls. `I` is the
 * input of the branch's Try (what to reserve).
 */
export interface TccParticipant<I> {
  /** The branch id: unique among a coordinator's participants, stable across restarts. */
  readonly name: string;
  try(gid: string, input: I, signal: AbortSignal): Promise<TccTryOutcome>;
  confirm(gid: string, signal: AbortSignal): Promise<TccConfirmOutcome>;
  cancel(gid: string, signal: AbortSignal): Promise<TccCancelOutcome>;
  /** The gids starting with `prefix` tried here and not settled. */
  pending(prefix: string, signal: AbortSignal): Promise<string[]>;
}

/** The business side of a {@link TccResource}: the three actions, each in the store's transaction. */
export interface TccActions<C, I> {
  /** Reserves what `input` asks for (e.g. moves an amount to a frozen column). Throwing votes no. */
  try(context: C, input: I, key: TccBranchKey): Promise<void>;
  /** Applies the reservation `input` made (e.g. removes the frozen amount for good). */
  confirm(context: C, input: I, key: TccBranchKey): Promise<void>;
  /** Releases the reservation `input` made (e.g. moves the frozen amount back). */
  cancel(context: C, input: I, key: TccBranchKey): Promise<void>;
}

/** Options of a {@link TccResource}. */
export interface TccResourceOptions<C, I> {
  /** The branch id (1 to 64 of `[A-Za-z0-9_.-]`), e.g. `accounts`. */
  name: string;
  store: TccFenceStore<C>;
  actions: TccActions<C, I>;
}

/**
 * A TCC participant over a fence store: the Try's input is kept in the branch's row (as JSON),
 * and Confirm and Cancel get it back, so they know what was reserved.
 *
 * @example
 * const accounts = new TccResource({
 *   name: 'accounts',
 *   store: new PostgresTccFenceStore({ pool }),
 *   actions: {
 *     try: (db, { id, amount }) => db.query('UPDATE acct SET free = free - $2, frozen = frozen + $2 WHERE id = $1 AND free >= $2', [id, amount]).then(mustUpdateOne),
 *     confirm: (db, { id, amount }) => db.query('UPDATE acct SET frozen = frozen - $2 WHERE id = $1', [id, amount]),
 *     cancel: (db, { id, amount }) => db.query('UPDATE acct SET free = free + $2, frozen = frozen - $2 WHERE id = $1', [id, amount]),
 *   },
 * });
 */
export class TccResource<C, I> implements TccParticipant<I> {
  readonly name: string;
  private readonly store: TccFenceStore<C>;
  private readonly actions: TccActions<C, I>;

  constructor(options: TccResourceOptions<C, I>) {
    this.name = checkBranchKey({ gid: 'x', branchId: options.name }).branchId;
    if (typeof options.store?.try !== 'function')
      throw rangeError('store', 'a TccFenceStore', options.store);
    for (const action of ['try', 'confirm', 'cancel'] as const)
      if (typeof options.actions?.[action] !== 'function')
        throw rangeError(`actions.${action}`, 'a function', options.actions?.[action]);
    this.store = options.store;
    this.actions = options.actions;
  }

  async try(gid: string, input: I, signal: AbortSignal): Promise<TccTryOutcome> {
    const key = checkBranchKey({ gid, branchId: this.name });
    const payload = JSON.stringify(input);
    if (typeof payload !== 'string') throw rangeError('input', 'JSON-serialisable', input);
    return this.store.try(key, payload, (c) => this.actions.try(c, input, key), signal);
  }

  async confirm(gid: string, signal: AbortSignal): Promise<TccConfirmOutcome> {
    const key = checkBranchKey({ gid, branchId: this.name });
    return this.store.confirm(
      key,
      (c, payload) => this.actions.confirm(c, JSON.parse(payload) as I, key),
      signal,
    );
  }

  async cancel(gid: string, signal: AbortSignal): Promise<TccCancelOutcome> {
    const key = checkBranchKey({ gid, branchId: this.name });
    return this.store.cancel(
      key,
      (c, payload) => this.actions.cancel(c, JSON.parse(payload) as I, key),
      signal,
    );
  }

  pending(prefix: string, signal: AbortSignal): Promise<string[]> {
    return this.store.pending(prefix, this.name, signal);
  }
}

/** One branch of a TCC transaction: a participant and its Try's input (see {@link tccBranch}). */
export interface TccBranch {
  readonly participant: TccParticipant<never>;
  readonly input: unknown;
}

/** Pairs `participant` with the input of its Try, type-checked. */
export function tccBranch<I>(participant: TccParticipant<I>, input: I): TccBranch {
  return { participant: participant as TccParticipant<never>, input };
}

/** What the coordinator reports as it goes (also on `faultline:txn:tcc`). */
export type TccStep =
  | {
      readonly kind: 'tried' | 'confirmed' | 'cancelled';
      readonly gid: string;
      readonly participant: string;
    }
  | { readonly kind: 'try-failed'; readonly gid: string; readonly participant: string }
  | { readonly kind: 'decided'; readonly gid: string; readonly outcome: 'confirm' | 'cancel' }
  | {
      readonly kind: 'recovered';
      readonly gid: string;
      readonly participant: string;
      readonly outcome: 'confirm' | 'cancel';
    };

/** Options of a {@link TccCoordinator}. */
export interface TccCoordinatorOptions {
  /** This coordinator's id, 1 to 31 of `[A-Za-z0-9_-]`, stable across restarts; gids start with it. */
  coordinatorId: string;
  /** Where confirm decisions are made durable before the Confirm phase (e.g. `PostgresDecisionLog`). */
  log: DecisionLog;
  /** Every participant this coordinator may use; recovery asks each of them. Unique names. */
  participants: readonly TccParticipant<never>[];
  /**
   * Deadline of each Try, in ms (default 10,000). A Try that misses it is cancelled: if it lands
   * later, the fence refuses it.
   */
  callTimeoutMs?: number;
  /** Attempts of each Confirm and Cancel (default 5, in [1, 100]); the rest is left to recovery. */
  phaseTwoAttempts?: number;
  /** Backoff between Confirm/Cancel attempts (default exponential from 50 ms, capped at 2 s, full jitter). */
  phaseTwoBackoff?: BackoffOptions;
  runtime?: Runtime;
}

/** A confirmed TCC transaction. */
export interface TccResult {
  readonly gid: string;
  /** Participants whose Confirm kept failing: the decision is durable and `recover()` completes them. */
  readonly unfinished: readonly string[];
}

/** What one {@link TccCoordinator.recover} pass did. */
export interface TccRecoveryReport {
  readonly confirmed: number;
  readonly cancelled: number;
  readonly forgotten: number;
  readonly failed: readonly string[];
}

const MAX_BRANCHES = 1000;
const MAX_ACTIVE = 100_000;

/**
 * Runs TCC transactions: every branch's Try in parallel; if all succeed, the confirm decision is
 * written to the log and every branch is confirmed; if one fails or times out, every branch is
 * cancelled (a branch whose Try is still in flight gets a fence row that refuses it). Unlike
 * 2PC nothing holds a database lock between the phases: the reservation is ordinary committed
 * data that others see as reserved.
 *
 * @example
 * const tcc = new TccCoordinator({ coordinatorId: 'orders-1', log, participants: [accounts, stock] });
 * await tcc.recover(); // at start-up
 * await tcc.transaction([tccBranch(accounts, { id: 1, amount: 10 }), tccBranch(stock, { sku: 7, count: 1 })]);
 */
export class TccCoordinator {
  readonly coordinatorId: string;
  private readonly log: DecisionLog;
  private readonly participants: ReadonlyMap<string, TccParticipant<never>>;
  private readonly callTimeoutMs: number;
  private readonly retry: Retry;
  private readonly runtime: Runtime;
  private readonly steps = new Emitter<TccStep>();
  private readonly active = new Set<string>();
  private closed = false;

  constructor(options: TccCoordinatorOptions) {
    this.coordinatorId = coordinatorId('coordinatorId', options.coordinatorId);
    this.log = decisionLog(options.log);
    this.participants = participantsByName(
      options.participants,
      (p) => typeof p?.try === 'function',
      'TccParticipants',
    );
    // The fence's refusals are answers, not failures: retrying them cannot change them.
    const calls = callSettings(
      options,
      (o) => o.kind === 'error' && !isFaultlineErrorFromFence(o.error),
    );
    this.callTimeoutMs = calls.callTimeoutMs;
    this.runtime = calls.runtime;
    this.retry = calls.retry;
  }

  /** Calls `listener` at every step (synchronously). */
  onStep(listener: Listener<TccStep>): Disposable {
    return this.steps.on(listener);
  }

  /**
   * Runs one TCC transaction over `branches` (distinct participants of this coordinator).
   * Resolves once the decision is durable and the Confirms ran; rejects with
   * {@link TxnAbortedError} when a Try failed (every branch cancelled) and with
   * {@link TxnInDoubtError} when the decision's write failed with an unknown outcome.
   */
  async transaction(branches: readonly TccBranch[], signal?: AbortSignal): Promise<TccResult> {
    if (this.closed) throw new RangeError('the coordinator is closed');
    if (this.active.size >= MAX_ACTIVE)
      throw rangeError('transactions in flight', `at most ${MAX_ACTIVE}`, this.active.size + 1);
    this.checkBranches(branches);
    const gid = newGid(this.coordinatorId, this.runtime.random);
    this.active.add(gid);
    try {
      await this.tryAll(gid, branches, signal);
      try {
        await bounded(this.runtime, 'decision log', this.callTimeoutMs, signal, (s) =>
          this.log.recordCommit(
            gid,
            branches.map((b) => b.participant.name),
            s,
          ),
        );
      } catch (error) {
        throw new TxnInDoubtError(gid, { cause: error });
      }
      this.emit({ kind: 'decided', gid, outcome: 'confirm' });
      const unfinished = await this.settle(gid, branches, 'confirm');
      if (unfinished.length === 0)
        await bounded(this.runtime, 'decision log', this.callTimeoutMs, undefined, (s) =>
          this.log.forget(gid, s),
        ).catch(() => undefined);
      return { gid, unfinished };
    } finally {
      this.active.delete(gid);
    }
  }

  private checkBranches(branches: readonly TccBranch[]): void {
    if (!Array.isArray(branches) || branches.length === 0 || branches.length > MAX_BRANCHES)
      throw rangeError('branches', `1 to ${MAX_BRANCHES} branches`, branches?.length);
    const seen = new Set<string>();
    for (const b of branches) {
      const name = b?.participant?.name;
      if (this.participants.get(name) !== b.participant)
        throw rangeError('branches[].participant', "one of the coordinator's participants", name);
      if (seen.has(name)) throw rangeError('branches', 'one branch per participant', name);
      seen.add(name);
    }
  }

  /** Runs every Try; on any failure cancels every branch and throws {@link TxnAbortedError}. */
  private async tryAll(
    gid: string,
    branches: readonly TccBranch[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const results = await Promise.allSettled(
      branches.map(async (b) => {
        const name = b.participant.name;
        try {
          await bounded(this.runtime, `${name} try`, this.callTimeoutMs, signal, (s) =>
            b.participant.try(gid, b.input as never, s),
          );
        } catch (error) {
          this.emit({ kind: 'try-failed', gid, participant: name });
          throw error;
        }
        this.emit({ kind: 'tried', gid, participant: name });
      }),
    );
    const index = results.findIndex((r) => r.status === 'rejected');
    if (index < 0) return;
    const failed = results[index] as PromiseRejectedResult;
    const name = branches[index]?.participant.name ?? '?';
    this.emit({ kind: 'decided', gid, outcome: 'cancel' });
    // Every branch, the failed ones too: a Try that timed out may still land, and the Cancel's
    // fence row is what refuses it then. The failed ones first: recovery finds a transaction by a
    // branch whose Try committed, so while a failed branch has no fence row yet, a tried branch
    // must still be there for recovery to find (it then cancels at every participant).
    const failedBranches = branches.filter((_, i) => results[i]?.status === 'rejected');
    const triedBranches = branches.filter((_, i) => results[i]?.status !== 'rejected');
    await this.settle(gid, failedBranches, 'cancel');
    await this.settle(gid, triedBranches, 'cancel');
    const reason = failed.reason as Error | undefined;
    throw new TxnAbortedError(
      gid,
      `the Try of ${name} failed: ${String(reason?.message ?? reason)}`,
      name,
      { cause: reason },
    );
  }

  /** Confirms or cancels every branch with retries; returns the participants left to recovery. */
  private async settle(
    gid: string,
    branches: readonly TccBranch[],
    outcome: 'confirm' | 'cancel',
  ): Promise<string[]> {
    const unfinished: string[] = [];
    await Promise.all(
      branches.map(async ({ participant: p }) => {
        try {
          await this.retry.execute(() =>
            bounded(this.runtime, `${p.name} ${outcome}`, this.callTimeoutMs, undefined, (s) =>
              outcome === 'confirm' ? p.confirm(gid, s) : p.cancel(gid, s),
            ),
          );
          this.emit({
            kind: outcome === 'confirm' ? 'confirmed' : 'cancelled',
            gid,
            participant: p.name,
          });
        } catch {
          unfinished.push(p.name);
        }
      }),
    );
    return unfinished;
  }

  /**
   * Settles this coordinator's unfinished transactions after a crash: every branch still `tried`
   * under its prefix is confirmed if the log has the decision and cancelled if not (presumed
   * cancel); decision records whose branches are all settled are removed. Run it at start-up.
   *
   * An undecided transaction is cancelled at **every** participant, not only where a Try
   * committed: the coordinator may have died before another branch's Try arrived, and the empty
   * Cancel's fence row is what refuses that Try if it is still on its way. (A transaction none of
   * whose Tries committed leaves no trace to find; a Try of it that lands later is `tried` and the
   * next pass cancels it.)
   */
  async recover(signal?: AbortSignal): Promise<TccRecoveryReport> {
    const prefix = gidPrefix(this.coordinatorId);
    const call = <T>(what: string, fn: (s: AbortSignal) => Promise<T>): Promise<T> =>
      bounded(this.runtime, what, this.callTimeoutMs, signal, fn);
    const decided = new Set(await call('decision log', (s) => this.log.committed(prefix, s)));
    const failed = new Set<string>();
    /** Gids still `tried` somewhere, with the participants where they are. */
    const pending = new Map<string, Set<string>>();
    for (const p of this.participants.values()) {
      try {
        for (const gid of await call(`${p.name} pending`, (s) => p.pending(prefix, s))) {
          if (this.active.has(gid) || !gid.startsWith(prefix)) continue;
          pending.set(gid, (pending.get(gid) ?? new Set<string>()).add(p.name));
        }
      } catch {
        failed.add(p.name);
      }
    }
    let confirmed = 0;
    let cancelled = 0;
    for (const [gid, at] of pending) {
      const confirm = decided.has(gid);
      const outcome = confirm ? 'confirm' : 'cancel';
      for (const p of this.participants.values()) {
        if (confirm && !at.has(p.name)) continue;
        try {
          const result = await call(`${p.name} ${outcome}`, (s) =>
            confirm ? p.confirm(gid, s) : p.cancel(gid, s),
          );
          if (!at.has(p.name)) continue; // An empty Cancel: a fence row, nothing released.
          if (confirm) confirmed++;
          else if (result !== 'empty') cancelled++;
          this.emit({ kind: 'recovered', gid, participant: p.name, outcome });
        } catch {
          failed.add(p.name);
        }
      }
    }
    let forgotten = 0;
    if (failed.size === 0)
      for (const gid of decided) {
        if (this.active.has(gid)) continue;
        await call('decision log', (s) => this.log.forget(gid, s));
        forgotten++;
      }
    return { confirmed, cancelled, forgotten, failed: [...failed] };
  }

  /** Transactions in flight in this process. */
  get inFlight(): number {
    return this.active.size;
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

  private emit(step: TccStep): void {
    assert(step.gid.length > 0, 'a step names its gid');
    publish('tcc', step);
    try {
      this.steps.emit(step);
    } catch {
      // A failing listener must not change the protocol's course.
    }
  }
}

/** True for the fence's typed refusals (hanging Try, nothing reserved, already confirmed). */
function isFaultlineErrorFromFence(error: unknown): boolean {
  return isFaultlineError(error) && error.code.startsWith('FAULTLINE_TCC_');
}

/**
 * Leader election over any {@link ElectionBackend}: the leader holds a lease on the election's key,
 * renews it every `retryPeriodMs`, and steps down when it could not renew for `renewDeadlineMs`
 * (always before the server-side expiry). The lease's fencing token is the term.
 *
 * @module
 */
import { checkSignal, raceAbort, throwIfAborted } from '../core/abort.js';
import { AbortedError } from '../core/errors.js';
import type { Disposable } from '../core/events.js';
import { Emitter, disposable } from '../core/events.js';
import { traced } from '../core/diagnostics.js';
import { systemRuntime } from '../core/system.js';
import { rangeError } from '../core/validate.js';
import { acquireWithWait, startWatch, waitChanged } from './acquire.js';
import { ClientLockBackend } from './client-backend.js';
import { ELECTION_CHANNELS, watchLoss } from './diagnostics.js';
import type { AcquireParams, ResolvedClientOptions } from './options.js';
import { resolveClientOptions } from './options.js';
import { ClientScope, WaiterCount } from './scope.js';
import {
  LOCK_BACKEND_METHODS,
  checkBackend,
  checkBackendKey,
  checkProclaimValue,
  checkTtl,
} from './validate.js';
import { NotLeaderError, isLockLostError } from './errors.js';
import type { LossReason } from './errors.js';
import type { LeaseHandle } from './lease.js';
import type { ElectionBackend, ElectionOptions, LeaderEvent, Leadership } from './types.js';
import { checkValidity } from './validity.js';

/** Why a leader stopped leading: a loss, or its own `resign()` / `close()`. */
export type DemotionReason = LossReason | 'resigned';

/** What `onDemoted` listeners receive. */
export interface Demotion {
  readonly term: bigint;
  readonly reason: DemotionReason;
}

/** The validated timing of an {@link Election} (see {@link ElectionOptions} for each field). */
export interface ElectionTiming {
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

/** Validates client-go's rule: leaseDuration > renewDeadline > retryPeriod × 1.2. */
export function checkElectionTiming(options: ElectionOptions): ElectionTiming {
  const leaseDurationMs = checkTtl('leaseDurationMs', options.leaseDurationMs ?? 15_000);
  const renewDeadlineMs = checkTtl('renewDeadlineMs', options.renewDeadlineMs ?? 10_000);
  const retryPeriodMs = checkTtl('retryPeriodMs', options.retryPeriodMs ?? 2_000);
  if (!(leaseDurationMs > renewDeadlineMs)) {
    throw rangeError(
      'leaseDurationMs',
      `greater than renewDeadlineMs (${renewDeadlineMs})`,
      leaseDurationMs,
    );
  }
  if (!(renewDeadlineMs > retryPeriodMs * 1.2)) {
    throw rangeError(
      'renewDeadlineMs',
      `greater than retryPeriodMs × 1.2 (${retryPeriodMs * 1.2})`,
      renewDeadlineMs,
    );
  }
  return { leaseDurationMs, renewDeadlineMs, retryPeriodMs };
}

function checkCandidate(candidateId: string): string {
  if (
    typeof candidateId !== 'string' ||
    candidateId.length === 0 ||
    candidateId.length > 200 ||
    candidateId.includes('/')
  ) {
    throw rangeError('candidateId', 'a string of 1 to 200 characters without "/"', candidateId);
  }
  return candidateId;
}

/** The candidate id encoded in an election owner (`<128-bit hex>/<candidateId>`). */
export function candidateOf(owner: string): string {
  const slash = owner.indexOf('/');
  return slash < 0 ? owner : owner.slice(slash + 1);
}

function sameEvent(a: LeaderEvent | undefined, b: LeaderEvent): boolean {
  if (a === undefined || a.kind !== b.kind) return false;
  return (
    a.kind === 'none' ||
    (b.kind === 'leader' &&
      a.term === b.term &&
      a.candidateId === b.candidateId &&
      a.value === b.value)
  );
}

/**
 * One candidate in a lease-based leader election.
 *
 * @example
 * const election = new Election(new MemoryLockBackend(), { key: 'scheduler', candidateId: 'pod-a' });
 * election.onDemoted(({ reason }) => console.warn('stepped down:', reason));
 * const leadership = await election.campaign();
 * await runScheduler({ signal: leadership.signal, fencingToken: leadership.term });
 */
export class Election {
  /** The backend this candidate talks to. */
  readonly backend: ElectionBackend;
  /** The election's key. */
  readonly key: string;
  /** This candidate's readable id. */
  readonly candidateId: string;
  /** The validated timing. */
  readonly timing: ElectionTiming;
  private readonly options: ResolvedClientOptions;
  /** The backend with this candidate's deadlines applied to every call. */
  private readonly client: ClientLockBackend;
  private readonly waiters = new WaiterCount(1);
  private readonly scope = new ClientScope();
  private readonly elected = new Emitter<Leadership>(100);
  private readonly demoted = new Emitter<Demotion>(100);
  private readonly observers = new Emitter<LeaderEvent>(1_000);
  private current: Leadership | undefined;
  private campaigning: Promise<Leadership> | undefined;
  private stopObserving: (() => void) | undefined;

  constructor(backend: ElectionBackend, options: ElectionOptions) {
    checkBackend(backend, 'ElectionBackend', LOCK_BACKEND_METHODS);
    if (typeof options !== 'object' || options === null)
      throw rangeError('options', 'an object', options);
    this.backend = backend;
    this.key = checkBackendKey(backend, 'key', options.key);
    this.candidateId = checkCandidate(options.candidateId);
    this.timing = checkElectionTiming(options);
    const recheckMs = options.recheckMs ?? this.timing.retryPeriodMs;
    this.options = resolveClientOptions({ ...options, recheckMs }, systemRuntime);
    checkValidity('leaseDurationMs', this.options, this.timing.leaseDurationMs);
    this.client = new ClientLockBackend(backend, this.options);
  }

  /** The leadership this candidate holds now, if any. */
  get leadership(): Leadership | undefined {
    return this.current?.valid === true ? this.current : undefined;
  }

  /**
   * Waits until this candidate leads and resolves with its {@link Leadership}; resolves at once when
   * it already leads. Rejects with the signal's reason on abort. Concurrent calls share one
   * campaign: the first caller's signal cancels the campaign itself, a later caller's signal only
   * its own wait.
   */
  campaign(options: { signal?: AbortSignal } = {}): Promise<Leadership> {
    const call = ELECTION_CHANNELS.campaign;
    if (call === undefined || !call.hasSubscribers) return this.joinCampaign(options);
    return traced(
      call,
      () => ({ resource: this }),
      () => this.joinCampaign(options),
    );
  }

  private joinCampaign(options: { signal?: AbortSignal }): Promise<Leadership> {
    if (typeof options !== 'object' || options === null)
      throw rangeError('options', 'an object', options);
    throwIfAborted(checkSignal('signal', options.signal));
    const held = this.leadership;
    if (held !== undefined) return Promise.resolve(held);
    if (this.campaigning !== undefined) return raceAbort(this.campaigning, options.signal);
    const run = this.run(options.signal).finally(() => {
      this.campaigning = undefined;
    });
    this.campaigning = run;
    return run;
  }

  /** Steps down (releases the lease) if this candidate leads. */
  async resign(): Promise<void> {
    const held = this.current;
    this.current = undefined;
    await held?.release();
  }

  /** The current leader according to the backend. */
  async leader(signal?: AbortSignal): Promise<LeaderEvent> {
    throwIfAborted(checkSignal('signal', signal));
    const holder = await this.client.holder(this.key, signal);
    if (holder === null) return { kind: 'none' };
    const event: LeaderEvent = {
      kind: 'leader',
      candidateId: candidateOf(holder.owner),
      term: holder.token,
    };
    return holder.value === undefined ? event : { ...event, value: holder.value };
  }

  /**
   * Publishes `value` as this leader's value without a new election (etcd's `Proclaim`): the term,
   * the lease and its deadline stay as they are, and followers that `observe()` the election get
   * an event with the new `value` (so do calls of `leader()`). The write is atomic with the check
   * that this candidate still holds the election's lease under its term, on the server.
   *
   * Rejects with {@link NotLeaderError} when this candidate does not lead (never elected, resigned,
   * demoted, or the server answers that its lease is gone; a renewal then reports the loss), with a
   * `RangeError` for a value that is not a well-formed string of at most 65,536 characters, and
   * with a `TypeError` when the backend cannot proclaim (it has no `proclaim` method).
   *
   * @example
   * const leadership = await election.campaign();
   * await election.proclaim('10.0.0.7:8080'); // followers see { kind: 'leader', value: '10.0.0.7:8080', ... }
   */
  async proclaim(value: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    checkProclaimValue('value', value);
    if (typeof options !== 'object' || options === null)
      throw rangeError('options', 'an object', options);
    throwIfAborted(checkSignal('signal', options.signal));
    if (typeof this.backend.proclaim !== 'function')
      throw new TypeError(
        `backend ${this.backend.name} cannot proclaim (it has no proclaim method)`,
      );
    const held = this.leadership;
    if (held === undefined) throw this.notLeader('it does not lead');
    const result = await this.client.proclaim(
      this.key,
      held.owner,
      held.term,
      value,
      options.signal,
    );
    if (result.kind === 'not-holder')
      throw this.notLeader(`the server no longer grants it term ${held.term}`);
  }

  /**
   * Calls `listener` with the current leader, then on every change (event-driven through the
   * backend's change notifications, rechecked every `retryPeriodMs`). Dispose to stop.
   */
  observe(listener: (event: LeaderEvent) => void): Disposable {
    const sub = this.observers.on(listener);
    if (this.stopObserving === undefined) this.startObserving();
    return disposable(() => {
      sub.dispose();
      if (this.observers.size === 0) this.stopObserving?.();
    });
  }

  /** Calls `listener` each time this candidate becomes leader. */
  onElected(listener: (leadership: Leadership) => void): Disposable {
    return this.elected.on(listener);
  }

  /** Calls `listener` each time this candidate stops leading, with the term and the reason. */
  onDemoted(listener: (demotion: Demotion) => void): Disposable {
    return this.demoted.on(listener);
  }

  /** Resigns, stops campaigning and observing. */
  async close(): Promise<void> {
    this.stopObserving?.();
    this.observers.clear();
    this.current = undefined;
    await this.scope.close();
    this.client.close();
  }

  /** Same as {@link Election.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private async run(signal: AbortSignal | undefined): Promise<Leadership> {
    const params: AcquireParams = {
      ttlMs: this.timing.leaseDurationMs,
      waitMs: Number.POSITIVE_INFINITY,
      stop: this.scope.link(signal),
      renewEveryMs: this.timing.retryPeriodMs,
      maxValidityMs: this.timing.renewDeadlineMs,
      ownerSuffix: this.candidateId,
    };
    const lease = this.scope.track(
      await acquireWithWait(this.options, this.client.target(this.key), params, this.waiters),
    );
    const leadership = Object.defineProperty(lease, 'term', {
      value: lease.token,
      enumerable: true,
    }) as LeaseHandle & Leadership;
    this.current = leadership;
    // Once per leadership, however many callers `campaign()` resolves for.
    watchLoss(ELECTION_CHANNELS.lost, leadership);
    lease.signal.addEventListener('abort', () => this.demote(leadership), { once: true });
    this.safeEmit(this.elected, leadership);
    return leadership;
  }

  private demote(leadership: Leadership): void {
    if (this.current === leadership) this.current = undefined;
    const reason = leadership.signal.reason as unknown;
    const demotion: Demotion = {
      term: leadership.term,
      reason: isLockLostError(reason) ? reason.reason : 'resigned',
    };
    this.safeEmit(this.demoted, demotion);
  }

  private notLeader(why: string): NotLeaderError {
    return new NotLeaderError(
      `candidate ${this.candidateId} cannot proclaim in election ${this.key}: ${why}`,
    );
  }

  private safeEmit<T>(emitter: Emitter<T>, event: T): void {
    // A listener's failure must not break the election's own bookkeeping: `notify` isolates it
    // and reports it on `faultline:events:listener-error`.
    emitter.notify(event);
  }

  private startObserving(): void {
    const controller = new AbortController();
    this.stopObserving = () => {
      controller.abort(new AbortedError('observation stopped'));
      this.stopObserving = undefined;
    };
    void this.observeLoop(controller.signal).catch(() => undefined);
  }

  private async observeLoop(signal: AbortSignal): Promise<void> {
    let last: LeaderEvent | undefined;
    const target = this.client.target(this.key);
    while (!signal.aborted) {
      const watch = startWatch(target);
      try {
        const event = await this.leader(signal);
        if (!sameEvent(last, event)) {
          last = event;
          this.safeEmit(this.observers, event);
        }
      } catch {
        // Unknown leader for now; retry after the recheck below.
      }
      try {
        await waitChanged(this.options, watch, this.timing.retryPeriodMs, signal);
      } finally {
        watch.stop();
      }
    }
  }
}

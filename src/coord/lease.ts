/**
 * The client side of one held lease, shared by locks, semaphore permits and leadership terms: the
 * client-side deadline, its `signal`, serialized renewals, the watchdog and loss reporting.
 *
 * @module
 */
import { assert } from '../core/assert.js';
import type { Disposable } from '../core/events.js';
import { Emitter, noopDisposable } from '../core/events.js';
import type { Cancel } from '../core/runtime.js';
import type { LeaseOps } from './client-backend.js';
import type { ResolvedClientOptions } from './options.js';
import type { LossReason } from './errors.js';
import { LeaseReleasedError, LockLostError } from './errors.js';
import { checkValidity, validityMs } from './validity.js';
import type { ExtendResult, Lease } from './types.js';
import { checkTtl } from './validate.js';

/** Shortest timer the lease arms, in ms. */
const MIN_TIMER_MS = 0.001;

/** Everything needed to create a {@link LeaseHandle} from a grant. */
export interface LeaseInit {
  readonly key: string;
  readonly owner: string;
  readonly token: bigint;
  /** The TTL the acquire asked for (the default of `extend()`). */
  readonly requestedTtlMs: number;
  /** The TTL the server applied to the grant. */
  readonly grantedTtlMs: number;
  /** Monotonic time at which the grant request was sent. */
  readonly sentAtMs: number;
  readonly options: ResolvedClientOptions;
  readonly ops: LeaseOps;
  /** Renewal interval of the watchdog in ms, or undefined for no watchdog. */
  readonly renewEveryMs: number | undefined;
  /**
   * Upper bound on validity after each successful grant or renewal, in ms (the election's
   * `renewDeadlineMs`): the holder steps down after it even when the TTL would allow longer.
   */
  readonly maxValidityMs: number | undefined;
}

/** Client-side validity after a grant or renewal sent at `sentAtMs` with `ttlMs` applied. */
export function clientDeadline(init: LeaseInit, sentAtMs: number, ttlMs: number): number {
  return sentAtMs + validityMs(init.options, ttlMs, init.maxValidityMs);
}

/** How a lease ended: released by its holder, or lost (with the error that says why). */
export type LeaseEnding = { kind: 'released' } | { kind: 'lost'; error: LockLostError };

/** The ending of every released lease (one object: nothing to allocate per release). */
const RELEASED: LeaseEnding = Object.freeze({ kind: 'released' });

const ignore = (): void => undefined;
type Ending = LeaseEnding;

/**
 * A held lease. Created only by the clients; see {@link Lease} for the contract.
 *
 * The success path allocates no `AbortController` and no error: the controller is created the
 * first time someone reads `signal` (already aborted if the lease has ended), the
 * `LeaseReleasedError` only when someone asks why a released lease ended, and the loss emitter only
 * when someone listens. `valid`, `remainingMs()` and `assertValid()` check the deadline without
 * creating either.
 */
export class LeaseHandle implements Lease {
  readonly key: string;
  readonly owner: string;
  readonly token: bigint;
  private readonly init: LeaseInit;
  private controller: AbortController | undefined;
  private ending: Ending | undefined;
  private releasedError: LeaseReleasedError | undefined;
  private lost: Emitter<LockLostError> | undefined;
  /** The client's bookkeeping hook, called once when the lease ends (see `ClientScope`). */
  private onEnded: ((ending: Ending) => void) | undefined;
  private deadlineMs: number;
  private cancelDeadline: Cancel | undefined;
  private cancelWatchdog: Cancel | undefined;
  private chain: Promise<unknown> | undefined;
  private lastRenewalFailed = false;
  /** A deadline timer is armed (see `observe`). */
  private observed = false;
  private releasing: Promise<void> | undefined;

  constructor(init: LeaseInit) {
    assert(init.token > 0n, 'fencing tokens are > 0');
    this.init = init;
    this.key = init.key;
    this.owner = init.owner;
    this.token = init.token;
    this.deadlineMs = clientDeadline(init, init.sentAtMs, init.grantedTtlMs);
    if (init.renewEveryMs !== undefined) {
      this.observe();
      this.armWatchdog(init.renewEveryMs);
    }
  }

  /** The monotonic time at which the client stops believing in the lease. */
  get deadline(): number {
    return this.deadlineMs;
  }

  get signal(): AbortSignal {
    this.checkDeadline();
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.ending !== undefined) this.controller.abort(this.endReason(this.ending));
      this.observe();
    }
    return this.controller.signal;
  }

  get valid(): boolean {
    this.checkDeadline();
    return this.ending === undefined;
  }

  remainingMs(): number {
    if (!this.valid) return 0;
    return Math.max(0, this.deadlineMs - this.init.options.runtime.clock.monotonicMs());
  }

  assertValid(): void {
    this.checkDeadline();
    if (this.ending !== undefined) throw this.endReason(this.ending);
  }

  onLost(listener: (error: LockLostError) => void): Disposable {
    if (this.ending !== undefined) return noopDisposable;
    this.lost ??= new Emitter<LockLostError>(100);
    this.observe();
    return this.lost.on(listener);
  }

  extend(ttlMs?: number): Promise<void> {
    let ttl: number;
    try {
      ttl = checkValidity(
        'ttlMs',
        this.init.options,
        checkTtl('ttlMs', ttlMs ?? this.init.requestedTtlMs),
      );
    } catch (error) {
      return Promise.reject(error);
    }
    // Renewals run one at a time: the deadline must come from the renewal the server applied last.
    const run =
      this.chain === undefined ? this.extendNow(ttl) : this.chain.then(() => this.extendNow(ttl));
    this.chain = run.catch(() => undefined);
    return run;
  }

  release(): Promise<void> {
    this.releasing ??= this.releaseNow();
    return this.releasing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /** Registers the client's hook called once when the lease ends (released or lost). */
  whenEnded(hook: (ending: LeaseEnding) => void): void {
    assert(this.onEnded === undefined, 'one end hook per lease');
    if (this.ending !== undefined) hook(this.ending);
    else this.onEnded = hook;
  }

  /** Ends the lease as lost (idempotent). Used by the watchdog, the deadline timer and the clients. */
  loseWith(reason: LossReason, cause?: unknown): void {
    if (this.ending !== undefined) return;
    const error = new LockLostError(
      this.key,
      this.token,
      reason,
      cause === undefined ? undefined : { cause },
    );
    this.end({ kind: 'lost', error });
    const lost = this.lost;
    this.lost = undefined;
    if (lost === undefined) return;
    // A listener that throws is isolated: the loss is recorded whatever listeners do.
    lost.notify(error);
    lost.clear();
  }

  /** Marks the lease ended: stops its timers, aborts a signal someone holds, calls the hook. */
  private end(ending: Ending): void {
    this.ending = ending;
    this.stopTimers();
    this.controller?.abort(this.endReason(ending));
    const hook = this.onEnded;
    this.onEnded = undefined;
    hook?.(ending);
  }

  private endReason(ending: Ending): LockLostError | LeaseReleasedError {
    if (ending.kind === 'lost') return ending.error;
    this.releasedError ??= new LeaseReleasedError(this.key, this.token);
    return this.releasedError;
  }

  private async extendNow(ttlMs: number): Promise<void> {
    this.assertValid();
    const sentAt = this.init.options.runtime.clock.monotonicMs();
    let result: ExtendResult;
    try {
      result = await this.init.ops.extend(this.token, ttlMs);
    } catch (error) {
      this.lastRenewalFailed = true;
      throw error;
    }
    this.lastRenewalFailed = false;
    if (result.kind === 'lost') {
      this.loseWith(result.reason);
      this.assertValid();
      return;
    }
    this.assertValid();
    this.deadlineMs = clientDeadline(this.init, sentAt, result.ttlMs);
    if (this.observed) this.armDeadline();
  }

  private releaseNow(): Promise<void> {
    if (this.ending === undefined) {
      this.end(RELEASED);
      this.lost = undefined;
    }
    // Best effort: the lease is owner-checked on the server and expires by its TTL anyway. (A
    // `then`, not an async frame: every release comes through here.)
    return this.init.ops.release().then(ignore, ignore);
  }

  private checkDeadline(): void {
    if (this.ending !== undefined) return;
    if (this.init.options.runtime.clock.monotonicMs() >= this.deadlineMs) {
      this.loseWith(this.lastRenewalFailed ? 'unreachable' : 'expired');
    }
  }

  /**
   * Someone can observe the loss asynchronously (a signal, a loss listener, the watchdog): from now
   * on a timer ends the lease at its deadline. Until then nothing can tell the difference, because
   * every synchronous read (`valid`, `signal`, `assertValid`, `remainingMs`) checks the deadline
   * itself; a lease nobody observes costs no timer.
   */
  /** @internal Arms the deadline timer, so a loss is reported when it happens, not when read. */
  observe(): void {
    if (this.observed) return;
    this.observed = true;
    if (this.ending === undefined) this.armDeadline();
  }

  private armDeadline(): void {
    this.cancelDeadline?.();
    const { runtime } = this.init.options;
    // At least a microsecond, so a timer that fires a hair early never re-arms at the same instant.
    const delay = Math.max(MIN_TIMER_MS, this.deadlineMs - runtime.clock.monotonicMs());
    this.cancelDeadline = runtime.timers.setTimer(delay, () => {
      this.cancelDeadline = undefined;
      this.checkDeadline();
      // A timer may fire a hair early relative to the clock; re-arm until the deadline has passed.
      if (this.ending === undefined) this.armDeadline();
    });
  }

  private armWatchdog(delayMs: number): void {
    const everyMs = this.init.renewEveryMs ?? delayMs;
    this.cancelWatchdog = this.init.options.runtime.timers.setTimer(delayMs, () => {
      this.cancelWatchdog = undefined;
      this.extend().then(
        () => this.rearmWatchdog(everyMs),
        // A failed renewal is retried sooner; a loss was already reported through the signal.
        () => this.rearmWatchdog(everyMs / 2),
      );
    });
  }

  private rearmWatchdog(delayMs: number): void {
    if (this.ending !== undefined || this.cancelWatchdog !== undefined) return;
    this.armWatchdog(delayMs);
  }

  private stopTimers(): void {
    this.cancelDeadline?.();
    this.cancelDeadline = undefined;
    this.cancelWatchdog?.();
    this.cancelWatchdog = undefined;
  }
}

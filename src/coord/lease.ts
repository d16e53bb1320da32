/**
 * The client side of one held lease, shared by locks, semaphore permits and leadership terms: the
 * client-side deadline, its `signal`, serialized renewals, the watchdog and loss reporting.
 *
 * @module
 */
import { assert } from '../core/assert.js';
import type { Disposable } from '../core/events.js';
import { Emitter } from '../core/events.js';
import type { Cancel } from '../core/runtime.js';
import type { ResolvedClientOptions } from './call.js';
import { callWithDeadline, checkTtl } from './call.js';
import type { LossReason } from './errors.js';
import { LeaseReleasedError, LockLostError } from './errors.js';
import type { CallOptions, ExtendResult, Lease } from './types.js';

/** Shortest timer the lease arms, in ms. */
const MIN_TIMER_MS = 0.001;

/** The two server operations a held lease needs, bound to its key and owner. */
export interface LeaseOps {
  extend(token: bigint, ttlMs: number, options: CallOptions): Promise<ExtendResult>;
  release(options: CallOptions): Promise<void>;
}

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
  const { driftFactor, driftMarginMs } = init.options;
  const validity = ttlMs * (1 - driftFactor) - driftMarginMs;
  return sentAtMs + Math.min(validity, init.maxValidityMs ?? validity);
}

/** A held lease. Created only by the clients; see {@link Lease} for the contract. */
export class LeaseHandle implements Lease {
  readonly key: string;
  readonly owner: string;
  readonly token: bigint;
  private readonly init: LeaseInit;
  private readonly controller = new AbortController();
  private readonly lost = new Emitter<LockLostError>(100);
  private deadlineMs: number;
  private cancelDeadline: Cancel | undefined;
  private cancelWatchdog: Cancel | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private lastRenewalFailed = false;
  private releasing: Promise<void> | undefined;

  constructor(init: LeaseInit) {
    assert(init.token > 0n, 'fencing tokens are > 0');
    this.init = init;
    this.key = init.key;
    this.owner = init.owner;
    this.token = init.token;
    this.deadlineMs = clientDeadline(init, init.sentAtMs, init.grantedTtlMs);
    this.armDeadline();
    if (init.renewEveryMs !== undefined) this.armWatchdog(init.renewEveryMs);
  }

  /** The monotonic time at which the client stops believing in the lease. */
  get deadline(): number {
    return this.deadlineMs;
  }

  get signal(): AbortSignal {
    this.checkDeadline();
    return this.controller.signal;
  }

  get valid(): boolean {
    return !this.signal.aborted;
  }

  remainingMs(): number {
    if (!this.valid) return 0;
    return Math.max(0, this.deadlineMs - this.init.options.runtime.clock.monotonicMs());
  }

  assertValid(): void {
    const signal = this.signal;
    if (signal.aborted) throw signal.reason;
  }

  onLost(listener: (error: LockLostError) => void): Disposable {
    return this.lost.on(listener);
  }

  extend(ttlMs?: number): Promise<void> {
    const ttl = checkTtl('ttlMs', ttlMs ?? this.init.requestedTtlMs);
    // Renewals run one at a time: the deadline must come from the renewal the server applied last.
    const run = this.chain.then(() => this.extendNow(ttl));
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

  /** Ends the lease as lost (idempotent). Used by the watchdog, the deadline timer and the clients. */
  loseWith(reason: LossReason, cause?: unknown): void {
    if (this.controller.signal.aborted) return;
    const error = new LockLostError(
      this.key,
      this.token,
      reason,
      cause === undefined ? undefined : { cause },
    );
    this.stopTimers();
    this.controller.abort(error);
    try {
      this.lost.emit(error);
    } finally {
      this.lost.clear();
    }
  }

  private async extendNow(ttlMs: number): Promise<void> {
    this.assertValid();
    const { runtime, callTimeoutMs } = this.init.options;
    const sentAt = runtime.clock.monotonicMs();
    let result: ExtendResult;
    try {
      result = await callWithDeadline(runtime, 'extend', callTimeoutMs, undefined, (o) =>
        this.init.ops.extend(this.token, ttlMs, o),
      );
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
    this.armDeadline();
  }

  private async releaseNow(): Promise<void> {
    const { runtime, callTimeoutMs } = this.init.options;
    if (!this.controller.signal.aborted) {
      this.stopTimers();
      this.controller.abort(new LeaseReleasedError(this.key, this.token));
      this.lost.clear();
    }
    try {
      await callWithDeadline(runtime, 'release', callTimeoutMs, undefined, (o) =>
        this.init.ops.release(o),
      );
    } catch {
      // Best effort: the lease is owner-checked on the server and expires by its TTL anyway.
    }
  }

  private checkDeadline(): void {
    if (this.controller.signal.aborted) return;
    if (this.init.options.runtime.clock.monotonicMs() >= this.deadlineMs) {
      this.loseWith(this.lastRenewalFailed ? 'unreachable' : 'expired');
    }
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
      if (!this.controller.signal.aborted) this.armDeadline();
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
    if (this.controller.signal.aborted || this.cancelWatchdog !== undefined) return;
    this.armWatchdog(delayMs);
  }

  private stopTimers(): void {
    this.cancelDeadline?.();
    this.cancelDeadline = undefined;
    this.cancelWatchdog?.();
    this.cancelWatchdog = undefined;
  }
}

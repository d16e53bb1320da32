/**
 * A backend as one client sees it: every SPI call carries the client's deadline (`callTimeoutMs`,
 * or a queued wait's chunk) and its stop, applied here once, so the acquire loop and the lease read
 * as the protocol they are (`target.tryAcquire(owner, ttlMs, stop)`) and never build `CallOptions`
 * themselves. Built once per client, with the client's own {@link CallDeadlines}.
 *
 * @module
 */
import type { Abortable } from '../core/abort.js';
import { CallDeadlines } from './deadlines.js';
import { isBackendUnavailableError } from './errors.js';
import type { ResolvedClientOptions } from './options.js';
import type {
  AcquireResult,
  CallOptions,
  ExtendResult,
  Holder,
  LockBackend,
  ProclaimResult,
  SemaphoreBackend,
  SemaphoreCallOptions,
} from './types.js';

const NO_QUEUE: Queueing = Object.freeze({ kind: 'none' });

/** How much earlier than its delay a timer may fire, as the monotonic clock sees it, in ms. */
const TIMER_SLACK_MS = 2;

/** How a key's backend queues waiters, as the acquire loop needs to know it. */
export type Queueing =
  /** No server-side queue: the client attempts, then waits on a change notification. */
  | { readonly kind: 'none' }
  /**
   * A server-side queue. `tryFirst`: make a plain attempt before queueing (see
   * `LockBackend.tryBeforeQueue`); `keepsPlace`: the chunks of one wait may share an owner (see
   * `LockBackend.keepsQueuePlace`).
   */
  | { readonly kind: 'queued'; readonly tryFirst: boolean; readonly keepsPlace: boolean };

/** The two server operations a held lease needs, bound to its key and owner, deadlines applied. */
export interface LeaseOps {
  /** Renews; `stop` releases the caller at once (a confirming extend of a waiting acquire). */
  extend(token: bigint, ttlMs: number, stop?: Abortable): Promise<ExtendResult>;
  release(): Promise<void>;
}

/** One key of one backend, as the acquire loop sees it (deadlines applied). */
export interface AcquireTarget {
  readonly key: string;
  readonly queueing: Queueing;
  /** One plain attempt. */
  tryAcquire(owner: string, ttlMs: number, stop: Abortable | undefined): Promise<AcquireResult>;
  /**
   * One chunk of a queued wait of at most `waitMs` (only when `queueing.kind` is `queued`): a grant,
   * or `busy` when the chunk ended (its end is the normal end of a chunk, not a failure).
   */
  acquireQueued(
    owner: string,
    ttlMs: number,
    waitMs: number,
    stop: Abortable | undefined,
  ): Promise<AcquireResult>;
  /** The backend's raw change notification (the caller owns the signal: a watch has no deadline). */
  waitForChange(options: CallOptions): Promise<void>;
  /** The lease operations of `owner`'s lease on this key. */
  lease(owner: string): LeaseOps;
}

/** The shared part of the per-client backends: the client's deadlines and call timeout. */
abstract class ClientBackendBase {
  protected readonly deadlines: CallDeadlines;
  protected readonly callTimeoutMs: number;

  constructor(protected readonly options: ResolvedClientOptions) {
    this.deadlines = new CallDeadlines(options.runtime);
    this.callTimeoutMs = options.callTimeoutMs;
  }

  /** The client closed: cancels the deadline timer (see {@link CallDeadlines.close}). */
  close(): void {
    this.deadlines.close();
  }

  /** Runs `fn` with the client's call deadline and `stop`. */
  protected bounded<T>(
    operation: string,
    stop: Abortable | undefined,
    fn: (options: CallOptions) => Promise<T>,
  ): Promise<T> {
    return this.deadlines.shared(operation, this.callTimeoutMs, stop, fn);
  }
}

/** A {@link LockBackend} seen through one client. */
export class ClientLockBackend extends ClientBackendBase {
  readonly queueing: Queueing;

  constructor(
    readonly backend: LockBackend,
    options: ResolvedClientOptions,
  ) {
    super(options);
    this.queueing = queueingOf(backend);
  }

  /** The acquire target of `key` (one object with methods: no closures per acquire). */
  target(key: string): AcquireTarget {
    return new LockTarget(this, key);
  }

  tryAcquire(
    key: string,
    owner: string,
    ttlMs: number,
    stop: Abortable | undefined,
  ): Promise<AcquireResult> {
    return this.bounded('tryAcquire', stop, (o) => this.backend.tryAcquire(key, owner, ttlMs, o));
  }

  /**
   * A queued chunk of at most `waitMs` with a signal of its own (the backend must leave its queue
   * as soon as the caller gives up). The chunk's own deadline answers `busy`. (A system timer can
   * fire up to a millisecond before the monotonic clock shows its delay as passed.)
   */
  async acquireQueued(
    key: string,
    owner: string,
    ttlMs: number,
    waitMs: number,
    stop: Abortable | undefined,
  ): Promise<AcquireResult> {
    const { clock } = this.options.runtime;
    const sentAtMs = clock.monotonicMs();
    const queued = this.backend.acquireQueued;
    if (queued === undefined) return this.tryAcquire(key, owner, ttlMs, stop);
    try {
      return await this.deadlines.call(
        { operation: 'acquireQueued', timeoutMs: waitMs, stop, signal: 'exclusive' },
        (o) => queued.call(this.backend, key, owner, ttlMs, o),
      );
    } catch (error) {
      const elapsed = clock.monotonicMs() - sentAtMs;
      if (isBackendUnavailableError(error) && elapsed >= waitMs - TIMER_SLACK_MS) {
        return { kind: 'busy', retryAfterMs: 0 };
      }
      throw error;
    }
  }

  extend(
    key: string,
    owner: string,
    token: bigint,
    ttlMs: number,
    stop?: Abortable,
  ): Promise<ExtendResult> {
    return this.bounded('extend', stop, (o) => this.backend.extend(key, owner, token, ttlMs, o));
  }

  release(key: string, owner: string): Promise<void> {
    return this.bounded('release', undefined, (o) => this.backend.release(key, owner, o));
  }

  holder(key: string, stop: Abortable | undefined): Promise<Holder | null> {
    return this.bounded('holder', stop, (o) => this.backend.holder(key, o));
  }

  /** The backend's `proclaim` (the caller checked that it has one). */
  proclaim(
    key: string,
    owner: string,
    token: bigint,
    value: string,
    stop: Abortable | undefined,
  ): Promise<ProclaimResult> {
    const proclaim = this.backend.proclaim;
    if (proclaim === undefined) throw new TypeError(`backend ${this.backend.name} cannot proclaim`);
    return this.bounded('proclaim', stop, (o) =>
      proclaim.call(this.backend, key, owner, token, value, o),
    );
  }
}

/** The {@link LeaseOps} of one owner's lease on a lock backend. */
class LockLeaseOps implements LeaseOps {
  constructor(
    private readonly b: ClientLockBackend,
    private readonly key: string,
    private readonly owner: string,
  ) {}

  extend(token: bigint, ttlMs: number, stop?: Abortable): Promise<ExtendResult> {
    return this.b.extend(this.key, this.owner, token, ttlMs, stop);
  }

  release(): Promise<void> {
    return this.b.release(this.key, this.owner);
  }
}

/** The {@link AcquireTarget} of one key on a lock backend. */
class LockTarget implements AcquireTarget {
  readonly queueing: Queueing;

  constructor(
    private readonly b: ClientLockBackend,
    readonly key: string,
  ) {
    this.queueing = b.queueing;
  }

  tryAcquire(owner: string, ttlMs: number, stop: Abortable | undefined): Promise<AcquireResult> {
    return this.b.tryAcquire(this.key, owner, ttlMs, stop);
  }

  acquireQueued(
    owner: string,
    ttlMs: number,
    waitMs: number,
    stop: Abortable | undefined,
  ): Promise<AcquireResult> {
    return this.b.acquireQueued(this.key, owner, ttlMs, waitMs, stop);
  }

  waitForChange(options: CallOptions): Promise<void> {
    return this.b.backend.waitForChange(this.key, options);
  }

  lease(owner: string): LeaseOps {
    return new LockLeaseOps(this.b, this.key, owner);
  }
}

/** How `backend` queues, from its optional SPI members. */
function queueingOf(backend: {
  readonly acquireQueued?: unknown;
  readonly tryBeforeQueue?: boolean;
  readonly keepsQueuePlace?: boolean;
}): Queueing {
  return backend.acquireQueued === undefined
    ? NO_QUEUE
    : {
        kind: 'queued',
        tryFirst: backend.tryBeforeQueue === true,
        keepsPlace: backend.keepsQueuePlace === true,
      };
}

/** A {@link SemaphoreBackend} seen through one client of `permits` permits per key. */
export class ClientSemaphoreBackend extends ClientBackendBase {
  readonly queueing: Queueing;

  constructor(
    readonly backend: SemaphoreBackend,
    readonly permits: number,
    options: ResolvedClientOptions,
  ) {
    super(options);
    this.queueing = queueingOf(backend);
  }

  /** The acquire target of `key` for leases of `count` permits. */
  target(key: string, count: number): AcquireTarget {
    return new SemaphoreTarget(this, key, count);
  }

  tryAcquire(
    key: string,
    owner: string,
    count: number,
    ttlMs: number,
    stop: Abortable | undefined,
  ): Promise<AcquireResult> {
    return this.bounded('tryAcquire', stop, (o) =>
      this.backend.tryAcquire(key, owner, this.permits, ttlMs, withPermits(o, count)),
    );
  }

  /** A queued chunk of at most `waitMs`, as {@link ClientLockBackend.acquireQueued}. */
  async acquireQueued(
    key: string,
    owner: string,
    count: number,
    ttlMs: number,
    waitMs: number,
    stop: Abortable | undefined,
  ): Promise<AcquireResult> {
    const { clock } = this.options.runtime;
    const sentAtMs = clock.monotonicMs();
    const queued = this.backend.acquireQueued;
    if (queued === undefined) return this.tryAcquire(key, owner, count, ttlMs, stop);
    try {
      return await this.deadlines.call(
        { operation: 'acquireQueued', timeoutMs: waitMs, stop, signal: 'exclusive' },
        (o) => queued.call(this.backend, key, owner, this.permits, ttlMs, withPermits(o, count)),
      );
    } catch (error) {
      const elapsed = clock.monotonicMs() - sentAtMs;
      if (isBackendUnavailableError(error) && elapsed >= waitMs - TIMER_SLACK_MS) {
        return { kind: 'busy', retryAfterMs: 0 };
      }
      throw error;
    }
  }

  extend(
    key: string,
    owner: string,
    token: bigint,
    ttlMs: number,
    stop?: Abortable,
  ): Promise<ExtendResult> {
    return this.bounded('extend', stop, (o) => this.backend.extend(key, owner, token, ttlMs, o));
  }

  release(key: string, owner: string): Promise<void> {
    return this.bounded('release', undefined, (o) => this.backend.release(key, owner, o));
  }

  holders(key: string, stop: Abortable | undefined): Promise<readonly Holder[]> {
    return this.bounded('holders', stop, (o) => this.backend.holders(key, o));
  }
}

/** The call options with `permits` added when above 1 (a single permit sends the options as they are). */
function withPermits(o: CallOptions, count: number): SemaphoreCallOptions {
  return count === 1
    ? o
    : { signal: o.signal, callerSettles: o.callerSettles === true, permits: count };
}

/** The {@link AcquireTarget} of one key on a semaphore backend, for leases of `count` permits. */
class SemaphoreTarget implements AcquireTarget {
  readonly queueing: Queueing;

  constructor(
    private readonly b: ClientSemaphoreBackend,
    readonly key: string,
    private readonly count: number,
  ) {
    this.queueing = b.queueing;
  }

  tryAcquire(owner: string, ttlMs: number, stop: Abortable | undefined): Promise<AcquireResult> {
    return this.b.tryAcquire(this.key, owner, this.count, ttlMs, stop);
  }

  acquireQueued(
    owner: string,
    ttlMs: number,
    waitMs: number,
    stop: Abortable | undefined,
  ): Promise<AcquireResult> {
    return this.b.acquireQueued(this.key, owner, this.count, ttlMs, waitMs, stop);
  }

  waitForChange(options: CallOptions): Promise<void> {
    return this.b.backend.waitForChange(this.key, options);
  }

  lease(owner: string): LeaseOps {
    const b = this.b;
    const key = this.key;
    return {
      extend: (token, ttlMs, stop) => b.extend(key, owner, token, ttlMs, stop),
      release: () => b.release(key, owner),
    };
  }
}

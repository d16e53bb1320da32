/**
 * The acquire loop shared by locks, semaphores and elections: one attempt, then an event-driven
 * wait (the backend's change notification, raced against a recheck timer), until granted, until
 * `waitMs` passes or until the caller aborts.
 *
 * @module
 */
import { AbortedError } from '../core/errors.js';
import type { Interrupt, ResolvedClientOptions, Stop } from './call.js';
import {
  callWithDeadline,
  isStopped,
  newOwnerId,
  onStop,
  stopReason,
  throwIfStopped,
} from './call.js';
import { isBackendUnavailableError, LockTimeoutError, TooManyWaitersError } from './errors.js';
import type { LeaseOps } from './lease.js';
import { LeaseHandle } from './lease.js';
import type { AcquireResult, Busy, CallOptions, ExtendResult, LockBackend } from './types.js';
import { validityMs } from './validity.js';

/**
 * A server-side queued wait is split into calls of at most this long (and at most `recheckMs × 10`),
 * so none is unbounded: a request or answer lost in a partition costs one chunk, not the whole wait.
 */
export const QUEUED_CHUNK_MS = 30_000;

/** How much earlier than its delay a timer may fire, as the monotonic clock sees it, in ms. */
const TIMER_SLACK_MS = 2;

/** One key of one backend, as the acquire loop sees it. */
export interface AcquireTarget {
  readonly key: string;
  attempt(owner: string, ttlMs: number, options: CallOptions): Promise<AcquireResult>;
  /** The backend queues waiters itself (`queue` may be called). */
  readonly queues: boolean;
  /** A queued acquire (only when `queues`). */
  queue(owner: string, ttlMs: number, options: CallOptions): Promise<AcquireResult>;
  /** Make a plain attempt before queueing (see `LockBackend.tryBeforeQueue`). */
  readonly tryBeforeQueue: boolean;
  /** The chunks of one queued wait may share an owner (see `LockBackend.keepsQueuePlace`). */
  readonly keepsQueuePlace: boolean;
  waitForChange(options: CallOptions): Promise<void>;
  ops(owner: string): LeaseOps;
}

/** The {@link LeaseOps} of one owner's lease on a lock backend. */
class LockLeaseOps implements LeaseOps {
  constructor(
    private readonly b: LockBackend,
    private readonly key: string,
    private readonly owner: string,
  ) {}

  extend(token: bigint, ttlMs: number, options: CallOptions): Promise<ExtendResult> {
    return this.b.extend(this.key, this.owner, token, ttlMs, options);
  }

  release(options: CallOptions): Promise<void> {
    return this.b.release(this.key, this.owner, options);
  }
}

/**
 * The {@link AcquireTarget} of one key on a lock backend: one object with methods, built on every
 * acquire (closures per call would cost an allocation each on the hot path).
 */
class LockTarget implements AcquireTarget {
  readonly queues: boolean;
  readonly tryBeforeQueue: boolean;
  readonly keepsQueuePlace: boolean;

  constructor(
    private readonly b: LockBackend,
    readonly key: string,
  ) {
    this.queues = b.acquireQueued !== undefined;
    this.tryBeforeQueue = b.tryBeforeQueue === true;
    this.keepsQueuePlace = b.keepsQueuePlace === true;
  }

  attempt(owner: string, ttlMs: number, options: CallOptions): Promise<AcquireResult> {
    return this.b.tryAcquire(this.key, owner, ttlMs, options);
  }

  queue(owner: string, ttlMs: number, options: CallOptions): Promise<AcquireResult> {
    const queued = this.b.acquireQueued;
    if (queued === undefined) return this.attempt(owner, ttlMs, options);
    return queued.call(this.b, this.key, owner, ttlMs, options);
  }

  waitForChange(options: CallOptions): Promise<void> {
    return this.b.waitForChange(this.key, options);
  }

  ops(owner: string): LeaseOps {
    return new LockLeaseOps(this.b, this.key, owner);
  }
}

/** The {@link AcquireTarget} of `key` on a lock backend (used by `Lock` and `Election`). */
export function lockTarget(b: LockBackend, key: string): AcquireTarget {
  return new LockTarget(b, key);
}

/** The validated parameters of one acquire. */
export interface AcquireParams {
  readonly ttlMs: number;
  readonly waitMs: number;
  /** The caller's signal linked with the client's `close()`. */
  readonly stop: Interrupt;
  readonly renewEveryMs: number | undefined;
  readonly maxValidityMs: number | undefined;
  /** Appended to the random owner id after a `/` (an election's candidate id). */
  readonly ownerSuffix: string | undefined;
}

/** Counts the waiters of one client so their number stays bounded. */
export class WaiterCount {
  private count = 0;
  constructor(private readonly max: number) {}

  /** Registers a waiter or throws {@link TooManyWaitersError}; call the result when it leaves. */
  enter(key: string): () => void {
    if (this.count >= this.max) throw new TooManyWaitersError(key, this.max);
    this.count++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.count--;
    };
  }

  get size(): number {
    return this.count;
  }
}

function ownerFor(client: ResolvedClientOptions, p: AcquireParams): string {
  const id = newOwnerId(client.runtime);
  return p.ownerSuffix === undefined ? id : `${id}/${p.ownerSuffix}`;
}

type Attempt =
  | { kind: 'granted'; lease: LeaseHandle }
  | {
      kind: 'busy';
      retryAfterMs: number | undefined;
      /** The owner the backend answered busy to (its queue entry may live on); unset otherwise. */
      owner?: string;
    };

/** A grant with the local send time its client-side deadline is measured from. */
interface TimedGrant {
  readonly token: bigint;
  readonly ttlMs: number;
  readonly sentAtMs: number;
}

/**
 * A plain attempt: the deadline counts from the request's send time. So does a queued grant's, and
 * that is always safe: the grant happened after the send, so the server's expiry is later still
 * (a backend marking a grant `anchored` says its TTL counts from the send itself). What a long
 * queue wait can cost is liveness: measured from the send, a grant after a long wait has little
 * validity left, or none. A queued grant is therefore used as it is while at least half of the
 * requested validity is left, and otherwise confirmed by an immediate `extend`, whose send time
 * then anchors the deadline.
 */
/**
 * True when a queued grant still has at least half of the requested validity left, measured from
 * the request's send time. Both sides are capped by `maxValidityMs` (an election's
 * `renewDeadlineMs`), exactly as the lease's own deadline is, so a candidate that waited most of
 * its renew deadline in the queue is confirmed instead of being elected with a few milliseconds left.
 */
function enoughLeft(
  client: ResolvedClientOptions,
  ttlMs: number,
  sentAtMs: number,
  p: AcquireParams,
): boolean {
  const left =
    sentAtMs + validityMs(client, ttlMs, p.maxValidityMs) - client.runtime.clock.monotonicMs();
  return left >= validityMs(client, p.ttlMs, p.maxValidityMs) / 2;
}

/**
 * One request as `owner`. A queued grant's deadline counts from `placeSinceMs` when given: the
 * send time of the owner's first queued call, when earlier chunks of the same wait (same owner)
 * may have been handed the key already — its TTL then started before this call was sent.
 */
async function request(
  client: ResolvedClientOptions,
  target: AcquireTarget,
  p: AcquireParams,
  owner: string,
  queuedForMs: number,
  placeSinceMs: number | undefined,
): Promise<TimedGrant | Busy> {
  const { runtime, callTimeoutMs } = client;
  let sentAtMs = runtime.clock.monotonicMs();
  if (!target.queues || queuedForMs <= 0) {
    const result = await callWithDeadline(runtime, 'tryAcquire', callTimeoutMs, p.stop, (o) =>
      target.attempt(owner, p.ttlMs, o),
    );
    return result.kind === 'busy' ? result : { token: result.token, ttlMs: result.ttlMs, sentAtMs };
  }
  let result: AcquireResult;
  try {
    // Exclusive: the backend must leave its queue as soon as the caller gives up.
    result = await callWithDeadline(
      runtime,
      'acquireQueued',
      queuedForMs,
      p.stop,
      (o) => target.queue(owner, p.ttlMs, o),
      true,
    );
  } catch (error) {
    // The chunk's own deadline is the normal end of a queued wait, not a failure. (A system timer
    // can fire up to a millisecond before the monotonic clock shows its delay as passed.)
    const elapsed = runtime.clock.monotonicMs() - sentAtMs;
    if (isBackendUnavailableError(error) && elapsed >= queuedForMs - TIMER_SLACK_MS) {
      return { kind: 'busy', retryAfterMs: 0 };
    }
    throw error;
  }
  if (result.kind === 'busy') return result;
  const anchorMs = Math.min(sentAtMs, placeSinceMs ?? sentAtMs);
  if (enoughLeft(client, result.ttlMs, anchorMs, p)) {
    return { token: result.token, ttlMs: result.ttlMs, sentAtMs: anchorMs };
  }
  sentAtMs = runtime.clock.monotonicMs();
  const ops = target.ops(owner);
  const confirmed = await callWithDeadline(runtime, 'extend', callTimeoutMs, p.stop, (o) =>
    ops.extend(result.token, p.ttlMs, o),
  );
  if (confirmed.kind === 'lost') return { kind: 'busy', retryAfterMs: 0 };
  return { token: result.token, ttlMs: confirmed.ttlMs, sentAtMs };
}

/**
 * One attempt (plain or queued) as `owner` (a fresh one by default; `placeSinceMs` as in
 * `request`); a grant that arrives already past its deadline is given back.
 */
async function attemptOnce(
  client: ResolvedClientOptions,
  target: AcquireTarget,
  p: AcquireParams,
  queuedForMs: number,
  owner: string = ownerFor(client, p),
  placeSinceMs?: number,
): Promise<Attempt> {
  let grant: TimedGrant | Busy;
  try {
    grant = await request(client, target, p, owner, queuedForMs, placeSinceMs);
  } catch (error) {
    // The outcome is unknown: the grant may exist. Give it back in the background (owner-checked).
    const ops = target.ops(owner);
    void callWithDeadline(client.runtime, 'release', client.callTimeoutMs, undefined, (o) =>
      ops.release(o),
    ).catch(() => undefined);
    throwIfStopped(p.stop);
    throw error;
  }
  if ('kind' in grant) return { kind: 'busy', retryAfterMs: grant.retryAfterMs, owner };
  const lease = new LeaseHandle({
    key: target.key,
    owner,
    token: grant.token,
    requestedTtlMs: p.ttlMs,
    grantedTtlMs: grant.ttlMs,
    sentAtMs: grant.sentAtMs,
    options: client,
    ops: target.ops(owner),
    renewEveryMs: p.renewEveryMs,
    maxValidityMs: p.maxValidityMs,
  });
  if (lease.valid) return { kind: 'granted', lease };
  await lease.release();
  return { kind: 'busy', retryAfterMs: 0 };
}

/** A change subscription opened before an attempt, so a release right after a `busy` is not missed. */
export interface Watch {
  readonly changed: Promise<void>;
  stop(): void;
}

/** The reason every finished watch is aborted with (one shared error: no stack trace per wait). */
const WATCH_FINISHED = new AbortedError('wait finished');

export function startWatch(target: AcquireTarget): Watch {
  const controller = new AbortController();
  let pending: Promise<void>;
  try {
    pending = target.waitForChange({ signal: controller.signal });
  } catch {
    pending = Promise.resolve();
  }
  // A failed or aborted subscription only means "recheck": it resolves like a notification.
  const changed = pending.then(
    () => undefined,
    () => undefined,
  );
  return { changed, stop: () => controller.abort(WATCH_FINISHED) };
}

/** Resolves on the watch's notification or after `ms`; rejects only when `stop` fires. */
export function waitChanged(
  client: ResolvedClientOptions,
  watch: Watch,
  ms: number,
  stop: Stop,
): Promise<void> {
  // At least 1 ms between attempts, so a backend answering `retryAfterMs: 0` cannot make a hot loop.
  return delay(client, Math.max(ms, 1), stop, watch.changed);
}

/** Resolves after `ms`, or sooner when `wake` resolves; rejects when `stop` fires first. */
function delay(
  client: ResolvedClientOptions,
  ms: number,
  stop: Stop,
  wake?: Promise<void>,
): Promise<void> {
  if (stop !== undefined && isStopped(stop)) return Promise.reject(stopReason(stop));
  return new Promise<void>((resolve, reject) => {
    // The stop listener is registered before the timer is armed, so neither callback can ever
    // reach the other before it exists.
    let cancel = (): void => undefined;
    const off = onStop(stop, (reason) => {
      cancel();
      reject(reason);
    });
    const done = (): void => {
      cancel();
      off();
      resolve();
    };
    cancel = client.runtime.timers.setTimer(ms, done);
    void wake?.then(done);
  });
}

/** A single attempt that never waits: the lease, or null when the key is busy. */
export async function tryAcquireOnce(
  client: ResolvedClientOptions,
  target: AcquireTarget,
  p: AcquireParams,
): Promise<LeaseHandle | null> {
  throwIfStopped(p.stop);
  const attempt = await attemptOnce(client, target, p, 0);
  return attempt.kind === 'granted' ? attempt.lease : null;
}

/**
 * Acquires with waiting. Rejects with {@link LockTimeoutError} after `waitMs`, with the stop's
 * reason on abort or `close()`, and with {@link TooManyWaitersError} when the client's waiters are
 * at their bound.
 *
 * A change notification may only report changes after the watch opened, so every attempt that may
 * be followed by a wait runs with a watch opened before it. The first attempt runs without one (an
 * uncontended acquire opens no watch at all); when it answers `busy`, the watch is opened and a
 * second attempt is made at once, then the loop waits as usual.
 */
export async function acquireWithWait(
  client: ResolvedClientOptions,
  target: AcquireTarget,
  p: AcquireParams,
  waiters: WaiterCount,
): Promise<LeaseHandle> {
  throwIfStopped(p.stop);
  const { runtime, recheckMs } = client;
  const waitUntil = runtime.clock.monotonicMs() + p.waitMs;
  const leave = waiters.enter(target.key);
  let lastError: unknown;
  // Backends with a server-side queue wait inside the attempt; the others wait on a watch.
  let watched = false;
  // The owner whose queue entry the next chunk of a queued wait takes up (keepsQueuePlace), and
  // when that owner's first queued call was sent (no grant to it can be older).
  let placeOwner: string | undefined;
  let placeSinceMs = 0;
  try {
    for (;;) {
      const left = waitUntil - runtime.clock.monotonicMs();
      try {
        const watch = watched && !target.queues && left > 0 ? startWatch(target) : undefined;
        try {
          const queue = target.queues && (watched || !target.tryBeforeQueue);
          const owner = queue ? placeOwner : undefined;
          placeOwner = undefined;
          if (owner === undefined) placeSinceMs = runtime.clock.monotonicMs();
          const attempt = await attemptOnce(
            client,
            target,
            p,
            queue ? Math.min(left, QUEUED_CHUNK_MS, recheckMs * 10) : 0,
            owner,
            queue ? placeSinceMs : undefined,
          );
          if (attempt.kind === 'granted') return attempt.lease;
          if (queue && target.keepsQueuePlace) placeOwner = attempt.owner;
          lastError = undefined;
          const now = runtime.clock.monotonicMs();
          if (now >= waitUntil) break;
          if (!watched) {
            // Busy without a watch: open one and try again at once (a release may come in between).
            watched = true;
            continue;
          }
          const delay = Math.min(attempt.retryAfterMs ?? recheckMs, recheckMs);
          if (watch !== undefined)
            await waitChanged(client, watch, Math.min(delay, waitUntil - now), p.stop);
        } finally {
          watch?.stop();
        }
      } catch (error) {
        throwIfStopped(p.stop);
        if (error instanceof TooManyWaitersError) throw error;
        lastError = error;
        const now = runtime.clock.monotonicMs();
        if (now >= waitUntil) break;
        await delay(client, Math.min(recheckMs, waitUntil - now), p.stop);
      }
    }
  } finally {
    leave();
  }
  throw new LockTimeoutError(
    target.key,
    p.waitMs,
    lastError === undefined ? undefined : { cause: lastError },
  );
}

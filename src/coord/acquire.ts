/**
 * The acquire loop shared by locks, semaphores and elections: one attempt, then an event-driven
 * wait (the backend's change notification, raced against a recheck timer), until granted, until
 * `waitMs` passes or until the caller aborts.
 *
 * @module
 */
import { onAbort, throwIfAborted } from '../core/abort.js';
import { AbortedError } from '../core/errors.js';
import type { ResolvedClientOptions } from './call.js';
import { callWithDeadline, newOwnerId } from './call.js';
import { isBackendUnavailableError, LockTimeoutError, TooManyWaitersError } from './errors.js';
import type { LeaseOps } from './lease.js';
import { LeaseHandle } from './lease.js';
import type { AcquireResult, Busy, CallOptions } from './types.js';

/**
 * A server-side queued wait is split into calls of at most this long (and at most `recheckMs × 10`),
 * so none is unbounded: a request or answer lost in a partition costs one chunk, not the whole wait.
 */
export const QUEUED_CHUNK_MS = 30_000;

/** One key of one backend, as the acquire loop sees it. */
export interface AcquireTarget {
  readonly key: string;
  attempt(owner: string, ttlMs: number, options: CallOptions): Promise<AcquireResult>;
  readonly queued:
    ((owner: string, ttlMs: number, options: CallOptions) => Promise<AcquireResult>) | undefined;
  waitForChange(options: CallOptions): Promise<void>;
  ops(owner: string): LeaseOps;
}

/** The validated parameters of one acquire. */
export interface AcquireParams {
  readonly ttlMs: number;
  readonly waitMs: number;
  readonly signal: AbortSignal | undefined;
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
  { kind: 'granted'; lease: LeaseHandle } | { kind: 'busy'; retryAfterMs: number | undefined };

/** A grant with the local send time its client-side deadline is measured from. */
interface TimedGrant {
  readonly token: bigint;
  readonly ttlMs: number;
  readonly sentAtMs: number;
}

/**
 * A plain attempt: the deadline counts from the request's send time. A queued grant may have been
 * made any time after the request was sent, so it is confirmed by an immediate `extend` whose send
 * time then anchors the deadline (otherwise a long queue wait would make every grant look expired).
 */
async function request(
  client: ResolvedClientOptions,
  target: AcquireTarget,
  p: AcquireParams,
  owner: string,
  queuedForMs: number,
): Promise<TimedGrant | Busy> {
  const { runtime, callTimeoutMs } = client;
  let sentAtMs = runtime.clock.monotonicMs();
  if (target.queued === undefined || queuedForMs <= 0) {
    const result = await callWithDeadline(runtime, 'tryAcquire', callTimeoutMs, p.signal, (o) =>
      target.attempt(owner, p.ttlMs, o),
    );
    return result.kind === 'busy' ? result : { token: result.token, ttlMs: result.ttlMs, sentAtMs };
  }
  const queued = target.queued;
  let result: AcquireResult;
  try {
    result = await callWithDeadline(runtime, 'acquireQueued', queuedForMs, p.signal, (o) =>
      queued(owner, p.ttlMs, o),
    );
  } catch (error) {
    // The chunk's own deadline is the normal end of a queued wait, not a failure.
    if (isBackendUnavailableError(error) && runtime.clock.monotonicMs() - sentAtMs >= queuedForMs) {
      return { kind: 'busy', retryAfterMs: 0 };
    }
    throw error;
  }
  if (result.kind === 'busy') return result;
  sentAtMs = runtime.clock.monotonicMs();
  const ops = target.ops(owner);
  const confirmed = await callWithDeadline(runtime, 'extend', callTimeoutMs, p.signal, (o) =>
    ops.extend(result.token, p.ttlMs, o),
  );
  if (confirmed.kind === 'lost') return { kind: 'busy', retryAfterMs: 0 };
  return { token: result.token, ttlMs: confirmed.ttlMs, sentAtMs };
}

/** One attempt (plain or queued); a grant that arrives already past its deadline is given back. */
async function attemptOnce(
  client: ResolvedClientOptions,
  target: AcquireTarget,
  p: AcquireParams,
  queuedForMs: number,
): Promise<Attempt> {
  const owner = ownerFor(client, p);
  let grant: TimedGrant | Busy;
  try {
    grant = await request(client, target, p, owner, queuedForMs);
  } catch (error) {
    // The outcome is unknown: the grant may exist. Give it back in the background (owner-checked).
    const ops = target.ops(owner);
    void callWithDeadline(client.runtime, 'release', client.callTimeoutMs, undefined, (o) =>
      ops.release(o),
    ).catch(() => undefined);
    throwIfAborted(p.signal);
    throw error;
  }
  if ('kind' in grant) return grant;
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
  return { changed, stop: () => controller.abort(new AbortedError('wait finished')) };
}

/** Resolves on the watch's notification or after `ms`; rejects only with the caller's abort. */
export function waitChanged(
  client: ResolvedClientOptions,
  watch: Watch,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (): void => {
      cancel();
      sub.dispose();
      resolve();
    };
    // At least 1 ms between attempts, so a backend answering `retryAfterMs: 0` cannot make a hot loop.
    const cancel = client.runtime.timers.setTimer(Math.max(ms, 1), done);
    const sub = onAbort(signal, (reason) => {
      cancel();
      reject(reason);
    });
    void watch.changed.then(done);
  });
}

/** A single attempt that never waits: the lease, or null when the key is busy. */
export async function tryAcquireOnce(
  client: ResolvedClientOptions,
  target: AcquireTarget,
  p: AcquireParams,
): Promise<LeaseHandle | null> {
  throwIfAborted(p.signal);
  const attempt = await attemptOnce(client, target, p, 0);
  return attempt.kind === 'granted' ? attempt.lease : null;
}

/**
 * Acquires with waiting. Rejects with {@link LockTimeoutError} after `waitMs`, with the signal's
 * reason on abort, and with {@link TooManyWaitersError} when the client's waiters are at their bound.
 */
export async function acquireWithWait(
  client: ResolvedClientOptions,
  target: AcquireTarget,
  p: AcquireParams,
  waiters: WaiterCount,
): Promise<LeaseHandle> {
  throwIfAborted(p.signal);
  const { runtime, recheckMs } = client;
  const waitUntil = runtime.clock.monotonicMs() + p.waitMs;
  const leave = waiters.enter(target.key);
  let lastError: unknown;
  try {
    for (;;) {
      const left = waitUntil - runtime.clock.monotonicMs();
      try {
        const watch = target.queued === undefined && left > 0 ? startWatch(target) : undefined;
        try {
          const attempt = await attemptOnce(
            client,
            target,
            p,
            Math.min(left, QUEUED_CHUNK_MS, recheckMs * 10),
          );
          if (attempt.kind === 'granted') return attempt.lease;
          lastError = undefined;
          const pause = Math.min(attempt.retryAfterMs ?? recheckMs, recheckMs);
          const now = runtime.clock.monotonicMs();
          if (now >= waitUntil) break;
          if (watch !== undefined)
            await waitChanged(client, watch, Math.min(pause, waitUntil - now), p.signal);
        } finally {
          watch?.stop();
        }
      } catch (error) {
        throwIfAborted(p.signal);
        if (error instanceof TooManyWaitersError) throw error;
        lastError = error;
        const now = runtime.clock.monotonicMs();
        if (now >= waitUntil) break;
        await runtime.timers.sleep(Math.min(recheckMs, waitUntil - now), p.signal);
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

/**
 * The acquire loop shared by locks, semaphores and elections: attempts against an
 * {@link AcquireTarget} (deadlines already applied), an event-driven wait between them, until
 * granted, until `waitMs` passes or until the caller aborts.
 *
 * The loop is a small state machine over {@link Phase}: the first attempt opens no watch (an
 * uncontended acquire costs one call); a backend without a server-side queue then attempts with a
 * change watch opened before each attempt (a release right after a `busy` is not missed); a backend
 * with one waits inside queued chunks, keeping its place across them when it can.
 *
 * @module
 */
import type { Abortable } from '../core/abort.js';
import { throwIfAborted, waitFor } from '../core/abort.js';
import { AbortedError } from '../core/errors.js';
import type { AcquireTarget } from './client-backend.js';
import type { AcquireResult } from './types.js';
import { BackendClosedError, LockTimeoutError, TooManyWaitersError } from './errors.js';
import { LeaseHandle } from './lease.js';
import type { AcquireParams, ResolvedClientOptions } from './options.js';
import { newOwnerId } from './owner.js';
import type { WaiterCount } from './scope.js';
import { validityMs } from './validity.js';

/**
 * A server-side queued wait is split into calls of at most this long (and at most `recheckMs × 10`),
 * so none is unbounded: a request or answer lost in a partition costs one chunk, not the whole wait.
 */
export const QUEUED_CHUNK_MS = 30_000;

/** Where the loop is. */
type Phase =
  /** The first plain attempt, without a watch. */
  | { readonly kind: 'first' }
  /** Plain attempts, each with a change watch opened before it (no server-side queue). */
  | { readonly kind: 'watching' }
  /**
   * A chunk of a server-side queued wait; `place` is the owner whose queue entry this chunk takes
   * up (when the backend keeps places) and when that owner's first queued call was sent.
   */
  | { readonly kind: 'queued'; readonly place: QueuePlace | undefined };

interface QueuePlace {
  readonly owner: string;
  readonly sinceMs: number;
}

/** What one phase's attempt came to. */
type Outcome =
  | { readonly kind: 'granted'; readonly lease: LeaseHandle }
  | { readonly kind: 'busy'; readonly retryAfterMs: number | undefined; readonly owner: string }
  | { readonly kind: 'failed'; readonly error: unknown };

/** A grant with the local send time its client-side deadline is measured from. */
interface TimedGrant {
  readonly kind: 'granted';
  readonly token: bigint;
  readonly ttlMs: number;
  readonly sentAtMs: number;
}

/** A `busy` answer as the loop keeps it. */
interface Refused {
  readonly kind: 'busy';
  readonly retryAfterMs: number | undefined;
}

/** What a queued request comes to. */
type Answer = TimedGrant | Refused;

/** One request of the loop. */
interface AttemptRequest {
  /** The owner to ask as (a fresh one, or a kept queue place's). */
  readonly owner: string;
  /** `plain`: one attempt; `queued`: a chunk of at most `waitMs` in the server's queue. */
  readonly mode: { readonly kind: 'plain' } | { readonly kind: 'queued'; readonly waitMs: number };
  /**
   * The send time of the owner's first queued call, when earlier chunks of the same wait (same
   * owner) may have been handed the key already: its TTL then started before this call was sent.
   */
  readonly placeSinceMs?: number;
}

const PLAIN = { kind: 'plain' } as const;
const FIRST: Phase = { kind: 'first' };
const WATCHING: Phase = { kind: 'watching' };
const QUEUED_FRESH: Phase = { kind: 'queued', place: undefined };

/** Everything one acquire needs. */
interface Acquire {
  readonly client: ResolvedClientOptions;
  readonly target: AcquireTarget;
  readonly p: AcquireParams;
}

function ownerFor(a: Acquire): string {
  const id = newOwnerId(a.client.runtime);
  return a.p.ownerSuffix === undefined ? id : `${id}/${a.p.ownerSuffix}`;
}

/**
 * True when a queued grant still has at least half of the requested validity left, measured from
 * the request's send time. A plain attempt's deadline counts from its send time; so does a queued
 * grant's, and that is always safe: the grant happened after the send, so the server's expiry is
 * later still (a backend marking a grant `anchored` says its TTL counts from the send itself). What
 * a long queue wait can cost is liveness: measured from the send, a grant after a long wait has
 * little validity left, or none. Such a grant is confirmed by an immediate `extend`, whose send time
 * then anchors the deadline. Both sides are capped by `maxValidityMs` (an election's
 * `renewDeadlineMs`), exactly as the lease's own deadline is.
 */
function enoughLeft(a: Acquire, ttlMs: number, sentAtMs: number): boolean {
  const { client, p } = a;
  const left =
    sentAtMs + validityMs(client, ttlMs, p.maxValidityMs) - client.runtime.clock.monotonicMs();
  return left >= validityMs(client, p.ttlMs, p.maxValidityMs) / 2;
}

/**
 * One request: a grant with its send time, or busy. A plain attempt's answer is turned into a grant
 * by {@link attempt} itself (no async frame of its own: this is every acquire's hot path).
 */
async function queuedRequest(a: Acquire, r: AttemptRequest, waitMs: number): Promise<Answer> {
  const { client, target, p } = a;
  const { clock } = client.runtime;
  let sentAtMs = clock.monotonicMs();
  const result = await target.acquireQueued(r.owner, p.ttlMs, waitMs, p.stop);
  if (result.kind === 'busy') return result;
  const anchorMs = Math.min(sentAtMs, r.placeSinceMs ?? sentAtMs);
  if (enoughLeft(a, result.ttlMs, anchorMs)) {
    return { kind: 'granted', token: result.token, ttlMs: result.ttlMs, sentAtMs: anchorMs };
  }
  sentAtMs = clock.monotonicMs();
  const confirmed = await target.lease(r.owner).extend(result.token, p.ttlMs, p.stop);
  if (confirmed.kind === 'lost') return { kind: 'busy', retryAfterMs: 0 };
  return { kind: 'granted', token: result.token, ttlMs: confirmed.ttlMs, sentAtMs };
}

/** One attempt; a grant that arrives already past its deadline is given back. */
async function attempt(a: Acquire, r: AttemptRequest): Promise<Outcome> {
  const { client, target, p } = a;
  // A plain attempt's grant counts from its send time; a queued one's anchor comes with its answer.
  let sentAtMs = 0;
  let answer: AcquireResult | Answer;
  try {
    if (r.mode.kind === 'plain') {
      sentAtMs = client.runtime.clock.monotonicMs();
      answer = await target.tryAcquire(r.owner, p.ttlMs, p.stop);
    } else {
      answer = await queuedRequest(a, r, r.mode.waitMs);
    }
  } catch (error) {
    // The outcome is unknown: the grant may exist. Give it back in the background (owner-checked).
    target
      .lease(r.owner)
      .release()
      .catch(() => undefined);
    throwIfAborted(p.stop);
    throw error;
  }
  if (answer.kind === 'busy')
    return { kind: 'busy', retryAfterMs: answer.retryAfterMs, owner: r.owner };
  const lease = new LeaseHandle({
    key: target.key,
    owner: r.owner,
    token: answer.token,
    requestedTtlMs: p.ttlMs,
    grantedTtlMs: answer.ttlMs,
    sentAtMs: answer.kind === 'granted' ? answer.sentAtMs : sentAtMs,
    options: client,
    ops: target.lease(r.owner),
    renewEveryMs: p.renewEveryMs,
    maxValidityMs: p.maxValidityMs,
  });
  if (lease.valid) return { kind: 'granted', lease };
  await lease.release();
  return { kind: 'busy', retryAfterMs: 0, owner: r.owner };
}

/** A change subscription opened before an attempt, so a release right after a `busy` is not missed. */
export interface Watch {
  readonly changed: Promise<void>;
  stop(): void;
}

/** The reason every finished watch is aborted with (one shared error: no stack trace per wait). */
const WATCH_FINISHED = new AbortedError('wait finished');

/** Opens a watch on `target`'s key; a failed or aborted subscription resolves like a notification. */
export function startWatch(target: Pick<AcquireTarget, 'waitForChange'>): Watch {
  const controller = new AbortController();
  let pending: Promise<void>;
  try {
    pending = target.waitForChange({ signal: controller.signal });
  } catch {
    pending = Promise.resolve();
  }
  const changed = pending.then(
    () => undefined,
    () => undefined,
  );
  return { changed, stop: () => controller.abort(WATCH_FINISHED) };
}

/** Resolves on the watch's notification or after `ms`; rejects only when `stop` aborts. */
export function waitChanged(
  client: ResolvedClientOptions,
  watch: Watch,
  ms: number,
  stop: Abortable | undefined,
): Promise<void> {
  // At least 1 ms between attempts, so a backend answering `retryAfterMs: 0` cannot make a hot loop.
  return pause(client, Math.max(ms, 1), stop, watch.changed);
}

function pause(
  client: ResolvedClientOptions,
  ms: number,
  stop: Abortable | undefined,
  wake?: Promise<void>,
): Promise<void> {
  const timers = client.runtime.timers;
  return waitFor((delay, fn) => timers.setTimer(delay, fn), ms, { stop, wake });
}

/** A single attempt that never waits: the lease, or null when the key is busy. */
export async function tryAcquireOnce(
  client: ResolvedClientOptions,
  target: AcquireTarget,
  p: AcquireParams,
): Promise<LeaseHandle | null> {
  throwIfAborted(p.stop);
  const a: Acquire = { client, target, p };
  const outcome = await attempt(a, { owner: ownerFor(a), mode: PLAIN });
  return outcome.kind === 'granted' ? outcome.lease : null;
}

/**
 * Runs one phase: its attempt (with a watch opened before it when the phase waits on one) and,
 * after a `busy`, the wait the phase calls for. Resolves with the attempt's outcome.
 */
async function runPhase(a: Acquire, phase: Phase, waitUntil: number): Promise<Outcome> {
  const { client, target, p } = a;
  const { clock } = client.runtime;
  switch (phase.kind) {
    case 'first':
      return attempt(a, { owner: ownerFor(a), mode: PLAIN });
    case 'queued': {
      const left = waitUntil - clock.monotonicMs();
      const waitMs = Math.min(left, QUEUED_CHUNK_MS, client.recheckMs * 10);
      const place = phase.place ?? { owner: ownerFor(a), sinceMs: clock.monotonicMs() };
      const request: AttemptRequest = { owner: place.owner, mode: { kind: 'queued', waitMs } };
      return attempt(a, { ...request, placeSinceMs: place.sinceMs });
    }
    case 'watching': {
      const watch = startWatch(target);
      try {
        const outcome = await attempt(a, { owner: ownerFor(a), mode: PLAIN });
        const now = clock.monotonicMs();
        if (outcome.kind === 'busy' && now < waitUntil) {
          const delay = Math.min(outcome.retryAfterMs ?? client.recheckMs, client.recheckMs);
          await waitChanged(client, watch, Math.min(delay, waitUntil - now), p.stop);
        }
        return outcome;
      } finally {
        watch.stop();
      }
    }
  }
}

/** The phase after `phase` ended with `outcome` (not a grant). */
function nextPhase(a: Acquire, phase: Phase, outcome: Outcome, sinceMs: number): Phase {
  const queueing = a.target.queueing;
  if (outcome.kind !== 'busy') return phase.kind === 'queued' ? QUEUED_FRESH : phase;
  switch (phase.kind) {
    case 'first':
      // Busy without a watch: try again at once with one (or in the queue).
      return queueing.kind === 'queued' ? QUEUED_FRESH : WATCHING;
    case 'watching':
      return WATCHING;
    case 'queued': {
      if (queueing.kind !== 'queued' || !queueing.keepsPlace) return QUEUED_FRESH;
      return { kind: 'queued', place: { owner: outcome.owner, sinceMs } };
    }
  }
}

/**
 * Acquires with waiting. Rejects with {@link LockTimeoutError} after `waitMs`, with the stop's
 * reason on abort or `close()`, and with {@link TooManyWaitersError} when the client's waiters are
 * at their bound.
 */
export async function acquireWithWait(
  client: ResolvedClientOptions,
  target: AcquireTarget,
  p: AcquireParams,
  waiters: WaiterCount,
): Promise<LeaseHandle> {
  throwIfAborted(p.stop);
  waiters.enter(target.key);
  // The loop runs in this frame (one async frame less per acquire than a helper would cost).
  try {
    const a: Acquire = { client, target, p };
    const { clock } = client.runtime;
    const waitUntil = clock.monotonicMs() + p.waitMs;
    const queueing = target.queueing;
    let phase: Phase = queueing.kind === 'queued' && !queueing.tryFirst ? QUEUED_FRESH : FIRST;
    let lastError: unknown;
    for (;;) {
      // When the owner whose place a queued chunk takes up first queued (no grant to it is older);
      // only a queued phase keeps a place (see nextPhase).
      const sinceMs = phase.kind !== 'queued' ? 0 : (phase.place?.sinceMs ?? clock.monotonicMs());
      let outcome: Outcome;
      try {
        // The first phase is a plain attempt: called directly, without runPhase's frame.
        outcome = await (phase.kind === 'first'
          ? attempt(a, { owner: ownerFor(a), mode: PLAIN })
          : runPhase(a, phase, waitUntil));
      } catch (error) {
        throwIfAborted(p.stop);
        // Definite answers end the wait at once; anything else is an unknown outcome, retried.
        if (error instanceof TooManyWaitersError || error instanceof BackendClosedError)
          throw error;
        outcome = { kind: 'failed', error };
      }
      if (outcome.kind === 'granted') return outcome.lease;
      lastError = outcome.kind === 'failed' ? outcome.error : undefined;
      const now = clock.monotonicMs();
      if (now >= waitUntil) break;
      phase = nextPhase(a, phase, outcome, sinceMs);
      if (outcome.kind === 'failed')
        await pause(client, Math.min(client.recheckMs, waitUntil - now), p.stop);
    }
    throw new LockTimeoutError(
      target.key,
      p.waitMs,
      lastError === undefined ? undefined : { cause: lastError },
    );
  } finally {
    waiters.leave();
  }
}

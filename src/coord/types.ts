/**
 * The backend-neutral coordination API (`faultline/coord`) and the backend SPI that adapters
 * (memory, Redis, etcd, PostgreSQL) implement.
 *
 * Division of work. A backend implements a few thin, atomic operations against its server
 * (`tryAcquire`, `extend`, `release`, `holder`, `waitForChange`). Everything else lives once, in the
 * shared clients ({@link Lock}, {@link Election}, {@link Semaphore} in `lock.ts`, `election.ts`,
 * `semaphore.ts`): option validation, owner ids, per-call deadlines, the client-side lease deadline
 * and its `signal`, the renewal watchdog, bounded waiting, loss reasons. An adapter never computes a
 * client-side deadline and never runs a timer of its own for leases.
 *
 * Tokens. Every grant carries a fencing token: a `bigint` > 0 that is strictly greater than every
 * token granted before it for the same key, by any client, across expiries, releases and (for
 * durable backends) server restarts. An `extend()` keeps the token. A backend that cannot promise
 * this must not implement this SPI. Storage checks tokens with the `fence` helpers; that is what
 * makes a stale holder (paused, partitioned, with a slow clock) harmless.
 *
 * Time. The server's clock decides expiry (`ttlMs` after the server applied the grant or the
 * renewal). Clients never send wall-clock times. The client computes its own deadline from its
 * monotonic clock *at send time* (which is before the server's grant instant), minus a drift margin,
 * so the client-side deadline falls before the server-side expiry as long as the two clocks' rates
 * differ by less than the margin.
 *
 * @module
 */
import type { Disposable } from '../core/events.js';
import type { Runtime } from '../core/runtime.js';
import type { LockLostError, LossReason } from './errors.js';

export type { LossReason } from './errors.js';

// ---------------------------------------------------------------------------------------------
// Backend SPI
// ---------------------------------------------------------------------------------------------

/**
 * Options every SPI call receives. `signal` aborts when the client's per-call deadline passes
 * (`callTimeoutMs`) or the caller gave up; a backend should stop waiting on I/O and reject then. The
 * client does not rely on it: it races every call against its own timer, so a backend that ignores
 * the signal can delay nothing, but its late result is discarded (and a late grant expires by TTL).
 */
export interface CallOptions {
  readonly signal: AbortSignal;
  /**
   * True when the caller settles its own promise as soon as `signal` aborts (the coordination
   * clients do: see `CallDeadlines`), so the backend need not race the signal itself and may skip
   * listening to it; it must still stop its work when it can. A backend may ignore this.
   */
  readonly callerSettles?: boolean;
}

/** A grant (or a renewal) as the server applied it. */
export interface Granted {
  readonly kind: 'acquired';
  /** The fencing token of this lease: > 0, strictly greater than any earlier token of the key. */
  readonly token: bigint;
  /**
   * The TTL the server applied, in milliseconds: the requested one, or less when the server clamps
   * it. The client computes its deadline from this value, never from the requested one.
   */
  readonly ttlMs: number;
  /**
   * Set by a backend whose `ttlMs` counts from when the request was *sent*, however late the grant
   * came (etcd: the key lives on a session lease whose expiry this process tracks from its
   * renewals' send times). Informational: the client measures every grant's deadline from its own
   * send time, which is safe either way (see `acquire.ts`).
   */
  readonly anchored?: boolean;
}

/** The key (or every permit) is held by someone else. */
export interface Busy {
  readonly kind: 'busy';
  /**
   * Milliseconds until the current holder's lease expires on the server, when the backend knows it
   * cheaply (Redis `PTTL`, etcd lease TTL). The client arms a fallback timer for it because an
   * expiry may produce no event; `undefined` means "unknown" and the client rechecks after
   * `recheckMs`.
   */
  readonly retryAfterMs: number | undefined;
}

/** The answer of a `tryAcquire`: a grant, or busy. */
export type AcquireResult = Granted | Busy;

/** The answer of an `extend`. */
export type ExtendResult =
  | {
      readonly kind: 'extended';
      /** The TTL the server applied from now, in milliseconds (may be clamped). */
      readonly ttlMs: number;
    }
  | {
      readonly kind: 'lost';
      /**
       * `expired` when the key no longer exists (the TTL ran out), `stolen` when it is held under
       * another owner or token. A backend that cannot tell the two apart answers `expired`.
       */
      readonly reason: Exclude<LossReason, 'unreachable'>;
    };

/**
 * Who holds a key, as the clients ({@link Lock.holder}, {@link Semaphore.holders}) report it. It
 * leaves out the owner id on purpose: the owner is the holder's secret (whoever knows it can
 * extend or release the lease through the backend), so a client never hands out another's.
 */
export interface HolderInfo {
  /** The holder's fencing token (compare it with your own lease's `token`). */
  readonly token: bigint;
  /** Milliseconds left before the server expires the lease (server clock). */
  readonly remainingMs: number;
  /** How many semaphore permits the lease takes (semaphores only; absent means 1). */
  readonly permits?: number;
}

/** Who holds a key right now, as the server sees it (the SPI's answer, with the owner id). */
export interface Holder {
  /** The opaque owner string given to `tryAcquire`. */
  readonly owner: string;
  /** The holder's fencing token. */
  readonly token: bigint;
  /** Milliseconds left before the server expires the lease (server clock). */
  readonly remainingMs: number;
  /**
   * The value the holder proclaimed (see {@link LockBackend.proclaim}), when it proclaimed one.
   * Only backends that implement `proclaim` report it.
   */
  readonly value?: string;
  /** How many semaphore permits the lease takes (semaphore backends; absent means 1). */
  readonly permits?: number;
}

/** The answer of a {@link LockBackend.proclaim}. */
export type ProclaimResult =
  | { readonly kind: 'proclaimed' }
  /** `owner` no longer holds `key` under `token` (released, expired or taken over): nothing was written. */
  | { readonly kind: 'not-holder' };

/**
 * What a lock backend implements. Every method is one atomic server-side operation (a Lua script,
 * an etcd transaction, a single SQL statement) and must complete or reject; it must never leave a
 * promise pending once `options.signal` has aborted.
 *
 * Owners. `owner` is an opaque string of at most {@link MAX_OWNER_LENGTH} characters that the
 * client makes unique per acquisition (128 random bits in hex, sometimes with a suffix such as an
 * election candidate's id). The backend stores it with the lease and compares it exactly: only the
 * same owner may extend or release, so no client can touch another's lease.
 *
 * Errors. Throw anything (preferably {@link BackendUnavailableError}) when the outcome is unknown;
 * the client treats a throw as "maybe applied" and relies on the TTL. Return `busy` / `lost` for
 * definite answers only.
 */
export interface LockBackend {
  /** A short name for messages and docs, such as `memory` or `redis`. */
  readonly name: string;
  /** What the backend promises; see {@link BackendGuarantees}. */
  readonly guarantees: BackendGuarantees;
  /**
   * Optional: throws a `RangeError` naming `field` for a key this backend cannot store faithfully
   * (PostgreSQL: a NUL character). The clients call it before any other call with the key, after
   * their own check (a non-empty, well-formed string of at most 1,024 characters); two distinct
   * keys that pass both must never name one lock.
   */
  checkKey?(field: string, key: string): void;
  /**
   * Grants `key` to `owner` for `ttlMs` (server clock) with a fresh fencing token when nobody holds
   * it (a lease whose server-side TTL ran out counts as free); otherwise answers `busy`. Re-acquiring
   * a key `owner` already holds answers `busy` too: owners are per acquisition.
   */
  tryAcquire(
    key: string,
    owner: string,
    ttlMs: number,
    options: CallOptions,
  ): Promise<AcquireResult>;
  /**
   * Resets the TTL of `owner`'s lease on `key` to `ttlMs` from the server's now, keeping its token.
   * Answers `lost` when `owner` (with `token`) no longer holds the key; never resurrects an expired
   * lease.
   */
  extend(
    key: string,
    owner: string,
    token: bigint,
    ttlMs: number,
    options: CallOptions,
  ): Promise<ExtendResult>;
  /**
   * Deletes `owner`'s lease on `key` if it still holds it, and wakes waiters. Idempotent: releasing
   * a lease that expired or was taken over does nothing and does not throw.
   */
  release(key: string, owner: string, options: CallOptions): Promise<void>;
  /** The current holder of `key`, or `null` when it is free (expired leases count as free). */
  holder(key: string, options: CallOptions): Promise<Holder | null>;
  /**
   * Resolves when the holder of `key` may have changed: at least on release and deletion; ideally
   * also on expiry and on acquisition (elections observe through it). It is event-driven (pub/sub,
   * watch, LISTEN/NOTIFY, an in-process queue), never a sleep loop. Spurious resolutions are allowed
   * (the client rechecks). Rejects with the signal's reason when `options.signal` aborts; the client
   * aborts it after at most `recheckMs`, so a lost notification costs latency, never liveness.
   */
  waitForChange(key: string, options: CallOptions): Promise<void>;
  /**
   * Optional server-side FIFO queueing: resolves with a grant once `owner` reaches the head of the
   * key's queue and the key is free, or answers `busy` when `options.signal` aborts first (the
   * backend removes the waiter; if a grant raced with the abort, the backend releases it). Backends
   * with a real server-side queue (the memory backend, etcd revisions, PostgreSQL advisory locks)
   * implement it; the client then uses it instead of its try/wait loop. Throws
   * {@link "faultline/coord"!TooManyWaitersError} when the server-side queue is full.
   */
  acquireQueued?(
    key: string,
    owner: string,
    ttlMs: number,
    options: CallOptions,
  ): Promise<AcquireResult>;
  /**
   * When true, the client makes a plain `tryAcquire` first and queues only after it answered
   * `busy`: for a backend whose queued call costs more than a plain attempt on a free key (Redis:
   * a queued wait needs a subscription). Without it the client queues from the first attempt.
   */
  readonly tryBeforeQueue?: boolean;
  /**
   * When true, the chunks of one queued wait keep their place in the queue. The client cuts a long
   * wait into chunks (each a separate `acquireQueued` whose signal aborts at the chunk's end) and
   * passes the same owner to every chunk of one acquire; the backend keeps an aborted owner's queue
   * entry for a short grace, so the next chunk takes it up instead of queueing again at the back.
   * Without it every chunk gets a fresh owner and a fresh place. The grace is
   * {@link QUEUE_PLACE_GRACE_MS}.
   */
  readonly keepsQueuePlace?: boolean;
  /**
   * Optional: stores `value` with `owner`'s lease on `key` when it still holds it under `token`,
   * atomically (etcd: one transaction comparing the lease key's create revision, as Go's
   * `Election.Proclaim`), and wakes `waitForChange` callers so observers see it. Keeps the lease,
   * its token and its TTL; answers `not-holder` and writes nothing otherwise. `holder()` then
   * reports the value. Elections use it for {@link "faultline/coord"!Election.proclaim}.
   */
  proclaim?(
    key: string,
    owner: string,
    token: bigint,
    value: string,
    options: CallOptions,
  ): Promise<ProclaimResult>;
}

/**
 * The options of a semaphore backend's grant calls: the per-call signal and how many permits the
 * lease takes.
 */
export interface SemaphoreCallOptions extends CallOptions {
  /**
   * How many of the key's `limit` permits this one lease takes, all or none (an integer in
   * [1, limit], default 1). The lease still has one owner and one token; `extend` and `release`
   * act on all its permits at once. A backend that does not declare `multiPermit` receives only 1.
   */
  readonly permits?: number;
}

/**
 * What a semaphore backend implements: a counting lease set per key. The same contract as
 * {@link LockBackend}, except that `tryAcquire` grants while the permits held plus the requested
 * ones fit in `limit`. Every lease gets its own fencing token (strictly increasing per key across
 * all leases). Expiry uses the server's clock (Redis `TIME`, PostgreSQL `now()`), never a client's
 * clock.
 */
export interface SemaphoreBackend {
  /** A short name for messages and docs. */
  readonly name: string;
  /** What the backend promises. */
  readonly guarantees: BackendGuarantees;
  /** Optional: refuses keys this backend cannot store (see {@link LockBackend.checkKey}). */
  checkKey?(field: string, key: string): void;
  /**
   * Grants `options.permits` (default 1) permits of `key` to `owner` as one lease when they fit in
   * `limit` with the unexpired ones, and nobody waits in the key's queue (a backend with a queue
   * serves it first: a newcomer never overtakes a queued waiter); otherwise answers `busy`.
   */
  tryAcquire(
    key: string,
    owner: string,
    limit: number,
    ttlMs: number,
    options: SemaphoreCallOptions,
  ): Promise<AcquireResult>;
  /** Resets the TTL of `owner`'s lease; `lost` when it no longer holds one. */
  extend(
    key: string,
    owner: string,
    token: bigint,
    ttlMs: number,
    options: CallOptions,
  ): Promise<ExtendResult>;
  /** Releases `owner`'s lease (all its permits) if it still holds it, serving queued waiters; idempotent. */
  release(key: string, owner: string, options: CallOptions): Promise<void>;
  /** Resolves when a permit of `key` may have been freed (release or expiry); spurious wake-ups allowed. */
  waitForChange(key: string, options: CallOptions): Promise<void>;
  /** Unexpired leases currently held on `key`, sorted by token. */
  holders(key: string, options: CallOptions): Promise<readonly Holder[]>;
  /**
   * Optional server-side FIFO queueing, as {@link LockBackend.acquireQueued}: resolves with a grant
   * once `owner` reaches the head of the key's queue and its permits fit, or answers `busy` when
   * `options.signal` aborts first (the backend removes the waiter, after
   * {@link QUEUE_PLACE_GRACE_MS} when it `keepsQueuePlace`). The head of the queue blocks the waiters
   * behind it even when a smaller request would fit: that is what keeps a large request from
   * starving.
   */
  acquireQueued?(
    key: string,
    owner: string,
    limit: number,
    ttlMs: number,
    options: SemaphoreCallOptions,
  ): Promise<AcquireResult>;
  /** As {@link LockBackend.tryBeforeQueue}. */
  readonly tryBeforeQueue?: boolean;
  /** As {@link LockBackend.keepsQueuePlace}. */
  readonly keepsQueuePlace?: boolean;
  /**
   * True when the backend honours `permits` > 1 in its grant calls (one lease taking several
   * permits at once). The {@link Semaphore} client refuses `permits` > 1 on a backend without it.
   */
  readonly multiPermit?: boolean;
}

/**
 * What an election backend implements. Leader election is a lock whose holder is the leader: the
 * lease's token is the term (so the term doubles as the fencing token), and `holder()` lets
 * followers observe who leads. Every {@link LockBackend} is an election backend.
 */
export type ElectionBackend = LockBackend;

/** What a backend promises, stated so docs and tests can check it. */
export interface BackendGuarantees {
  /** Waiters are served in arrival order (server-side queue); otherwise the fastest retry wins. */
  readonly fifo: boolean;
  /**
   * Leases and tokens survive a server restart (`true` for etcd, PostgreSQL, Redis with AOF
   * `fsync always`); `false` means a restart may grant a key twice, which fencing still catches only
   * if tokens keep increasing.
   */
  readonly durable: boolean;
  /** Writes are replicated by consensus before they are acknowledged (etcd), so a failover loses none. */
  readonly consensus: boolean;
}

/** The longest owner string a backend must store. */
export const MAX_OWNER_LENGTH = 256;

/**
 * How long a backend that `keepsQueuePlace` keeps the queue entry of a waiter whose signal aborted,
 * in ms: the client's next chunk of the same wait (same owner) comes at once and takes it up. A
 * waiter that really gave up leaves after this grace; a key handed to it meanwhile is given back
 * then.
 */
export const QUEUE_PLACE_GRACE_MS = 250;

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/**
 * A held lease: a lock, a semaphore permit or a leadership term.
 *
 * `signal` aborts *before* the server-side expiry: the client computes
 * `deadline = monotonic time when the grant (or last renewal) was sent + ttlMs × (1 − driftFactor)
 * − driftMarginMs` and aborts when its local clock passes it, when a renewal says the lease is gone,
 * or when the lease is released. Reading `signal` also checks the deadline synchronously, so a
 * process that resumes from a pause sees the abort before its timers catch up. Pass `signal` to
 * every operation the lease guards, and pass `token` to the storage (fencing): a paused process can
 * check nothing, so only fencing makes its late writes harmless.
 */
export interface Lease extends AsyncDisposable {
  /** The key (lock name, semaphore name, election name). */
  readonly key: string;
  /** The fencing token; strictly increasing per key across all holders. */
  readonly token: bigint;
  /** The opaque owner id (128 random bits in hex, plus an optional suffix). */
  readonly owner: string;
  /**
   * Aborts when the lease ends. `reason` is a {@link LockLostError} (with `expired`, `stolen` or
   * `unreachable`) when it was lost, a {@link LeaseReleasedError} when it was released.
   */
  readonly signal: AbortSignal;
  /** True while the lease is believed valid (same check as `signal`). */
  readonly valid: boolean;
  /** Milliseconds left before the client-side deadline (0 once it passed or the lease ended). */
  remainingMs(): number;
  /** Throws the `signal`'s reason when the lease is no longer valid; use before a side effect. */
  assertValid(): void;
  /**
   * Renews the lease for `ttlMs` (default: the acquire's `ttlMs`) and moves the deadline. Rejects
   * with {@link LockLostError} when the lease is gone (the lease then ends), with
   * {@link LeaseReleasedError} after `release()`, and with the backend's error when the outcome is
   * unknown (the lease stays valid until its current deadline).
   */
  extend(ttlMs?: number): Promise<void>;
  /**
   * Releases the lease on the server (best effort, bounded by `callTimeoutMs`) and aborts `signal`.
   * Idempotent; never rejects for a lease that was already lost or released.
   */
  release(): Promise<void>;
  /** Calls `listener` once when the lease is lost (not when it is released). */
  onLost(listener: (error: LockLostError) => void): Disposable;
}

/**
 * The work run by `with(key, options, fn)`: it receives the lease (pass `lease.signal` to what it
 * does and `lease.token` to the storage) and the lease is released when it returns or throws.
 */
export type LeaseCallback<T> = (lease: Lease) => T | PromiseLike<T>;

/** Options of one `acquire` / `tryAcquire` call. */
export interface AcquireOptions {
  /** Lease duration on the server, in ms. Required, > 0. Longer survives longer pauses; shorter recovers faster from a dead holder. */
  ttlMs: number;
  /**
   * How long `acquire` may wait for the key, in ms (default: `Infinity`, until `signal` aborts).
   * `0` makes one attempt. `tryAcquire` ignores it.
   */
  waitMs?: number;
  /** Cancels the wait (or the attempt); the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Renews the lease automatically (a watchdog) every `ttlMs / 3` until released or lost
   * (default `false`). A failed renewal is retried until the deadline; it never produces an
   * unhandled rejection: a loss is reported through `signal` and `onLost`.
   */
  autoRenew?: boolean;
}

/** Options shared by the {@link Lock}, {@link Semaphore} and {@link Election} clients. */
export interface ClientOptions {
  /** Time, timers and owner-id randomness (default: the system runtime). */
  runtime?: Runtime;
  /**
   * Deadline of every backend call, in ms (default 2,000). A call that has not answered by then is
   * abandoned and treated as "outcome unknown". Shorter detects a dead backend faster; too short
   * gives up on a slow but healthy one.
   */
  callTimeoutMs?: number;
  /**
   * Fraction of the TTL removed from the client-side deadline to cover clock-rate differences
   * between client and server (default 0.01, i.e. clocks may disagree by 1%, 10,000 ppm, as in
   * Redlock). Must be in [0, 0.5).
   */
  driftFactor?: number;
  /** Constant subtracted from the client-side deadline, in ms (default 2). Covers timer granularity. */
  driftMarginMs?: number;
  /**
   * Upper bound on the interval between rechecks while waiting, in ms (default 1,000). Waiting is
   * event-driven; this only bounds how long a lost notification can delay a waiter.
   */
  recheckMs?: number;
  /** Upper bound on concurrent waiters in this client (default 1,000); more reject with {@link TooManyWaitersError}. */
  maxWaiters?: number;
}

/** Options of {@link Semaphore}. */
export interface SemaphoreOptions extends ClientOptions {
  /** Number of permits (integer in [1, 1,000,000]); every client of a key must use the same value. */
  permits: number;
}

/** Options of one {@link Semaphore} `acquire` / `tryAcquire` / `with`. */
export interface SemaphoreAcquireOptions extends AcquireOptions {
  /**
   * How many permits the one lease takes, all at once or none (default 1; an integer in [1, the
   * semaphore's `permits`]), like redis-semaphore's MultiSemaphore. On a FIFO backend a waiter for
   * several permits keeps its place: smaller requests behind it wait too, so it cannot starve.
   * Needs a backend with `multiPermit` (memory, Redis, PostgreSQL) for values above 1.
   */
  permits?: number;
}

/** Options of {@link Election}. Names and the timing rule follow client-go's leader election. */
export interface ElectionOptions extends ClientOptions {
  /** The election's name (the key of the lease). */
  key: string;
  /** A readable id of this candidate (host name, pod name); appears in `observe()`. 1–200 chars, no `/`. */
  candidateId: string;
  /**
   * Leader lease duration, in ms (default 15,000). Followers wait this long after the last renewal
   * before taking over. Must be greater than `renewDeadlineMs`.
   */
  leaseDurationMs?: number;
  /**
   * How long the leader keeps retrying to renew before it steps down, in ms (default 10,000). It
   * steps down at the latest when its client-side deadline passes, which is always before the
   * server-side expiry. Must be greater than `retryPeriodMs × 1.2`.
   */
  renewDeadlineMs?: number;
  /** Interval between renewals and between a follower's rechecks, in ms (default 2,000). */
  retryPeriodMs?: number;
}

/** A term of leadership won by `campaign()`. */
export interface Leadership extends Lease {
  /** The term number; equals the lease's fencing token and increases with every new leader. */
  readonly term: bigint;
}

/** What `Election.observe()` reports. */
export type LeaderEvent =
  | {
      readonly kind: 'leader';
      readonly candidateId: string;
      readonly term: bigint;
      /** The value the leader proclaimed last in this term ({@link Election.proclaim}), if any. */
      readonly value?: string;
    }
  | { readonly kind: 'none' };

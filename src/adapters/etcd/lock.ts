/**
 * The etcd lock backend: locks and elections as etcd's Go `concurrency` package builds them. Every
 * contender puts one key under the lock's prefix (named after its session lease, see
 * `contenders.ts`; the value is the owner), attached to a shared session lease; the holder is the
 * key with the smallest create revision, and that revision is the fencing token. Waiters
 * queue in create-revision order and each watches only its predecessor, so a release wakes one
 * waiter (no thundering herd) and the queue is FIFO.
 *
 * @module
 */
import type { Etcd3, ICompare, IKeyValue, IRangeRequest, IRequestOp, ITxnResponse } from 'etcd3';
import { raceAbort } from '../../core/abort.js';
import type { Runtime } from '../../core/runtime.js';
import { systemRuntime } from '../../core/system.js';
import { integerIn, nonEmptyString, rangeError } from '../../core/validate.js';
import {
  BackendClosedError,
  BackendUnavailableError,
  TooManyWaitersError,
} from '../../coord/errors.js';
import type {
  AcquireResult,
  BackendGuarantees,
  CallOptions,
  ExtendResult,
  Holder,
  LockBackend,
  ProclaimResult,
} from '../../coord/types.js';
import { BoundedMap } from '../common/bounded-map.js';
import { QueuePlaces } from '../common/queue-places.js';
import type { Contender } from './contenders.js';
import { Contenders } from './contenders.js';
import { decodeContenderValue, lockPrefix, prefixEnd, proclaimedValue } from './keys.js';
import type { EtcdSessionLostError } from './session.js';
import { EtcdSession, isEtcdSessionLostError } from './session.js';
import { openDeleteTracker, openWatch, waitForEvent } from './watch.js';

/** Options of {@link EtcdLockBackend}. */
export interface EtcdLockBackendOptions {
  /** An etcd3 client (`new Etcd3({ hosts })`); the backend never closes it. */
  client: Etcd3;
  /**
   * Key prefix of every lock (default `faultline/lock/`). Give each application its own prefix;
   * clients of one lock must use the same prefix.
   */
  prefix?: string;
  /** Time and timers of the keep-alive loops (default: the system runtime). */
  runtime?: Runtime;
  /**
   * Upper bound on concurrent waits (watches and queued acquires) of this backend (default 1,000);
   * more reject with `TooManyWaitersError`. Each costs one etcd watcher.
   */
  maxWaiters?: number;
  /**
   * Upper bound on live session leases (default 8). The backend keeps one session per distinct TTL
   * (in whole seconds) and shares it between all locks with that TTL; a new TTL beyond the bound
   * throws a `RangeError`. More sessions cost one keep-alive each per `ttl / 3`.
   */
  maxSessions?: number;
}

/** Upper bound on one session lease grant, in ms. */
const GRANT_TIMEOUT_MS = 5000;

const GUARANTEES: BackendGuarantees = Object.freeze({ fifo: true, durable: true, consensus: true });

/**
 * A waiter with at most this many older contenders watches all of their deletes (one range watch)
 * and knows it heads the queue when the last one goes, without reading the queue's state after
 * each hand-over (`bench etcd`, case `etcd-lock-contended`). Further back it watches only its
 * predecessor, as etcd's Go `Mutex` does, so a release wakes at most this many waiters besides.
 */
const TRACKED_OLDER_MAX = 8;

/** Lock keys whose prebuilt request parts are kept (see {@link KeyRequests}). */
const KEY_REQUESTS_KEPT = 1000;

/**
 * The request parts of one lock key that do not depend on the caller, built once and reused: etcd3
 * serializes a request without modifying it, so sharing them between calls is safe, and the hot
 * path (one transaction, one delete) then builds only the contender's own key.
 */
interface KeyRequests {
  /** `<prefix><encoded key>/`: every contender's key starts with it. */
  readonly prefix: string;
  /** The prefix as bytes, and the end of its range (every contender's key lies in between). */
  readonly start: Buffer;
  readonly end: Buffer;
  /** The lock is free: no key at all under the prefix (no holder and no queued waiter). */
  readonly free: ICompare[];
  /** The holder: the oldest key under the prefix. */
  readonly head: IRangeRequest;
  /** `[head]` as a transaction's operations. */
  readonly headOps: IRequestOp[];
  /**
   * The newest keys under the prefix (names and revisions only): just after our put, ours and up
   * to `TRACKED_OLDER_MAX + 1` older ones.
   */
  readonly newest: IRangeRequest;
}

function keyRequests(prefix: string): KeyRequests {
  const start = Buffer.from(prefix);
  const end = prefixEnd(start);
  const head: IRangeRequest = {
    key: start,
    range_end: end,
    sort_target: 'Create',
    sort_order: 'Ascend',
    limit: 1,
  };
  return {
    prefix,
    start,
    end,
    free: [{ key: start, range_end: end, target: 'Create', result: 'Equal', create_revision: 0 }],
    head,
    headOps: [{ request_range: head }],
    newest: { ...head, sort_order: 'Descend', limit: TRACKED_OLDER_MAX + 2, keys_only: true },
  };
}

/**
 * A {@link LockBackend} (and so an election backend) on etcd v3.
 *
 * - Sessions: one etcd lease per distinct TTL (whole seconds), shared by all keys with that TTL and
 *   kept alive every `ttl / 3` by this backend; a lock costs one transaction to take and one delete to
 *   give back (no lease grant or revoke per lock). When a session is lost, etcd deletes every key on
 *   it: all locks on it are lost together (renewals answer `lost`), and the next acquire opens a new
 *   session.
 * - Tokens: the create revision of the holder's key. Revisions are cluster-wide, strictly increasing
 *   and durable, so tokens increase per key across holders, expiries, releases and restarts.
 * - TTL: the session's. `Granted.ttlMs` is the part of the session's lease this process can prove is
 *   left (measured from the last renewal's send time), never more than the server will honour.
 *
 * @example
 * import { Etcd3 } from 'etcd3';
 * import { EtcdLockBackend } from 'faultline/etcd';
 * const backend = new EtcdLockBackend({ client: new Etcd3({ hosts: 'http://127.0.0.1:2379' }) });
 * // hand `backend` to faultline/coord's Lock or Election; close it on shutdown:
 * await backend.close();
 */
export class EtcdLockBackend implements LockBackend {
  readonly name = 'etcd';
  readonly guarantees = GUARANTEES;
  /** The chunks of one wait keep their place: an aborted waiter's key lives on for a grace. */
  readonly keepsQueuePlace = true;
  /** Waits per owner and the removals their aborted chunks left pending. */
  private readonly places: QueuePlaces;
  private readonly client: Etcd3;
  private readonly prefix: string;
  private readonly runtime: Runtime;
  private readonly maxWaiters: number;
  private readonly maxSessions: number;
  private readonly sessions = new Map<number, Promise<EtcdSession>>();
  /** The granted sessions by TTL (whole seconds): the fast path skips the promise of `sessions`. */
  private readonly live = new Map<number, EtcdSession>();
  private readonly requests = new BoundedMap<string, KeyRequests>(KEY_REQUESTS_KEPT);
  /** Revision of the last answer per lock key: a later watch starts just after it, missing nothing. */
  private readonly seen = new BoundedMap<string, bigint>(10_000);
  /**
   * Mod revision of the holder's key ('0': free) in the last answer per lock key: it changes with
   * the holder and with each of its proclamations (a put changes no other key's mod revision).
   */
  private readonly heads = new BoundedMap<string, string>(10_000);
  /** The keys this backend put or may have put, with the names it reuses. */
  private readonly contenders = new Contenders();
  /** Contenders whose removal failed; retried on the next release (at most `maxWaiters` kept). */
  private readonly orphans = new Set<Contender>();
  private waiters = 0;
  private closed = false;

  constructor(options: EtcdLockBackendOptions) {
    if (typeof options.client?.leaseClient !== 'object')
      throw rangeError('client', 'an etcd3 Etcd3 client', options.client);
    this.client = options.client;
    this.prefix = nonEmptyString('prefix', options.prefix ?? 'faultline/lock/');
    this.runtime = options.runtime ?? systemRuntime();
    this.places = new QueuePlaces(this.runtime.timers);
    this.maxWaiters = integerIn('maxWaiters', options.maxWaiters ?? 1000, 1, 1_000_000);
    this.maxSessions = integerIn('maxSessions', options.maxSessions ?? 8, 1, 1000);
  }

  async tryAcquire(
    key: string,
    owner: string,
    ttlMs: number,
    options: CallOptions,
  ): Promise<AcquireResult> {
    const req = this.requestsOf(key);
    return this.withSession(ttlMs, options.signal, async (session) => {
      const { contender: c, fresh } = this.contenders.claim(
        key,
        req.prefix,
        owner,
        session.leaseId,
      );
      // The owner already has a key (or may have) on another session: it cannot take a second.
      if (c.leaseId !== session.leaseId) return { kind: 'busy', retryAfterMs: undefined };
      const sentAtMs = this.runtime.clock.monotonicMs();
      // On an error the put may have happened: the contender stays registered for the release.
      const res = await this.txn('tryAcquire', key, options.signal, {
        compare: req.free,
        success: [{ request_put: { key: c.name, value: c.value, lease: session.leaseId } }],
        failure: req.headOps,
      });
      this.heads.set(
        key,
        res.succeeded ? res.header.revision : (rangeKvs(res)[0]?.mod_revision ?? '0'),
      );
      if (!res.succeeded) {
        // Nothing was written: a name made for this call is free again at once.
        if (fresh) this.contenders.drop(c);
        return { kind: 'busy', retryAfterMs: undefined };
      }
      return this.unlessAborted(key, owner, options.signal, {
        kind: 'acquired',
        token: BigInt(res.header.revision),
        ttlMs: session.trustedFor(sentAtMs),
      });
    });
  }

  async acquireQueued(
    key: string,
    owner: string,
    ttlMs: number,
    options: CallOptions,
  ): Promise<AcquireResult> {
    const release = this.enterWaiter(key);
    // The next chunk of an aborted wait finds its key (its place: the create revision) still there.
    const ticket = this.places.begin(owner);
    try {
      const result = await this.withSession(ttlMs, options.signal, (session) =>
        this.queue(session, key, owner, options.signal),
      );
      return this.unlessAborted(key, owner, options.signal, result, ticket);
    } catch (error) {
      if (!options.signal.aborted) throw error;
      // The caller gave up, or a chunk of its wait ended: leave the queue (or give back a grant
      // that raced with the abort) unless the same owner comes back within the grace.
      this.places.leaveLater(owner, ticket, () => this.removeContender(key, owner));
      return { kind: 'busy', retryAfterMs: undefined };
    } finally {
      release();
      this.places.end(owner, ticket);
    }
  }

  async extend(
    key: string,
    owner: string,
    token: bigint,
    _ttlMs: number,
    options: CallOptions,
  ): Promise<ExtendResult> {
    const req = this.requestsOf(key);
    const mine = this.contenders.get(key, owner)?.name;
    // No key of this owner (released, its session lost, or never granted here): read who holds.
    if (mine === undefined) return this.lostBecause(key, req, options.signal);
    const sentAtMs = this.runtime.clock.monotonicMs();
    const res = await this.txn('extend', key, options.signal, {
      compare: [{ key: mine, target: 'Create', result: 'Equal', create_revision: String(token) }],
      success: [{ request_range: { key: mine } }],
      failure: req.headOps,
    });
    if (!res.succeeded)
      return { kind: 'lost', reason: rangeKvs(res)[0] === undefined ? 'expired' : 'stolen' };
    const kv = rangeKvs(res)[0];
    if (kv === undefined) return { kind: 'lost', reason: 'expired' };
    const session = await this.sessionById(kv.lease);
    if (session === undefined) return { kind: 'lost', reason: 'expired' };
    // The session loop renews every ttl/3: while most of the lease is provably left, report that
    // instead of renewing again (a smaller TTL than requested is a clamp the SPI allows).
    const trusted = session.trustedFor(sentAtMs);
    if (session.alive && trusted >= session.ttlMs / 2) return { kind: 'extended', ttlMs: trusted };
    try {
      return { kind: 'extended', ttlMs: await session.renew(options.signal) };
    } catch (error) {
      if (isEtcdSessionLostError(error) && error.reason === 'expired')
        return { kind: 'lost', reason: 'expired' };
      throw unavailable('extend', error);
    }
  }

  async release(key: string, owner: string, options: CallOptions): Promise<void> {
    const c = this.contenders.get(key, owner);
    // No key of this owner: nothing to give back (a repeated release, a lost session, not ours).
    if (c === undefined) return;
    try {
      await raceAbort(this.deleteKey(c), options.signal);
    } catch (error) {
      throw unavailable('release', error);
    }
    if (this.orphans.size > 0) this.retryOrphans();
  }

  async holder(key: string, options: CallOptions): Promise<Holder | null> {
    const req = this.requestsOf(key);
    let kv: IKeyValue | undefined;
    let ttlSeconds: number;
    try {
      const res = await raceAbort(this.client.kv.range(req.head), options.signal);
      this.note(key, res.header.revision);
      kv = res.kvs[0];
      this.heads.set(key, kv?.mod_revision ?? '0');
      if (kv === undefined) return null;
      const ttl = await raceAbort(
        this.client.leaseClient.leaseTimeToLive({ ID: kv.lease }),
        options.signal,
      );
      ttlSeconds = Number(ttl.TTL);
    } catch (error) {
      throw unavailable('holder', error);
    }
    // TTL -1: the lease just expired and etcd is deleting its keys.
    if (!(ttlSeconds > 0)) return null;
    const { owner, value } = decodeContenderValue(kv.value);
    const found: Holder = {
      owner: owner.toString(),
      token: BigInt(kv.create_revision),
      remainingMs: ttlSeconds * 1000,
    };
    return value === undefined ? found : { ...found, value };
  }

  /**
   * etcd's `Election.Proclaim`: rewrites the holder's own key with `value` beside the owner, in one
   * transaction that compares the key's create revision with `token` (so only the holder of that
   * term writes, and the key keeps its revision, its lease and its place). Observers watching the
   * lock's range see the put.
   */
  async proclaim(
    key: string,
    owner: string,
    token: bigint,
    value: string,
    options: CallOptions,
  ): Promise<ProclaimResult> {
    const c = this.contenders.get(key, owner);
    if (c === undefined) return { kind: 'not-holder' };
    const res = await this.txn('proclaim', key, options.signal, {
      compare: [{ key: c.name, target: 'Create', result: 'Equal', create_revision: String(token) }],
      success: [
        { request_put: { key: c.name, value: proclaimedValue(c.value, value), lease: c.leaseId } },
      ],
      failure: [],
    });
    return res.succeeded ? { kind: 'proclaimed' } : { kind: 'not-holder' };
  }

  async waitForChange(key: string, options: CallOptions): Promise<void> {
    const release = this.enterWaiter(key);
    try {
      const { head, start, end } = this.requestsOf(key);
      const seenHead = this.heads.get(key);
      if (seenHead === undefined) {
        // Nothing observed yet: replay from the last revision this backend saw for the key.
        const from = this.seen.get(key);
        await waitForEvent(
          this.client,
          start,
          end,
          from === undefined ? undefined : from + 1n,
          options.signal,
        );
        return;
      }
      const watch = await openWatch(this.client, start, end, ['put', 'delete'], options.signal);
      try {
        // The watch is live: if the holder changed since the caller last looked, wake at once.
        const res = await raceAbort(this.client.kv.range(head), options.signal);
        if ((res.kvs[0]?.mod_revision ?? '0') !== seenHead) return;
        await raceAbort(watch.fired, options.signal);
      } finally {
        watch.close();
      }
    } finally {
      release();
    }
  }

  /**
   * Revokes every session lease (deleting every key this backend holds or waits with) and stops the
   * keep-alive loops. The etcd3 client stays open: it belongs to the caller.
   */
  async close(): Promise<void> {
    this.closed = true;
    // Closing the sessions below deletes every key on them, pending removals included.
    this.places.flush(false);
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    this.live.clear();
    this.contenders.clear();
    this.orphans.clear();
    await Promise.all(
      sessions.map((s) =>
        s.then(
          (x) => x.close(),
          () => undefined,
        ),
      ),
    );
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Puts our key (FIFO position), then waits until every older contender is gone. */
  private async queue(
    session: EtcdSession,
    key: string,
    owner: string,
    signal: AbortSignal,
  ): Promise<AcquireResult> {
    const sentAtMs = this.runtime.clock.monotonicMs();
    const req = this.requestsOf(key);
    const { contender: c, fresh } = this.contenders.claim(key, req.prefix, owner, session.leaseId);
    // A key's name and lease always match, so a lost session takes exactly its own names along.
    if (c.leaseId !== session.leaseId) return { kind: 'busy', retryAfterMs: undefined };
    const mine = c.name;
    const res = await this.txn('acquireQueued', key, signal, {
      compare: [{ key: mine, target: 'Create', result: 'Equal', create_revision: 0 }],
      // As etcd's Mutex does: put our key and read the queue's head in the same transaction.
      // The newest two keys are ours and, if any, our predecessor: the key to watch.
      success: [
        { request_put: { key: mine, value: c.value, lease: session.leaseId } },
        { request_range: req.head },
        { request_range: req.newest },
      ],
      failure: [{ request_range: { key: mine } }],
    });
    const myRev = res.succeeded ? BigInt(res.header.revision) : this.adopt(c, fresh, res);
    if (myRev === 0n) return { kind: 'busy', retryAfterMs: undefined };
    if (myRev < 0n) return { kind: 'busy', retryAfterMs: 0 };
    const head = res.succeeded ? res.responses[1]?.response_range?.kvs[0] : undefined;
    if (head !== undefined && BigInt(head.create_revision) === myRev)
      return this.granted(session, myRev, sentAtMs);
    const waitSignal = AbortSignal.any([signal, session.signal]);
    const newest = res.succeeded ? res.responses[2]?.response_range?.kvs : undefined;
    const known =
      newest?.[0] !== undefined && BigInt(newest[0].create_revision) === myRev
        ? newest.slice(1)
        : undefined;
    const granted = await this.waitPredecessors(key, mine, myRev, known, waitSignal).catch(
      (error: unknown) => {
        if (signal.aborted || !session.signal.aborted) throw error;
        return false;
      },
    );
    if (!granted) return { kind: 'busy', retryAfterMs: 0 };
    return this.granted(session, myRev, sentAtMs);
  }

  /**
   * Our key already existed when the queued put was tried (its compare failed): a retry by the same
   * owner finds its own key and keeps its place (its create revision). 0 when the key is gone
   * (nothing written); -1 when the name holds another owner's key, which never happens while names
   * are reused only after a confirmed removal: that name is then never used again (its contender
   * stays registered until the session ends), and the caller retries on a fresh one.
   */
  private adopt(c: Contender, fresh: boolean, res: ITxnResponse): bigint {
    const kv = rangeKvs(res)[0];
    if (kv === undefined) {
      if (fresh) this.contenders.drop(c);
      return 0n;
    }
    return decodeContenderValue(kv.value).owner.equals(c.value) ? BigInt(kv.create_revision) : -1n;
  }

  /**
   * A queued grant. Our key lives on the session lease, whose expiry this process tracks from its
   * renewals' send times: `trustedFor(sentAtMs)` is that bound measured from the request's send,
   * however long the queue wait was, so the grant is `anchored` and the client needs no confirming
   * renewal (one read less per queued acquire).
   */
  private granted(session: EtcdSession, token: bigint, sentAtMs: number): AcquireResult {
    return { kind: 'acquired', token, ttlMs: session.trustedFor(sentAtMs), anchored: true };
  }

  /**
   * etcd's `waitDeletes`: wait until every older contender is gone. Answers false when our own key
   * is gone (the session died while we waited), true at the head of the queue. With at most
   * {@link TRACKED_OLDER_MAX} older keys it watches all their deletes at once (no read after a
   * hand-over); with more, only the newest older key, then reads the queue again.
   */
  private async waitPredecessors(
    key: string,
    mine: Buffer,
    myRev: bigint,
    known: IKeyValue[] | undefined,
    signal: AbortSignal,
  ): Promise<boolean> {
    // The older keys may come from the enqueueing transaction (newest first); later from a read.
    let older = known;
    for (;;) {
      if (older === undefined) {
        const state = await this.queueState(key, mine, myRev, signal);
        if (state.own === undefined || BigInt(state.own.create_revision) !== myRev) return false;
        older = state.older;
      }
      if (older.length === 0) return true;
      if (older.length <= TRACKED_OLDER_MAX) {
        const outcome = await this.trackOlder(key, mine, myRev, signal);
        if (outcome !== 'recheck') return outcome === 'head';
      } else {
        await this.waitDeleted(older[0]!, signal);
      }
      older = undefined;
    }
  }

  /**
   * Watches every delete under the lock's prefix, reads the older contenders once the watch is
   * live, and answers `head` when the last of them was deleted, `lost` when our own key was, and
   * `recheck` when the watch failed or too many older keys showed up (the caller reads again).
   */
  private async trackOlder(
    key: string,
    mine: Buffer,
    myRev: bigint,
    signal: AbortSignal,
  ): Promise<'head' | 'lost' | 'recheck'> {
    const { start, end } = this.requestsOf(key);
    const tracker = await openDeleteTracker(this.client, start, end, signal);
    try {
      // The watch is live now: a key deleted before it started is missing from this read.
      const state = await this.queueState(key, mine, myRev, signal);
      if (state.own === undefined || BigInt(state.own.create_revision) !== myRev) return 'lost';
      if (state.older.length > TRACKED_OLDER_MAX) return 'recheck';
      // Keys older than ours can only go (revisions only grow), so none can join this set.
      const pending = new Set(state.older.map((kv) => kv.key.toString('hex')));
      const own = mine.toString('hex');
      while (pending.size > 0) {
        const name = await tracker.next(signal);
        if (name === undefined) return 'recheck';
        if (name === own) return 'lost';
        pending.delete(name);
      }
      return 'head';
    } finally {
      tracker.close();
    }
  }

  /** Resolves once `predecessor` (that incarnation of its name) is gone, or its watch failed. */
  private async waitDeleted(predecessor: IKeyValue, signal: AbortSignal): Promise<void> {
    const watch = await openWatch(this.client, predecessor.key, undefined, ['delete'], signal);
    try {
      // The watch is live now: check that the predecessor did not go before it started.
      const again = await raceAbort(this.client.kv.range({ key: predecessor.key }), signal);
      if (again.kvs[0]?.create_revision === predecessor.create_revision)
        await raceAbort(watch.fired, signal);
    } finally {
      watch.close();
    }
  }

  /**
   * Our own key and the newest older contenders (up to {@link TRACKED_OLDER_MAX} + 1, newest
   * first, names and revisions only), in one read-only transaction.
   */
  private async queueState(
    key: string,
    mine: Buffer,
    myRev: bigint,
    signal: AbortSignal,
  ): Promise<{ own: IKeyValue | undefined; older: IKeyValue[] }> {
    const { start, end } = this.requestsOf(key);
    const older: IRangeRequest = {
      key: start,
      range_end: end,
      max_create_revision: String(myRev - 1n),
      sort_target: 'Create',
      sort_order: 'Descend',
      limit: TRACKED_OLDER_MAX + 1,
      keys_only: true,
    };
    const res = await raceAbort(
      this.client.kv.txn({
        compare: [],
        success: [{ request_range: older }, { request_range: { key: mine, keys_only: true } }],
        failure: [],
      }),
      signal,
    );
    this.note(key, res.header.revision);
    return {
      own: res.responses[1]?.response_range?.kvs[0],
      older: res.responses[0]?.response_range?.kvs ?? [],
    };
  }

  private async txn(
    operation: string,
    key: string,
    signal: AbortSignal,
    request: {
      compare: NonNullable<Parameters<Etcd3['kv']['txn']>[0]['compare']>;
      success: IRequestOp[];
      failure: IRequestOp[];
    },
  ): Promise<ITxnResponse> {
    try {
      const res = await raceAbort(this.client.kv.txn(request), signal);
      this.note(key, res.header.revision);
      return res;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw unavailable(operation, error);
    }
  }

  /**
   * Runs `fn` with the live session for `ttlMs`. When etcd answers that the session's lease is gone
   * (it expired while this process could not tell), the session is dropped and `fn` runs once more
   * with a fresh one: nothing was written by the failed attempt.
   */
  private async withSession<T>(
    ttlMs: number,
    signal: AbortSignal,
    fn: (session: EtcdSession) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const session = this.liveSession(ttlMs, signal) ?? (await this.session(ttlMs, signal));
      try {
        return await fn(session);
      } catch (error) {
        if (attempt > 0 || !isLeaseNotFound(error)) throw error;
        session.markExpired();
      }
    }
  }

  /**
   * The granted, live session for `ttlMs`, synchronously (the path of every call but the first of a
   * TTL); `undefined` sends the caller to {@link session}, which grants or replaces it, or rejects
   * when the backend is closed or the signal aborted (so nothing is sent after an abort).
   */
  private liveSession(ttlMs: number, signal: AbortSignal): EtcdSession | undefined {
    if (this.closed || signal.aborted) return undefined;
    const s = this.live.get(sessionSeconds(ttlMs));
    return s !== undefined && s.alive ? s : undefined;
  }

  /** The live session for `ttlMs` (whole seconds), granting one when needed. */
  private session(ttlMs: number, signal: AbortSignal): Promise<EtcdSession> {
    if (this.closed) return Promise.reject(new BackendClosedError('etcd', 'session'));
    const seconds = sessionSeconds(ttlMs);
    let pending = this.sessions.get(seconds);
    if (pending === undefined) {
      if (this.sessions.size >= this.maxSessions) {
        return Promise.reject(
          rangeError(
            'ttlMs',
            `one of at most ${this.maxSessions} distinct whole-second TTLs`,
            ttlMs,
          ),
        );
      }
      pending = this.grant(seconds);
    }
    // Each caller waits with its own signal; the shared grant is bounded by its own timer.
    return raceAbort(pending, signal).then((s) => {
      if (s.alive) {
        if (this.sessions.get(seconds) === pending) this.live.set(seconds, s);
        return s;
      }
      if (this.sessions.get(seconds) === pending) this.sessions.delete(seconds);
      return this.session(ttlMs, signal);
    });
  }

  /** Grants the session of `seconds`, registered (and unregistered on failure or loss) in the map. */
  private grant(seconds: number): Promise<EtcdSession> {
    const bound = new AbortController();
    const cancel = this.runtime.timers.setTimer(GRANT_TIMEOUT_MS, () =>
      bound.abort(
        new BackendUnavailableError('session', `no lease grant within ${GRANT_TIMEOUT_MS} ms`),
      ),
    );
    const forget = (): void => {
      if (this.sessions.get(seconds) !== pending) return;
      this.sessions.delete(seconds);
      this.live.delete(seconds);
    };
    // etcd deletes every key of a lost lease: their names are free, and there is nothing to release.
    const onLost = (error: EtcdSessionLostError): void => {
      forget();
      for (const c of this.orphans) if (c.leaseId === error.leaseId) this.orphans.delete(c);
      this.contenders.dropLease(error.leaseId);
    };
    const pending: Promise<EtcdSession> = EtcdSession.grant(
      { client: this.client, runtime: this.runtime, ttlMs: seconds * 1000, onLost },
      bound.signal,
    )
      .catch((error: unknown) => {
        forget();
        throw unavailable('session', error);
      })
      .finally(cancel);
    this.sessions.set(seconds, pending);
    // A backend closed while the grant was in flight revokes the late session.
    void pending.then(
      (s) => (this.closed ? s.close() : undefined),
      () => undefined,
    );
    return pending;
  }

  private async sessionById(leaseId: string): Promise<EtcdSession | undefined> {
    for (const pending of this.sessions.values()) {
      const s = await pending.catch(() => undefined);
      if (s?.leaseId === leaseId) return s;
    }
    return undefined;
  }

  /**
   * A grant that completed after the caller gave up is given back here: the caller discards it, and
   * with a session kept alive by this process nothing else would ever delete the key.
   */
  private unlessAborted(
    key: string,
    owner: string,
    signal: AbortSignal,
    result: AcquireResult,
    ticket?: number,
  ): AcquireResult {
    if (result.kind !== 'acquired' || !signal.aborted) return result;
    // Given back, unless a newer chunk of the same queued wait took over (it finds the grant).
    if (ticket === undefined || this.places.isLatest(owner, ticket)) {
      this.removeContender(key, owner);
    }
    return { kind: 'busy', retryAfterMs: undefined };
  }

  /** The prebuilt request parts of `key` (built on first use, kept for the most recent keys). */
  private requestsOf(key: string): KeyRequests {
    let req = this.requests.get(key);
    if (req === undefined) {
      req = keyRequests(lockPrefix(this.prefix, key));
      this.requests.set(key, req);
    }
    return req;
  }

  private enterWaiter(key: string): () => void {
    if (this.waiters >= this.maxWaiters) throw new TooManyWaitersError(key, this.maxWaiters);
    this.waiters++;
    let left = false;
    return () => {
      if (!left) this.waiters--;
      left = true;
    };
  }

  private note(key: string, revision: string): void {
    const rev = BigInt(revision);
    const prev = this.seen.get(key);
    if (prev === undefined || rev > prev) this.seen.set(key, rev);
  }

  /** Removes the key of `owner` on `key`, if this backend has one, in the background. */
  private removeContender(key: string, owner: string): void {
    const c = this.contenders.get(key, owner);
    if (c !== undefined) this.deleteKey(c).catch(() => undefined);
  }

  /**
   * Deletes a contender's key: its owner no longer finds it at once, its name is free once etcd
   * confirmed the delete. One delete per contender at a time (a second caller shares it), so no
   * delete of a name is still on its way when the name is reused. A failure keeps the contender
   * for a retry (the session would keep its key alive).
   */
  private deleteKey(c: Contender): Promise<void> {
    if (c.deleting !== undefined) return c.deleting;
    this.contenders.retire(c);
    const deleting = this.client.kv.deleteRange({ key: c.name }).then(
      () => {
        c.deleting = undefined;
        this.orphans.delete(c);
        this.contenders.drop(c);
      },
      (error: unknown) => {
        c.deleting = undefined;
        this.keepOrphan(c);
        throw error;
      },
    );
    c.deleting = deleting;
    return deleting;
  }

  /**
   * Keeps a contender whose removal failed for a retry. Beyond `maxWaiters` of them the key is left
   * to its session (its name stays taken); it goes when the session ends.
   */
  private keepOrphan(c: Contender): void {
    if (this.orphans.size < this.maxWaiters) this.orphans.add(c);
  }

  private retryOrphans(): void {
    for (const c of this.orphans)
      if (c.deleting === undefined) this.deleteKey(c).catch(() => undefined);
  }

  /** The answer to an extend by an owner without a key here: who holds the lock decides why. */
  private async lostBecause(
    key: string,
    req: KeyRequests,
    signal: AbortSignal,
  ): Promise<ExtendResult> {
    let held: boolean;
    try {
      const res = await raceAbort(this.client.kv.range(req.head), signal);
      this.note(key, res.header.revision);
      held = res.kvs.length > 0;
    } catch (error) {
      throw unavailable('extend', error);
    }
    return { kind: 'lost', reason: held ? 'stolen' : 'expired' };
  }
}

function isLeaseNotFound(error: unknown): boolean {
  const cause = error instanceof BackendUnavailableError ? error.cause : error;
  return cause instanceof Error && cause.message.includes('requested lease not found');
}

/** A session's TTL: whole seconds, at least one (etcd grants leases in seconds). */
function sessionSeconds(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs / 1000));
}

function rangeKvs(res: ITxnResponse): IKeyValue[] {
  return res.responses[0]?.response_range?.kvs ?? [];
}

function unavailable(operation: string, error: unknown): unknown {
  if (error instanceof BackendUnavailableError || isEtcdSessionLostError(error)) return error;
  if (
    typeof error === 'object' &&
    error !== null &&
    (error as { name?: unknown }).name === 'AbortError'
  )
    return error;
  return new BackendUnavailableError(operation, String((error as Error)?.message ?? error), {
    cause: error,
  });
}

/**
 * Event-driven waiting for the Redis backends: one subscriber connection per backend, one channel
 * per contended key, bounded local waiters woken in arrival order.
 *
 * The release scripts `PUBLISH` on the key's channel in the same atomic step as the release, so a
 * waiter hears of a release about half a round trip after it happened. A subscription is opened
 * the first time someone waits on a key and kept afterwards (up to `maxSubscriptions`, least
 * recently used first out), so a hot key costs one `SUBSCRIBE` in total. A waiter registered
 * before its channel's subscription was confirmed is woken when it is (a spurious wake-up: the
 * client rechecks), because a release in between would have gone unheard.
 *
 * @module
 */
import { abortReason } from '../../core/abort.js';
import { BackendClosedError, TooManyWaitersError } from '../../coord/errors.js';
import { parseGrantMessage } from './keys.js';

/** The part of an ioredis client the subscriber connection needs. */
export interface SubscriberClient {
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  disconnect(): void;
}

interface Waiter {
  /** Registered before the channel's subscription was confirmed. */
  readonly early: boolean;
  wake(): void;
}

/** What a queued waiter hears: its grant, a reason to recheck with the server, or the end. */
export type GrantEvent =
  | { readonly kind: 'granted'; readonly token: bigint }
  | { readonly kind: 'recheck' }
  | { readonly kind: 'closed' };

const RECHECK: GrantEvent = Object.freeze({ kind: 'recheck' });
const CLOSED: GrantEvent = Object.freeze({ kind: 'closed' });

/**
 * A queued waiter's subscription to its own grant message ("+<token>:<owner>" on the key's
 * channel). Events that arrive while nobody calls {@link GrantWatch.next} are kept (a grant or the
 * end wins over a recheck), so none is lost between two calls.
 */
export class GrantWatch {
  private kept: GrantEvent | undefined;
  private waiting: ((event: GrantEvent) => void) | undefined;

  /** @internal */
  constructor(
    /** Registered before the channel's subscription was confirmed. */
    public early: boolean,
    private readonly leave: () => void,
  ) {}

  /** The next event: at once when one is kept, else when it arrives. */
  next(): Promise<GrantEvent> {
    const kept = this.kept;
    if (kept !== undefined) {
      this.kept = undefined;
      return Promise.resolve(kept);
    }
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  /** Forgets the pending `next()` (its caller stopped waiting): events are kept for the next one. */
  stopWaiting(): void {
    this.waiting = undefined;
  }

  /** @internal */
  deliver(event: GrantEvent): void {
    const waiting = this.waiting;
    if (waiting !== undefined) {
      this.waiting = undefined;
      waiting(event);
    } else if (this.kept === undefined || this.kept.kind === 'recheck') {
      this.kept = event;
    }
  }

  /** Stops listening (idempotent). A pending `next()` stays pending: call it no more. */
  dispose(): void {
    this.leave();
  }
}

interface Channel {
  status: 'none' | 'subscribing' | 'active';
  /**
   * Releases by this process (their owners, the messages' payload) that already woke a local waiter
   * when the release answered: their message is skipped, so a release wakes one waiter here, not two.
   */
  readonly expected: string[];
  /** The last messages heard, in case a release's message arrives before the release's own answer. */
  readonly heard: string[];
  /** FIFO: the oldest waiter is woken first. */
  readonly waiters: Waiter[];
  /** Queued waiters of this process, by owner. */
  readonly grants: Map<string, GrantWatch>;
}

/** Upper bound on the expected and heard messages remembered per channel. */
const MAX_REMEMBERED = 8;

function pushBounded(list: string[], item: string): void {
  if (list.length >= MAX_REMEMBERED) list.shift();
  list.push(item);
}

/** Limits of a {@link ChangeHub}. */
export interface ChangeHubLimits {
  /** Upper bound on waiters across all keys; one more throws {@link TooManyWaitersError}. */
  readonly maxWaiters: number;
  /** Upper bound on channels kept subscribed; idle ones beyond it are unsubscribed (LRU). */
  readonly maxSubscriptions: number;
}

/**
 * Waiters on pub/sub channels. The subscriber connection is opened lazily (`open`, typically
 * `client.duplicate()`) and closed by {@link ChangeHub.close}.
 */
export class ChangeHub {
  /** Insertion order is recency order: a channel is moved to the end when used. */
  private readonly channels = new Map<string, Channel>();
  private connection: SubscriberClient | undefined;
  private waiterCount = 0;
  private subscribedCount = 0;
  private readyCount = 0;
  private lastTouched: string | undefined;
  private closed = false;

  constructor(
    private readonly open: () => SubscriberClient,
    private readonly limits: ChangeHubLimits,
  ) {}

  /** Number of waiters currently registered. */
  get waiting(): number {
    return this.waiterCount;
  }

  /** Number of channels subscribed or being subscribed. */
  get subscriptions(): number {
    return this.subscribedCount;
  }

  /**
   * Resolves on the next message on `channel` addressed to this waiter (one message wakes one
   * waiter, oldest first), when the subscription is confirmed for an early waiter, or when the
   * subscriber reconnects; rejects with the signal's reason on abort.
   */
  wait(channel: string, key: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    if (this.closed) return Promise.reject(new BackendClosedError('redis', 'waitForChange'));
    if (this.waiterCount >= this.limits.maxWaiters) {
      return Promise.reject(new TooManyWaitersError(key, this.limits.maxWaiters));
    }
    const state = this.touch(channel);
    return new Promise<void>((resolve, reject) => {
      const leave = (): void => {
        signal.removeEventListener('abort', onAbort);
        const i = state.waiters.indexOf(waiter);
        if (i >= 0) state.waiters.splice(i, 1);
        this.waiterCount--;
        this.forgetIfIdle(channel, state);
      };
      const waiter: Waiter = {
        early: state.status !== 'active',
        wake: () => {
          leave();
          resolve();
        },
      };
      const onAbort = (): void => {
        leave();
        reject(abortReason(signal));
      };
      state.waiters.push(waiter);
      this.waiterCount++;
      signal.addEventListener('abort', onAbort, { once: true });
      this.subscribe(channel, state);
    });
  }

  /**
   * Listens for the grant message of the queued waiter `owner` on `channel` (subscribing when
   * needed). Throws {@link TooManyWaitersError} at the waiter bound, an `AbortedError` once closed.
   * The watch hears `recheck` when the subscription is confirmed (if it was registered before) and
   * after a reconnect, since a grant message may have been missed then.
   */
  watchGrant(channel: string, key: string, owner: string): GrantWatch {
    if (this.closed) throw new BackendClosedError('redis', 'acquireQueued');
    if (this.waiterCount >= this.limits.maxWaiters) {
      throw new TooManyWaitersError(key, this.limits.maxWaiters);
    }
    const state = this.touch(channel);
    let left = false;
    const watch = new GrantWatch(state.status !== 'active', () => {
      if (left) return;
      left = true;
      if (state.grants.get(owner) === watch) state.grants.delete(owner);
      this.waiterCount--;
      this.forgetIfIdle(channel, state);
    });
    state.grants.set(owner, watch);
    this.waiterCount++;
    this.subscribe(channel, state);
    return watch;
  }

  /** Wakes every waiter (their next call fails: the backend is closed) and disconnects the subscriber. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const state of this.channels.values()) {
      for (const w of [...state.waiters]) w.wake();
      for (const g of state.grants.values()) g.deliver(CLOSED);
    }
    this.channels.clear();
    this.subscribedCount = 0;
    this.connection?.disconnect();
    this.connection = undefined;
  }

  private touch(channel: string): Channel {
    let state = this.channels.get(channel);
    // Moving the most recent channel again would change nothing (the common case of a hot key).
    if (state !== undefined && channel === this.lastTouched) return state;
    if (state === undefined) {
      state = { status: 'none', expected: [], heard: [], waiters: [], grants: new Map() };
    } else this.channels.delete(channel);
    this.channels.set(channel, state);
    this.lastTouched = channel;
    return state;
  }

  private forgetIfIdle(channel: string, state: Channel): void {
    if (
      state.status === 'none' &&
      state.waiters.length === 0 &&
      state.grants.size === 0 &&
      this.channels.get(channel) === state
    ) {
      this.channels.delete(channel);
    }
  }

  private conn(): SubscriberClient {
    if (this.connection !== undefined) return this.connection;
    const c = this.open();
    c.on('error', () => undefined); // Reconnects are ioredis's job; 'ready' below wakes everyone.
    c.on('message', (channel, message) => this.onMessage(channel, message));
    c.on('ready', () => {
      // After a reconnect, messages sent while disconnected are lost: wake everyone to recheck.
      if (this.readyCount++ > 0) this.wakeAll();
    });
    this.connection = c;
    return c;
  }

  private subscribe(channel: string, state: Channel): void {
    if (state.status !== 'none') return;
    state.status = 'subscribing';
    this.subscribedCount++;
    const connection = this.conn();
    const settle = (): void => {
      if (this.closed || this.channels.get(channel) !== state) return;
      for (const w of state.waiters.filter((x) => x.early)) w.wake();
      for (const g of state.grants.values()) {
        if (!g.early) continue;
        g.early = false;
        g.deliver(RECHECK);
      }
    };
    connection.subscribe(channel).then(
      () => {
        if (state.status === 'subscribing') state.status = 'active';
        settle();
      },
      () => {
        // Failed (disconnected, closing): forget it so the next wait retries. The waiters are not
        // woken: a wake-up now would make the client retry at once and, while subscribing keeps
        // failing, spin; they wait for their caller's recheck timer instead.
        if (state.status === 'subscribing' && this.channels.get(channel) === state) {
          state.status = 'none';
          this.subscribedCount--;
        }
        this.forgetIfIdle(channel, state);
      },
    );
    this.evict();
  }

  /**
   * A release by this process succeeded (`published`: its script also published `owner`). Wakes
   * the oldest local waiter now instead of when the message comes back through the subscriber:
   * half a round trip sooner, and before the releaser's own next attempt, so local waiters are not
   * starved by a releaser that acquires again at once. The message, when it comes, is then skipped.
   */
  releasedHere(channel: string, owner: string, published: boolean): void {
    const state = this.channels.get(channel);
    if (state === undefined || state.waiters.length === 0) return;
    if (published) {
      const i = state.heard.indexOf(owner);
      // Its message already arrived (the two sockets raced) and woke a waiter.
      if (i >= 0) return void state.heard.splice(i, 1);
      if (state.status === 'active') pushBounded(state.expected, owner);
    }
    state.waiters[0]?.wake();
  }

  /**
   * A release by this process handed the key to a queued waiter (`message`: its grant message). A
   * waiter of this process hears of it now; the message that follows finds it gone and only wakes
   * a change waiter.
   */
  grantedHere(channel: string, message: string): void {
    const state = this.channels.get(channel);
    if (state !== undefined) this.deliverGrant(state, message);
  }

  private deliverGrant(state: Channel, message: string): void {
    let grant: { token: bigint; owner: string } | undefined;
    try {
      grant = parseGrantMessage(message);
    } catch {
      return; // Not ours to judge: some other writer on the channel.
    }
    if (grant === undefined) return;
    state.grants.get(grant.owner)?.deliver({ kind: 'granted', token: grant.token });
  }

  private onMessage(channel: string, message: string): void {
    const state = this.channels.get(channel);
    if (state === undefined) return;
    if (message.startsWith('+')) {
      // A grant to a queued waiter: tell it, and wake one change waiter (the holder changed).
      this.deliverGrant(state, message);
      state.waiters[0]?.wake();
      return;
    }
    const i = state.expected.indexOf(message);
    if (i >= 0) return void state.expected.splice(i, 1);
    pushBounded(state.heard, message);
    state.waiters[0]?.wake();
  }

  private wakeAll(): void {
    for (const state of this.channels.values()) {
      state.expected.length = 0;
      state.heard.length = 0;
      for (const w of [...state.waiters]) w.wake();
      for (const g of state.grants.values()) g.deliver(RECHECK);
    }
  }

  /** Unsubscribes the least recently used idle channels beyond `maxSubscriptions`. */
  private evict(): void {
    let excess = this.subscriptions - this.limits.maxSubscriptions;
    if (excess <= 0) return;
    const drop: string[] = [];
    for (const [channel, state] of this.channels) {
      if (excess <= 0) break;
      if (state.status === 'none' || state.waiters.length > 0 || state.grants.size > 0) continue;
      drop.push(channel);
      excess--;
    }
    for (const channel of drop) this.channels.delete(channel);
    this.subscribedCount -= drop.length;
    if (drop.length > 0) this.connection?.unsubscribe(...drop).catch(() => undefined);
  }
}

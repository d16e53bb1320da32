import { describe, expect, it } from 'vitest';
import { isTooManyWaitersError } from '../../coord/errors.js';
import type { SubscriberClient } from './notify.js';
import { ChangeHub } from './notify.js';

/** A subscriber whose SUBSCRIBE confirmations and messages the test delivers by hand. */
class FakeSubscriber implements SubscriberClient {
  readonly subscribed: string[] = [];
  readonly unsubscribed: string[] = [];
  private readonly confirms: (() => void)[] = [];
  private readonly listeners = new Map<string, ((...args: never[]) => void)[]>();
  disconnected = false;

  subscribe(...channels: string[]): Promise<unknown> {
    this.subscribed.push(...channels);
    return new Promise((resolve) => this.confirms.push(() => resolve(channels.length)));
  }
  unsubscribe(...channels: string[]): Promise<unknown> {
    this.unsubscribed.push(...channels);
    return Promise.resolve();
  }
  on(event: string, listener: (...args: never[]) => void): unknown {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }
  disconnect(): void {
    this.disconnected = true;
  }
  confirmAll(): void {
    for (const c of this.confirms.splice(0)) c();
  }
  emit(event: string, ...args: unknown[]): void {
    for (const l of this.listeners.get(event) ?? []) (l as (...a: unknown[]) => void)(...args);
  }
}

const tick = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

function hub(maxWaiters = 100, maxSubscriptions = 100) {
  const sub = new FakeSubscriber();
  let opened = 0;
  const h = new ChangeHub(
    () => {
      opened++;
      return sub;
    },
    { maxWaiters, maxSubscriptions },
  );
  return { sub, h, opened: () => opened };
}

/** Tracks whether a promise settled, without awaiting it. */
function watch(p: Promise<void>): { settled: () => string } {
  let state = 'pending';
  p.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  return { settled: () => state };
}

describe('ChangeHub', () => {
  it('wakes an early waiter when its subscription is confirmed (a release may have gone unheard)', async () => {
    const { sub, h, opened } = hub();
    expect(opened()).toBe(0);
    const w = watch(h.wait('ch', 'k', new AbortController().signal));
    expect(sub.subscribed).toEqual(['ch']);
    await tick();
    expect(w.settled()).toBe('pending');
    sub.confirmAll();
    await tick();
    expect(w.settled()).toBe('resolved');
    expect(h.waiting).toBe(0);
    expect(h.subscriptions).toBe(1);
  });

  it('keeps the subscription and wakes one waiter per message, oldest first', async () => {
    const { sub, h } = hub();
    const first = watch(h.wait('ch', 'k', new AbortController().signal));
    sub.confirmAll();
    await tick();
    expect(first.settled()).toBe('resolved');
    const a = watch(h.wait('ch', 'k', new AbortController().signal));
    const b = watch(h.wait('ch', 'k', new AbortController().signal));
    expect(sub.subscribed).toEqual(['ch']);
    sub.emit('message', 'ch', 'r');
    await tick();
    expect([a.settled(), b.settled()]).toEqual(['resolved', 'pending']);
    sub.emit('message', 'other', 'r');
    await tick();
    expect(b.settled()).toBe('pending');
    sub.emit('message', 'ch', 'r');
    await tick();
    expect(b.settled()).toBe('resolved');
  });

  it("wakes a local waiter when this process releases, and skips that release's message", async () => {
    const { sub, h } = hub();
    void h.wait('ch', 'k', new AbortController().signal);
    sub.confirmAll();
    await tick();
    const a = watch(h.wait('ch', 'k', new AbortController().signal));
    const b = watch(h.wait('ch', 'k', new AbortController().signal));
    h.releasedHere('ch', 'owner-1', true);
    await tick();
    expect([a.settled(), b.settled()]).toEqual(['resolved', 'pending']);
    sub.emit('message', 'ch', 'owner-1'); // The echo: already handled.
    await tick();
    expect(b.settled()).toBe('pending');
    sub.emit('message', 'ch', 'owner-2'); // Another process's release.
    await tick();
    expect(b.settled()).toBe('resolved');
  });

  it("wakes once when a release's message arrives before the release's own answer", async () => {
    const { sub, h } = hub();
    void h.wait('ch', 'k', new AbortController().signal);
    sub.confirmAll();
    await tick();
    const a = watch(h.wait('ch', 'k', new AbortController().signal));
    const b = watch(h.wait('ch', 'k', new AbortController().signal));
    sub.emit('message', 'ch', 'owner-1');
    h.releasedHere('ch', 'owner-1', true);
    await tick();
    expect([a.settled(), b.settled()]).toEqual(['resolved', 'pending']);
  });

  it('removes an aborted waiter, so the next message wakes the one behind it', async () => {
    const { sub, h } = hub();
    sub.confirmAll();
    void h.wait('ch', 'k', new AbortController().signal).catch(() => undefined);
    sub.confirmAll();
    await tick();
    const controller = new AbortController();
    const a = h.wait('ch', 'k', controller.signal);
    const b = watch(h.wait('ch', 'k', new AbortController().signal));
    controller.abort(new Error('stop'));
    await expect(a).rejects.toThrow('stop');
    sub.emit('message', 'ch', 'r');
    await tick();
    expect(b.settled()).toBe('resolved');
    expect(h.waiting).toBe(0);
  });

  it('does not wake waiters when subscribing fails (no spinning), and subscribes again on the next wait', async () => {
    const failing = new FakeSubscriber();
    failing.subscribe = (...channels: string[]) => {
      failing.subscribed.push(...channels);
      return Promise.reject(new Error('Connection is closed.'));
    };
    const h = new ChangeHub(() => failing, { maxWaiters: 10, maxSubscriptions: 10 });
    const controller = new AbortController();
    const a = watch(h.wait('ch', 'k', controller.signal));
    await tick();
    expect(a.settled()).toBe('pending');
    expect(h.subscriptions).toBe(0);
    const b = h.wait('ch', 'k', controller.signal).catch(() => undefined);
    expect(failing.subscribed).toEqual(['ch', 'ch']);
    controller.abort();
    await b;
    await tick();
    expect(a.settled()).toBe('rejected');
    expect(h.waiting).toBe(0);
  });

  it('bounds waiters', async () => {
    const { h } = hub(2);
    const s = new AbortController();
    void h.wait('a', 'a', s.signal).catch(() => undefined);
    void h.wait('b', 'b', s.signal).catch(() => undefined);
    const error = await h.wait('c', 'c', s.signal).catch((e: unknown) => e);
    expect(isTooManyWaitersError(error)).toBe(true);
    s.abort();
    await tick();
    expect(h.waiting).toBe(0);
  });

  it('unsubscribes idle channels beyond maxSubscriptions, least recently used first', async () => {
    const { sub, h } = hub(100, 2);
    for (const ch of ['a', 'b', 'c']) {
      void h.wait(ch, ch, new AbortController().signal);
      sub.confirmAll();
      await tick();
    }
    expect(sub.unsubscribed).toEqual(['a']);
    expect(h.subscriptions).toBe(2);
  });

  it('wakes every waiter after the subscriber reconnects, and on close', async () => {
    const { sub, h } = hub();
    const a = watch(h.wait('ch', 'k', new AbortController().signal));
    sub.emit('ready'); // The first connection.
    sub.confirmAll();
    await tick();
    const b = watch(h.wait('ch', 'k', new AbortController().signal));
    const c = watch(h.wait('ch2', 'k2', new AbortController().signal));
    sub.confirmAll();
    await tick();
    const d = watch(h.wait('ch', 'k', new AbortController().signal));
    sub.emit('ready');
    await tick();
    expect([a.settled(), b.settled(), c.settled(), d.settled()]).toEqual([
      'resolved',
      'resolved',
      'resolved',
      'resolved',
    ]);
    const e = watch(h.wait('ch', 'k', new AbortController().signal));
    h.close();
    await tick();
    expect(e.settled()).toBe('resolved');
    expect(sub.disconnected).toBe(true);
    await expect(h.wait('ch', 'k', new AbortController().signal)).rejects.toThrow(/closed/);
  });

  describe('grant watches', () => {
    it('delivers a grant message to its owner only, and keeps it until asked', async () => {
      const { sub, h } = hub();
      const a = h.watchGrant('ch', 'k', 'a');
      const b = h.watchGrant('ch', 'k', 'b');
      sub.confirmAll();
      await tick();
      // Both were registered before the confirmation: each hears one recheck first.
      expect(await a.next()).toEqual({ kind: 'recheck' });
      expect(await b.next()).toEqual({ kind: 'recheck' });
      sub.emit('message', 'ch', '+7:b');
      expect(await b.next()).toEqual({ kind: 'granted', token: 7n });
      let heard: unknown;
      void a.next().then((e) => (heard = e));
      await tick();
      expect(heard).toBeUndefined();
      a.dispose();
      b.dispose();
      expect(h.waiting).toBe(0);
    });

    it('tells a local waiter of a hand-over by this process when the release answers', async () => {
      const { sub, h } = hub();
      const a = h.watchGrant('ch', 'k', 'a');
      sub.confirmAll();
      await tick();
      expect(await a.next()).toEqual({ kind: 'recheck' });
      h.grantedHere('ch', '+9:a');
      expect(await a.next()).toEqual({ kind: 'granted', token: 9n });
      h.grantedHere('ch', 'not a grant'); // Ignored, as is a grant for nobody here.
      h.grantedHere('ch', '+10:b');
      a.dispose();
    });

    it('keeps a grant over a later recheck, and hears recheck after a reconnect', async () => {
      const { sub, h } = hub();
      const a = h.watchGrant('ch', 'k', 'a');
      sub.confirmAll();
      await tick();
      sub.emit('message', 'ch', '+3:a');
      sub.emit('ready'); // The first connection.
      sub.emit('ready'); // A reconnect: messages may have been lost.
      expect(await a.next()).toEqual({ kind: 'granted', token: 3n });
      sub.emit('ready');
      expect(await a.next()).toEqual({ kind: 'recheck' });
      a.dispose();
    });

    it('counts against maxWaiters, wakes one change waiter per grant, and hears the close', async () => {
      const { sub, h } = hub(2);
      const a = h.watchGrant('ch', 'k', 'a');
      const w = watch(h.wait('ch', 'k', new AbortController().signal));
      let full: unknown;
      try {
        h.watchGrant('ch', 'k', 'c');
      } catch (error) {
        full = error;
      }
      expect(isTooManyWaitersError(full)).toBe(true);
      sub.confirmAll();
      await tick();
      expect(await a.next()).toEqual({ kind: 'recheck' });
      expect(w.settled()).toBe('resolved'); // Early: woken by the confirmation.
      const w2 = watch(h.wait('ch', 'k', new AbortController().signal));
      sub.emit('message', 'ch', '+4:someone-else');
      await tick();
      expect(w2.settled()).toBe('resolved');
      h.close();
      expect(await a.next()).toEqual({ kind: 'closed' });
      expect(() => h.watchGrant('ch', 'k', 'd')).toThrow('closed');
    });
  });
});

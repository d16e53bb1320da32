/**
 * The Redis lock's waiter queue against a real server: FIFO order, hand-over by the release script
 * itself, waiters that give up or die, a lost grant message, and a holder that expires instead of
 * releasing.
 */
import { describe, expect, it } from 'vitest';
import { QUEUE_REFRESH_MS, RedisLockBackend } from '../../src/adapters/redis/index.js';
import type { SubscriberClient } from '../../src/adapters/redis/index.js';
import { lockKeys } from '../../src/adapters/redis/keys.js';
import { Lock } from '../../src/coord/index.js';
import { call, privateRedis, untilSubscribers } from './helpers.js';

const srv = privateRedis();

const keysOf = (key: string) => lockKeys('faultline:lock:', key);

/** Resolves once the queue of `key` holds `n` waiters; gives up after 10 s. */
async function untilQueued(key: string, n: number): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    if ((await srv.main.llen(keysOf(key).queue)) === n) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`the queue of ${key} never held ${n} waiter(s)`);
}

/** A subscriber connection that subscribes but never delivers a message (all are "lost"). */
function deafSubscriber(): SubscriberClient {
  const s = srv.main.duplicate();
  s.on('error', () => undefined);
  return {
    subscribe: (...channels) => s.subscribe(...channels),
    unsubscribe: (...channels) => s.unsubscribe(...channels),
    on: (event: string, listener: never) => (event === 'message' ? s : s.on(event, listener)),
    disconnect: () => s.disconnect(),
  } as SubscriberClient;
}

/** The owner part of the lock value of `key` ("<token>:<owner>"), or null when free. */
async function holderOwner(key: string): Promise<string | null> {
  const v = await srv.main.get(keysOf(key).lock);
  return v === null ? null : v.slice(v.indexOf(':') + 1);
}

describe('RedisLockBackend queue', () => {
  it('serves waiters in arrival order, each handed the key by the release itself', async () => {
    const backend = new RedisLockBackend(srv.main);
    // Rechecks far beyond the test: only hand-overs can move the key.
    const lock = new Lock(backend, { recheckMs: 120_000 });
    const first = await lock.acquire('fifo', { ttlMs: 60_000 });
    const order: number[] = [];
    const waiters = [];
    for (let i = 0; i < 4; i++) {
      waiters.push(
        lock.acquire('fifo', { ttlMs: 60_000 }).then((lease) => {
          order.push(i);
          return lease;
        }),
      );
      await untilQueued('fifo', i + 1);
    }
    const owners = await srv.main.lrange(keysOf('fifo').queue, 0, -1);
    await first.release();
    // The release script already gave the key to the oldest waiter, before it heard anything.
    expect(await holderOwner('fifo')).toBe(owners[0]);
    let previous = first.token;
    for (let i = 0; i < 4; i++) {
      const lease = await waiters[i]!;
      expect(lease.token).toBeGreaterThan(previous);
      previous = lease.token;
      await lease.release();
    }
    expect(order).toEqual([0, 1, 2, 3]);
    expect(await srv.main.exists(keysOf('fifo').lock, keysOf('fifo').queue)).toBe(0);
    await lock.close();
    backend.close();
  });

  it("keeps a waiter's place across the chunks of a long wait", async () => {
    const backend = new RedisLockBackend(srv.main);
    // recheckMs 30: the client cuts each wait into chunks of at most 300 ms.
    const lock = new Lock(backend, { recheckMs: 30 });
    const held = await lock.acquire('chunks', { ttlMs: 60_000 });
    const order: string[] = [];
    const first = lock.acquire('chunks', { ttlMs: 60_000 }).then((l) => {
      order.push('first');
      return l;
    });
    await untilQueued('chunks', 1);
    const firstOwner = (await srv.main.lrange(keysOf('chunks').queue, 0, 0))[0];
    // The first waiter lives through several chunk ends before the second one queues.
    await new Promise((r) => setTimeout(r, 1_000));
    const second = lock.acquire('chunks', { ttlMs: 60_000 }).then((l) => {
      order.push('second');
      return l;
    });
    await untilQueued('chunks', 2);
    // Long enough for the first waiter's current chunk to end after the second one queued.
    await new Promise((r) => setTimeout(r, 400));
    expect(await srv.main.lrange(keysOf('chunks').queue, 0, -1)).toHaveLength(2);
    expect((await srv.main.lrange(keysOf('chunks').queue, 0, 0))[0]).toBe(firstOwner);
    await held.release();
    await (await first).release();
    await (await second).release();
    expect(order).toEqual(['first', 'second']);
    await lock.close();
    backend.close();
  });

  it('does not subscribe or queue for an uncontended acquire', async () => {
    const backend = new RedisLockBackend(srv.main);
    const lock = new Lock(backend);
    const lease = await lock.acquire('alone', { ttlMs: 10_000 });
    await lease.release();
    expect((await srv.main.pubsub('NUMSUB', keysOf('alone').channel))[1]).toBe(0);
    expect(await srv.main.exists(keysOf('alone').queue, keysOf('alone').qinfo)).toBe(0);
    await lock.close();
    backend.close();
  });

  it('removes a waiter that gives up, so the release skips it', async () => {
    const backend = new RedisLockBackend(srv.main);
    const lock = new Lock(backend, { recheckMs: 120_000 });
    const held = await lock.acquire('quit', { ttlMs: 60_000 });
    const controller = new AbortController();
    const quitter = lock.acquire('quit', { ttlMs: 60_000, signal: controller.signal });
    await untilQueued('quit', 1);
    const stayer = lock.acquire('quit', { ttlMs: 60_000 });
    await untilQueued('quit', 2);
    controller.abort(new Error('gave up'));
    await expect(quitter).rejects.toThrow('gave up');
    await untilQueued('quit', 1);
    expect(await srv.main.hlen(keysOf('quit').qinfo)).toBe(1);
    await held.release();
    const next = await stayer;
    expect(next.token).toBe(held.token + 1n);
    await next.release();
    await lock.close();
    backend.close();
  });

  it('skips the entry of a waiter that stopped refreshing it', async () => {
    const backend = new RedisLockBackend(srv.main);
    const k = keysOf('dead');
    await backend.tryAcquire('dead', 'holder', 60_000, call());
    // A waiter whose entry died 1 ms after the epoch (server clock), queued ahead of everyone.
    await srv.main.rpush(k.queue, 'ghost');
    await srv.main.hset(k.qinfo, 'ghost', '1:60000');
    await backend.release('dead', 'holder', call());
    expect(await srv.main.exists(k.lock, k.queue, k.qinfo)).toBe(0);
    backend.close();
  });

  it('gives back a grant that raced with the waiter giving up', async () => {
    const backend = new RedisLockBackend(srv.main, { subscriber: deafSubscriber });
    // The holder is another process: its release cannot tell the waiter directly either.
    const other = new RedisLockBackend(srv.main);
    await other.tryAcquire('race', 'holder', 60_000, call());
    const controller = new AbortController();
    const waiting = backend.acquireQueued('race', 'waiter', 60_000, {
      signal: controller.signal,
    });
    await untilQueued('race', 1);
    // Subscribed and rechecked once (the subscription's confirmation wakes the waiter): after that
    // only a refresh, every QUEUE_REFRESH_MS, could show it the grant before it gives up.
    await untilSubscribers(srv.main, keysOf('race').channel);
    await new Promise((r) => setTimeout(r, 50));
    await other.release('race', 'holder', call());
    expect(await holderOwner('race')).toBe('waiter');
    controller.abort();
    expect((await waiting).kind).toBe('busy');
    // It leaves after QUEUE_PLACE_GRACE_MS (the grace a next chunk of the same wait would use).
    for (let i = 0; i < 500 && (await holderOwner('race')) !== null; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await holderOwner('race')).toBeNull();
    backend.close();
    other.close();
  });

  it(
    'finds a grant whose message was lost by its periodic refresh',
    async () => {
      const backend = new RedisLockBackend(srv.main, { subscriber: deafSubscriber });
      const other = new RedisLockBackend(srv.main); // The holder, in another process.
      const first = await other.tryAcquire('lost', 'holder', 60_000, call());
      const waiting = backend.acquireQueued('lost', 'waiter', 60_000, call());
      await untilQueued('lost', 1);
      // Subscribed and rechecked once (the subscription's confirmation): only a refresh is left.
      await untilSubscribers(srv.main, keysOf('lost').channel);
      await new Promise((r) => setTimeout(r, 50));
      await other.release('lost', 'holder', call());
      // Heard by the refresh (every QUEUE_REFRESH_MS), not a message: this subscriber delivers none.
      const grant = await waiting;
      expect(grant.kind).toBe('acquired');
      if (grant.kind === 'acquired' && first.kind === 'acquired') {
        expect(grant.token).toBe(first.token + 1n);
      }
      await backend.release('lost', 'waiter', call());
      backend.close();
      other.close();
    },
    5_000 + QUEUE_REFRESH_MS,
  );

  it('hands the key of a holder that expired to the head of the queue', async () => {
    const backend = new RedisLockBackend(srv.main);
    const lock = new Lock(backend, { recheckMs: 120_000 });
    // The holder never releases; its 300 ms lease runs out on the server.
    await backend.tryAcquire('expiry', 'vanished', 300, call());
    const waiter = await lock.acquire('expiry', { ttlMs: 10_000 });
    expect(waiter.valid).toBe(true);
    await waiter.release();
    await lock.close();
    backend.close();
  }, 10_000);
});

/**
 * The etcd lock backend against a real single-member etcd: grants, tokens, FIFO queueing by create
 * revision, session loss, and the shared Lock client on top.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import type { IKeyValue } from 'etcd3';
import { EtcdLockBackend, etcdFencedPut, fenceKeyOf } from '../../src/adapters/etcd/index.js';
import { Lock } from '../../src/coord/lock.js';
import { isLockLostError } from '../../src/coord/errors.js';
import { lockBackendConformance } from '../../src/coord/conformance.js';
import { etcd } from '../services/index.js';
import type { EtcdCluster } from '../services/index.js';

let cluster: EtcdCluster;
let client: Etcd3;
const backends: EtcdLockBackend[] = [];

function backend(prefix = 'test/lock/'): EtcdLockBackend {
  const b = new EtcdLockBackend({ client, prefix });
  backends.push(b);
  return b;
}

const call = () => ({ signal: new AbortController().signal });

/** Resolves once `count` contender keys exist under the lock's prefix (a waiter has queued). */
async function untilContenders(prefix: string, key: string, count: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const keys = await client
      .getAll()
      .prefix(`${prefix}${encodeURIComponent(key)}/`)
      .keys();
    if (keys.length >= count) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never saw ${count} contenders`);
}

/** Every contender key under the lock's prefix (holder and waiters). */
async function contenderKvs(prefix: string, key: string): Promise<IKeyValue[]> {
  const res = await client
    .getAll()
    .prefix(`${prefix}${encodeURIComponent(key)}/`)
    .exec();
  return res.kvs;
}

/** The contender key of `owner` (its value is the owner), or undefined. */
async function contenderOf(
  prefix: string,
  key: string,
  owner: string,
): Promise<IKeyValue | undefined> {
  return (await contenderKvs(prefix, key)).find((kv) => kv.value.toString() === owner);
}

beforeAll(async () => {
  cluster = await etcd({ members: 1 });
  client = new Etcd3({ hosts: cluster.endpoints });
});

afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
  client?.close();
  await cluster?.cleanup();
});

// No `elapse`: an etcd lock does not expire while its process keeps the session alive (the lease is
// the session's, renewed every ttl/3). Expiry is covered by the session-loss cases below and by the
// SIGSTOP test in pause.test.ts.
lockBackendConformance({ describe, it, expect }, 'etcd', async () => ({
  backend: backend('conformance/'),
}));

describe('EtcdLockBackend', () => {
  it('grants one holder, answers busy to others, and tokens increase across holders', async () => {
    const b = backend();
    const first = await b.tryAcquire('k1', 'owner-a', 2000, call());
    expect(first.kind).toBe('acquired');
    expect(await b.tryAcquire('k1', 'owner-b', 2000, call())).toEqual({
      kind: 'busy',
      retryAfterMs: undefined,
    });
    const held = await b.holder('k1', call());
    expect(held?.owner).toBe('owner-a');
    if (first.kind !== 'acquired') throw new Error('unreachable');
    expect(held?.token).toBe(first.token);
    expect(first.ttlMs).toBeGreaterThan(0);
    expect(first.ttlMs).toBeLessThanOrEqual(2000);
    await b.release('k1', 'owner-b', call()); // not the holder: no effect
    expect((await b.holder('k1', call()))?.owner).toBe('owner-a');
    await b.release('k1', 'owner-a', call());
    await b.release('k1', 'owner-a', call()); // idempotent
    expect(await b.holder('k1', call())).toBeNull();
    const second = await b.tryAcquire('k1', 'owner-b', 2000, call());
    if (second.kind !== 'acquired') throw new Error('expected a grant');
    expect(second.token).toBeGreaterThan(first.token);
    await b.release('k1', 'owner-b', call());
  });

  it('sends nothing for an acquire whose signal already aborted, even with a live session', async () => {
    const b = backend();
    // The first grant opens the session, so the next calls take the live-session path.
    expect((await b.tryAcquire('ab1', 'warm', 2000, call())).kind).toBe('acquired');
    await b.release('ab1', 'warm', call());
    const aborted = { signal: AbortSignal.abort(new Error('gave up')) };
    await expect(b.tryAcquire('ab1', 'late', 2000, aborted)).rejects.toThrow('gave up');
    await expect(b.acquireQueued('ab1', 'late-q', 2000, aborted)).resolves.toMatchObject({
      kind: 'busy',
    });
    // Neither aborted call left a key behind: the lock is free for the next owner.
    expect(await b.holder('ab1', call())).toBeNull();
    expect((await b.tryAcquire('ab1', 'next', 2000, call())).kind).toBe('acquired');
    await b.release('ab1', 'next', call());
  });

  it('reuses its key names, so a lock taken again and again leaves no trail of deleted keys', async () => {
    const b = backend();
    const names = new Set<string>();
    const tokens: bigint[] = [];
    for (let i = 0; i < 5; i++) {
      const g = await b.tryAcquire('reuse', `owner-${i}`, 2000, call());
      if (g.kind !== 'acquired') throw new Error('expected a grant');
      tokens.push(g.token);
      const kvs = await contenderKvs('test/lock/', 'reuse');
      expect(kvs.map((kv) => kv.value.toString())).toEqual([`owner-${i}`]);
      names.add(kvs[0]!.key.toString());
      await b.release('reuse', `owner-${i}`, call());
    }
    expect(names.size).toBe(1);
    // A re-created key gets a new create revision: tokens still increase.
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
    // Two contenders at once get two names; a late release of the first never deletes the second.
    const first = await b.tryAcquire('reuse', 'x', 2000, call());
    expect(first.kind).toBe('acquired');
    const queued = b.acquireQueued('reuse', 'y', 2000, call());
    await untilContenders('test/lock/', 'reuse', 2);
    await b.release('reuse', 'x', call());
    const second = await queued;
    expect(second.kind).toBe('acquired');
    await b.release('reuse', 'x', call());
    expect((await b.holder('reuse', call()))?.owner).toBe('y');
    await b.release('reuse', 'y', call());
    expect(await contenderKvs('test/lock/', 'reuse')).toEqual([]);
  });

  it('keeps keys apart when one lock name is a prefix of another', async () => {
    const b = backend();
    expect((await b.tryAcquire('a', 'o1', 2000, call())).kind).toBe('acquired');
    expect((await b.tryAcquire('a/b', 'o2', 2000, call())).kind).toBe('acquired');
    expect((await b.tryAcquire('ab', 'o3', 2000, call())).kind).toBe('acquired');
    for (const [k, o] of [
      ['a', 'o1'],
      ['a/b', 'o2'],
      ['ab', 'o3'],
    ] as const)
      await b.release(k, o, call());
  });

  it('extend keeps the token, and answers lost after release or takeover', async () => {
    const b = backend();
    const g = await b.tryAcquire('k2', 'owner-a', 2000, call());
    if (g.kind !== 'acquired') throw new Error('expected a grant');
    const e = await b.extend('k2', 'owner-a', g.token, 2000, call());
    expect(e.kind).toBe('extended');
    expect((await b.holder('k2', call()))?.token).toBe(g.token);
    expect(await b.extend('k2', 'owner-a', g.token + 1n, 2000, call())).toEqual({
      kind: 'lost',
      reason: 'stolen',
    });
    await b.release('k2', 'owner-a', call());
    expect(await b.extend('k2', 'owner-a', g.token, 2000, call())).toEqual({
      kind: 'lost',
      reason: 'expired',
    });
    const other = await b.tryAcquire('k2', 'owner-b', 2000, call());
    expect(other.kind).toBe('acquired');
    expect(await b.extend('k2', 'owner-a', g.token, 2000, call())).toEqual({
      kind: 'lost',
      reason: 'stolen',
    });
    await b.release('k2', 'owner-b', call());
  });

  it('serves queued waiters in FIFO order, each with a larger token', async () => {
    const b = backend();
    const head = await b.tryAcquire('fifo', 'holder', 2000, call());
    if (head.kind !== 'acquired') throw new Error('expected a grant');
    const order: string[] = [];
    const tokens: bigint[] = [];
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 5; i++) {
      const owner = `w${i}`;
      waits.push(
        b.acquireQueued('fifo', owner, 2000, call()).then(async (r) => {
          if (r.kind !== 'acquired') throw new Error(`${owner} not granted`);
          order.push(owner);
          tokens.push(r.token);
          await b.release('fifo', owner, call());
        }),
      );
      await untilContenders('test/lock/', 'fifo', i + 2);
    }
    // A plain attempt does not jump the queue.
    expect((await b.tryAcquire('fifo', 'intruder', 2000, call())).kind).toBe('busy');
    await b.release('fifo', 'holder', call());
    await Promise.all(waits);
    expect(order).toEqual(['w0', 'w1', 'w2', 'w3', 'w4']);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
    expect(tokens[0]!).toBeGreaterThan(head.token);
  });

  it('hands the lock to a queued waiter near the head without reading the queue again', async () => {
    // Every read and transaction the waiter's backend sends, counted through a wrapper client.
    let calls = 0;
    const kv = new Proxy(client.kv, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if ((name === 'range' || name === 'txn') && typeof value === 'function')
          return (...args: unknown[]) => {
            calls++;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        return value;
      },
    });
    const counted = new Proxy(client, {
      get: (target, name, receiver) => (name === 'kv' ? kv : Reflect.get(target, name, receiver)),
    });
    const holder = backend();
    const waiter = new EtcdLockBackend({ client: counted, prefix: 'test/lock/' });
    backends.push(waiter);
    await holder.tryAcquire('handover', 'h1', 2000, call());
    await untilContenders('test/lock/', 'handover', 1);
    const granted = waiter.acquireQueued('handover', 'w', 2000, call());
    // The enqueueing transaction and the read sent once the watch was live (so the release below
    // is seen by the watch or by that read).
    for (let i = 0; calls < 2; i++) {
      expect(i).toBeLessThan(500);
      await new Promise((r) => setTimeout(r, 10));
    }
    calls = 0;
    await holder.release('handover', 'h1', call());
    const r = await granted;
    expect(r.kind).toBe('acquired');
    // Before, each hand-over read the queue's state once more after the predecessor's delete.
    expect(calls).toBe(0);
    await waiter.release('handover', 'w', call());
  });

  it('an aborted queued wait leaves the queue and does not block the next waiter', async () => {
    const b = backend();
    await b.tryAcquire('abort', 'holder', 2000, call());
    const controller = new AbortController();
    const abandoned = b.acquireQueued('abort', 'quitter', 2000, { signal: controller.signal });
    await untilContenders('test/lock/', 'abort', 2);
    const next = b.acquireQueued('abort', 'patient', 2000, call());
    await untilContenders('test/lock/', 'abort', 3);
    controller.abort(new Error('gave up'));
    expect((await abandoned).kind).toBe('busy');
    await b.release('abort', 'holder', call());
    const granted = await next;
    expect(granted.kind).toBe('acquired');
    expect((await b.holder('abort', call()))?.owner).toBe('patient');
    await b.release('abort', 'patient', call());
  });

  it('waitForChange resolves on release, and rejects on abort', async () => {
    const b = backend();
    await b.tryAcquire('wake', 'holder', 2000, call());
    await b.holder('wake', call());
    const woke = b.waitForChange('wake', call());
    await b.release('wake', 'holder', call());
    await expect(woke).resolves.toBeUndefined();
    const controller = new AbortController();
    const waiting = b.waitForChange(
      'wake',
      controller.signal ? { signal: controller.signal } : call(),
    );
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });

  it('waitForChange wakes at once when the holder changed since the last answer', async () => {
    const a = backend();
    const b = backend();
    await a.tryAcquire('missed', 'holder', 2000, call());
    expect((await b.tryAcquire('missed', 'waiter', 2000, call())).kind).toBe('busy');
    // The release lands between b's attempt and its wait: no event will come after the wait starts.
    await a.release('missed', 'holder', call());
    await expect(b.waitForChange('missed', call())).resolves.toBeUndefined();
    expect((await b.tryAcquire('missed', 'waiter', 2000, call())).kind).toBe('acquired');
    await b.release('missed', 'waiter', call());
  });

  it('losing the session loses every lock on it at once; a new session takes over', async () => {
    const a = backend();
    const b = backend();
    const g1 = await a.tryAcquire('s1', 'a1', 2000, call());
    const g2 = await a.tryAcquire('s2', 'a2', 2000, call());
    if (g1.kind !== 'acquired' || g2.kind !== 'acquired') throw new Error('expected grants');
    // Both locks share one lease: revoke it behind the backend's back (what an expiry does).
    const leaseId = (await contenderOf('test/lock/', 's1', 'a1'))?.lease;
    expect(leaseId).toBeDefined();
    expect((await contenderOf('test/lock/', 's2', 'a2'))?.lease).toBe(leaseId);
    await client.leaseClient.leaseRevoke({ ID: leaseId! });
    expect(await a.extend('s1', 'a1', g1.token, 2000, call())).toEqual({
      kind: 'lost',
      reason: 'expired',
    });
    expect(await a.extend('s2', 'a2', g2.token, 2000, call())).toEqual({
      kind: 'lost',
      reason: 'expired',
    });
    const taken = await b.tryAcquire('s1', 'b1', 2000, call());
    if (taken.kind !== 'acquired') throw new Error('expected a grant');
    expect(taken.token).toBeGreaterThan(g1.token);
    // The first backend opens a fresh session for its next lock.
    expect((await a.tryAcquire('s3', 'a3', 2000, call())).kind).toBe('acquired');
    await b.release('s1', 'b1', call());
    await a.release('s3', 'a3', call());
  });
});

describe('etcdFencedPut', () => {
  it("a resource named like another's fence key cannot overwrite that fence", async () => {
    expect(await etcdFencedPut(client, 'fenced/report', 'by 7', 7n)).toEqual({
      kind: 'accepted',
      token: 7n,
    });
    // With the fence key in the data keys' namespace this write replaced the fence with "1" and a
    // stale holder (token 3 < 7) was then accepted; now the name is refused before any call.
    expect(() => fenceKeyOf('fenced/report\u0000fence')).toThrow(RangeError);
    await expect(
      etcdFencedPut(client, fenceKeyOf('fenced/report'), '00000000000000000001', 1n),
    ).rejects.toThrow(/key must be a string without NUL/);
    await expect(etcdFencedPut(client, 'fenced/\uD800', 'x', 1n)).rejects.toThrow(/well-formed/);
    expect(await etcdFencedPut(client, 'fenced/report', 'stale', 3n)).toEqual({
      kind: 'stale',
      token: 3n,
      current: 7n,
    });
    expect(await client.get('fenced/report').string()).toBe('by 7');
  });
});

describe('Lock over etcd', () => {
  it('acquires, guards, renews and releases through the shared client', async () => {
    const lock = new Lock(backend('test/client/'));
    const lease = await lock.acquire('job', { ttlMs: 3000, autoRenew: true });
    expect(lease.valid).toBe(true);
    expect(lease.token).toBeGreaterThan(0n);
    await lease.extend();
    const other = await lock.tryAcquire('job', { ttlMs: 3000 });
    expect(other).toBeNull();
    const waiting = lock.acquire('job', { ttlMs: 3000, waitMs: 10_000 });
    await lease.release();
    const next = await waiting;
    expect(next.token).toBeGreaterThan(lease.token);
    await next.release();
    await lock.close();
  });

  it("keeps a waiter's place across the chunks of a long wait", async () => {
    // recheckMs 30: the client cuts each wait into chunks of at most 300 ms.
    const lock = new Lock(backend('test/chunks/'), { recheckMs: 30 });
    const held = await lock.acquire('q', { ttlMs: 5000 });
    const order: string[] = [];
    const first = lock.acquire('q', { ttlMs: 5000 }).then((l) => {
      order.push('first');
      return l;
    });
    await untilContenders('test/chunks/', 'q', 2);
    await new Promise((r) => setTimeout(r, 700));
    const second = lock.acquire('q', { ttlMs: 5000 }).then((l) => {
      order.push('second');
      return l;
    });
    await untilContenders('test/chunks/', 'q', 3);
    // Long enough for the first waiter's current chunk to end after the second one queued.
    await new Promise((r) => setTimeout(r, 400));
    await held.release();
    await (await first).release();
    await (await second).release();
    expect(order).toEqual(['first', 'second']);
    await lock.close();
  });

  it('a lease whose session is revoked reports the loss on renewal', async () => {
    const lock = new Lock(backend('test/client2/'));
    const lease = await lock.acquire('job', { ttlMs: 3000 });
    const kv = await contenderOf('test/client2/', 'job', lease.owner);
    await client.leaseClient.leaseRevoke({ ID: kv!.lease });
    const error = await lease.extend().then(
      () => null,
      (e: unknown) => e,
    );
    expect(isLockLostError(error)).toBe(true);
    expect(lease.signal.aborted).toBe(true);
    await lock.close();
  });
});

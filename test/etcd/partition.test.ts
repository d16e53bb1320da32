/**
 * A holder cut off from the cluster (its only etcd member SIGSTOPped) on a real 3-member cluster:
 * its lease ends on its own side (`signal` aborts) before the majority side lets anyone else take
 * the lock, and the next holder's token is larger.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { EtcdLockBackend } from '../../src/adapters/etcd/index.js';
import { isLockLostError } from '../../src/coord/errors.js';
import { Lock } from '../../src/coord/lock.js';
import { etcd } from '../services/index.js';
import type { EtcdCluster } from '../services/index.js';

let cluster: EtcdCluster;

beforeAll(async () => {
  cluster = await etcd({ members: 3 });
});

afterAll(async () => {
  for (const m of cluster?.members ?? []) m.resume();
  await cluster?.cleanup();
});

describe('etcd holder cut off from the cluster', () => {
  it('stops believing in its lease before another client can take it', async () => {
    const [m1, m2, m3] = cluster.members;
    const isolated = new Etcd3({ hosts: [m1!.endpoint] });
    const majority = new Etcd3({ hosts: [m2!.endpoint, m3!.endpoint] });
    const a = new EtcdLockBackend({ client: isolated, prefix: 'cut/' });
    const b = new EtcdLockBackend({ client: majority, prefix: 'cut/' });
    const lockA = new Lock(a, { callTimeoutMs: 500 });
    const lockB = new Lock(b, { callTimeoutMs: 1000 });
    const events: string[] = [];
    try {
      const leaseA = await lockA.acquire('job', { ttlMs: 2000, autoRenew: true });
      const lostA = new Promise<unknown>((resolve) =>
        leaseA.signal.addEventListener('abort', () => {
          events.push('a lost');
          resolve(leaseA.signal.reason);
        }),
      );
      m1!.pause();
      const leaseB = await lockB.acquire('job', { ttlMs: 2000, waitMs: 20_000 });
      events.push('b acquired');
      const reason = await lostA;
      expect(isLockLostError(reason)).toBe(true);
      expect(['unreachable', 'expired']).toContain((reason as { reason: string }).reason);
      // The order is the safety property: A's own deadline passed before the majority expired its
      // session and granted the key to B.
      expect(events).toEqual(['a lost', 'b acquired']);
      expect(leaseB.token).toBeGreaterThan(leaseA.token);
      await leaseB.release();
    } finally {
      m1!.resume();
      await lockA.close();
      await lockB.close();
      await a.close();
      await b.close();
      isolated.close();
      majority.close();
    }
  });
});

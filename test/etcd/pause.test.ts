/**
 * The GC-pause story against real etcd: a holder process is SIGSTOPped past its TTL, its session
 * lease expires on the server, another client takes the lock with a newer token and writes; the
 * first process resumes and writes with its old token, and the fenced store rejects it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { EtcdLockBackend, etcdFencedPut } from '../../src/adapters/etcd/index.js';
import { Lock } from '../../src/coord/lock.js';
import { etcd } from '../services/index.js';
import type { EtcdCluster } from '../services/index.js';
import { field, HolderProcess } from './child.js';

let cluster: EtcdCluster;
let client: Etcd3;

beforeAll(async () => {
  cluster = await etcd({ members: 1 });
  client = new Etcd3({ hosts: cluster.endpoints });
});

afterAll(async () => {
  client?.close();
  await cluster?.cleanup();
});

describe('etcd GC pause', () => {
  it('rejects the write of a holder that was paused past its TTL', async () => {
    const script = fileURLToPath(new URL('./pause-holder.ts', import.meta.url));
    const holder = new HolderProcess(script, [cluster.endpoints.join(','), 'job', '1000']);
    const backend = new EtcdLockBackend({ client, prefix: 'pause/' });
    const lock = new Lock(backend);
    try {
      const oldToken = BigInt(field(await holder.nextLine(), 'TOKEN'));
      holder.pause();
      // The paused process renews nothing: etcd expires its session and deletes its key, which
      // wakes this waiter (event-driven, through the watch on its predecessor).
      const lease = await lock.acquire('job', { ttlMs: 5000, waitMs: 15_000 });
      expect(lease.token).toBeGreaterThan(oldToken);
      expect((await etcdFencedPut(client, 'store/report', 'fresh', lease.token)).kind).toBe(
        'accepted',
      );
      holder.resume();
      holder.send('WRITE store/report');
      const [kind, valid] = field(await holder.nextLine(), 'RESULT').split(' ');
      expect(kind).toBe('stale');
      // The resumed process also sees its own lease as over (its deadline passed while paused).
      expect(valid).toBe('false');
      expect(await client.get('store/report').string()).toBe('fresh');
      await lease.release();
    } finally {
      holder.kill();
      await lock.close();
      await backend.close();
    }
  });
});

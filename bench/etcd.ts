/**
 * etcd lock throughput: `npm run --silent bench -- etcd [--json]`.
 *
 * Case `etcd-lock`: sequential uncontended acquire + release of one key on a private single-member
 * etcd, in ops/s (one op = one acquire and one release). The anchor, the etcd3 client's
 * `client.lock(key).acquire()` / `release()`, makes one attempt (it fails rather than waits when the
 * key is held) and grants and revokes a lease for every lock: three Raft writes per op. Ours attaches
 * every lock to one shared session lease:
 * - `faultline`: `Lock.tryAcquire` + `release` over `EtcdLockBackend`, the same one-attempt
 *   semantics as the anchor: one transaction and one delete (two Raft writes);
 * - `faultline/queued`: `Lock.acquire` (willing to wait, FIFO): the queued transaction (which also
 *   reads the queue's head) and the delete; its grant is anchored, so no confirming renewal;
 * - `faultline/backend`: the backend's SPI calls alone, without the client.
 *
 * Row `etcd3/txn+delete` is the floor, not a lock: the same two writes (a transaction putting one key
 * on a lease, then its delete) through the same etcd3 client with prebuilt requests and nothing
 * around them. No lock that costs two sequential Raft writes per op can beat it on this client, so
 * `etcd3 / floor` bounds what such a lock can reach against the anchor.
 *
 * Case `etcd-lock-contended`: 4 workers in one process contend for one key, each repeating acquire +
 * release, in completed ops/s over all workers. Ours waits in etcd's FIFO queue (one key per waiter,
 * woken by a watch on its predecessor); the etcd3 lock cannot wait, so its workers retry after a
 * 5-15 ms pause, as its users do.
 *
 * The implementations run interleaved, several rounds; rows are medians.
 */
import { performance } from 'node:perf_hooks';
import { Etcd3, EtcdLockFailedError } from 'etcd3';
import type * as EtcdModule from '../src/adapters/etcd/index.js';
import type * as CoordModule from '../src/coord/index.js';
import { etcd } from '../test/services/index.js';
import type { BenchRow, BenchSuite } from './types.js';
import { compiled, interleaved } from './util.js';

// faultline runs from the compiled dist/ like etcd3 from node_modules (see compiled()).
const { EtcdLockBackend } = await compiled<typeof EtcdModule>('adapters/etcd/index.js');
const { Lock } = await compiled<typeof CoordModule>('coord/index.js');

const OPS_PER_SAMPLE = 150;
const WORKERS = 4;
const CONTENDED_OPS_PER_WORKER = 100;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Completed ops/s of `WORKERS` concurrent loops of `op`. */
async function contended(op: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      for (let i = 0; i < CONTENDED_OPS_PER_WORKER; i++) await op();
    }),
  );
  return (WORKERS * CONTENDED_OPS_PER_WORKER * 1000) / (performance.now() - start);
}

async function etcd3LockWithRetry(client: Etcd3, key: string): Promise<void> {
  for (;;) {
    const l = client.lock(key).ttl(10);
    try {
      await l.acquire();
    } catch (error) {
      if (!(error instanceof EtcdLockFailedError)) throw error;
      await pause(5 + Math.random() * 10);
      continue;
    }
    await l.release();
    return;
  }
}
const ROUNDS = 9;

async function opsPerSecond(ops: number, op: () => Promise<void>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < ops; i++) await op();
  return (ops * 1000) / (performance.now() - start);
}

const suite: BenchSuite = {
  name: 'etcd',
  description:
    'etcd lock acquire + release (ops/s, higher is better), faultline vs the etcd3 client',
  async run(ctx) {
    ctx.log('starting a private etcd');
    const cluster = await etcd({ members: 1 });
    const client = new Etcd3({ hosts: cluster.endpoints });
    const backend = new EtcdLockBackend({ client, prefix: 'bench/faultline/' });
    const lock = new Lock(backend);
    const signal = new AbortController().signal;
    let n = 0;
    const floorLease = await client.leaseClient.leaseGrant({ TTL: 600 });
    const floorKey = Buffer.from('bench/floor/job');
    const floorPut = {
      compare: [
        { key: floorKey, target: 'Create' as const, result: 'Equal' as const, create_revision: 0 },
      ],
      success: [{ request_put: { key: floorKey, value: floorKey, lease: floorLease.ID } }],
      failure: [],
    };
    const floorDelete = { key: floorKey };
    try {
      const impls = {
        faultline: () =>
          opsPerSecond(OPS_PER_SAMPLE, async () => {
            const lease = await lock.tryAcquire('job', { ttlMs: 10_000 });
            if (lease === null) throw new Error('benchmark lock was busy');
            await lease.release();
          }),
        'faultline/queued': () =>
          opsPerSecond(OPS_PER_SAMPLE, async () => {
            const lease = await lock.acquire('queued', { ttlMs: 10_000 });
            await lease.release();
          }),
        'faultline/backend': () =>
          opsPerSecond(OPS_PER_SAMPLE, async () => {
            const owner = `o${n++}`;
            const r = await backend.tryAcquire('raw', owner, 10_000, { signal });
            if (r.kind !== 'acquired') throw new Error('benchmark lock was busy');
            await backend.release('raw', owner, { signal });
          }),
        etcd3: () =>
          opsPerSecond(OPS_PER_SAMPLE, async () => {
            const l = client.lock('bench/etcd3/job').ttl(10);
            await l.acquire();
            await l.release();
          }),
        'etcd3/txn+delete': () =>
          opsPerSecond(OPS_PER_SAMPLE, async () => {
            const res = await client.kv.txn(floorPut);
            if (!res.succeeded) throw new Error('floor key was busy');
            await client.kv.deleteRange(floorDelete);
          }),
      };
      // One warm-up sample each (connections, session lease).
      for (const run of Object.values(impls)) await run();
      ctx.log(`measuring ${ROUNDS} interleaved rounds of ${OPS_PER_SAMPLE} ops`);
      const medians = await interleaved(ROUNDS, impls);
      const rows: BenchRow[] = Object.entries(medians).map(([impl, value]) => ({
        case: 'etcd-lock',
        impl,
        metric: 'acquire+release',
        value,
        unit: 'ops/s',
      }));
      ctx.log(`measuring ${ROUNDS} interleaved rounds with ${WORKERS} contending workers`);
      const busy = await interleaved(ROUNDS, {
        faultline: () =>
          contended(async () => {
            const lease = await lock.acquire('contended', { ttlMs: 10_000 });
            await lease.release();
          }),
        etcd3: () => contended(() => etcd3LockWithRetry(client, 'bench/etcd3/contended')),
      });
      for (const [impl, value] of Object.entries(busy)) {
        rows.push({
          case: 'etcd-lock-contended',
          impl,
          metric: 'acquire+release',
          value,
          unit: 'ops/s',
        });
      }
      return rows;
    } finally {
      await client.leaseClient.leaseRevoke({ ID: floorLease.ID }).catch(() => undefined);
      await lock.close();
      await backend.close();
      client.close();
      await cluster.cleanup();
    }
  },
};

export default suite;

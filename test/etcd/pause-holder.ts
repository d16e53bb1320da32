/**
 * The paused holder of the etcd GC-pause test. Usage: `pause-holder.ts <endpoints> <key> <ttlMs>`.
 * Prints `TOKEN <n>` once it holds the lock; on `WRITE <resource>` it writes with its token (without
 * checking its lease first, as a process that checked before its pause would) and prints
 * `RESULT <accepted|stale> <valid>`.
 */
import { createInterface } from 'node:readline';
import { Etcd3 } from 'etcd3';
import { EtcdLockBackend, etcdFencedPut } from '../../src/adapters/etcd/index.js';
import { Lock } from '../../src/coord/lock.js';

const [endpoints = '', key = 'job', ttl = '1000'] = process.argv.slice(2);
const client = new Etcd3({ hosts: endpoints.split(',') });
const backend = new EtcdLockBackend({ client, prefix: 'pause/' });
const lock = new Lock(backend);
const lease = await lock.acquire(key, { ttlMs: Number(ttl), autoRenew: true });
process.stdout.write(`TOKEN ${lease.token}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const [command, resource = ''] = line.split(' ');
  if (command !== 'WRITE') continue;
  const result = await etcdFencedPut(client, resource, `written by ${lease.token}`, lease.token);
  process.stdout.write(`RESULT ${result.kind} ${lease.valid}\n`);
  break;
}
await lock.close().catch(() => undefined);
await backend.close();
client.close();

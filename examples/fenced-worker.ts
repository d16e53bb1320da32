/**
 * A worker that takes a fenced lock and writes through a fenced store, and what happens to a
 * worker that stalls past its lease: its late write is rejected.
 *
 * Run: node --import tsx examples/fenced-worker.ts
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { FencedStore, Lock, MemoryLockBackend, isLockLostError } from 'faultline/coord';

const backend = new MemoryLockBackend();
const lock = new Lock(backend);
const store = new FencedStore<string>();

/** Does one job under the lock; `stallMs` simulates a GC pause or a slow disk in the middle. */
async function worker(name: string, stallMs: number): Promise<void> {
  await using lease = await lock.acquire('report', { ttlMs: 200, waitMs: 2_000 });
  console.log(`${name}: acquired, fencing token ${lease.token}`);
  await sleep(stallMs);
  if (!lease.valid) {
    const reason = isLockLostError(lease.signal.reason) ? lease.signal.reason.reason : 'released';
    console.log(
      `${name}: my lease ended (${reason}), but I write anyway, as a paused process would`,
    );
  }
  // The storage, not the worker, decides: a write with an older token than the newest it saw fails.
  const result = store.write('report', lease.token, `written by ${name}`);
  if (result.kind === 'accepted') console.log(`${name}: write accepted`);
  else console.log(`${name}: write REJECTED as stale (token ${result.token} < ${result.current})`);
}

// A stalls for 400 ms while holding a 200 ms lease; B gets the lock after A's lease expires.
const a = worker('A', 400);
await sleep(10);
const b = worker('B', 50);
await Promise.all([a, b]);
console.log('final value:', store.read('report'));
backend.close();

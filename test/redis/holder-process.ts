/**
 * A lock holder in its own process, for the GC-pause test: it acquires `key` on the Redis at
 * `port`, prints `{"token": "..."}`, then waits for a line on stdin and does its (fenced) write
 * with that token, printing the outcome. The test freezes it with SIGSTOP in between.
 *
 * Usage: node --import tsx holder-process.ts <port> <key> <ttlMs>
 */
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { RedisLockBackend, redisFencedSet } from '../../src/adapters/redis/index.js';
import { Lock } from '../../src/coord/index.js';

const [port, key, ttl] = process.argv.slice(2);
const redis = new Redis({ port: Number(port), host: '127.0.0.1', maxRetriesPerRequest: 1 });
const backend = new RedisLockBackend(redis);
const lock = new Lock(backend);
const lease = await lock.acquire(key!, { ttlMs: Number(ttl) });
process.stdout.write(`${JSON.stringify({ token: lease.token.toString() })}\n`);

const lines = createInterface({ input: process.stdin });
for await (const _line of lines) {
  // Resumed after the pause: the lease's deadline has passed, but a paused process cannot know that
  // before it acts; it writes anyway, as a process resuming mid-operation would.
  const signalAborted = lease.signal.aborted;
  const result = await redisFencedSet(
    redis,
    { key: 'report' },
    lease.token,
    `written by token ${lease.token}`,
  );
  process.stdout.write(`${JSON.stringify({ signalAborted, result: result.kind })}\n`);
  break;
}
lines.close();
await lock.close();
backend.close();
redis.disconnect();

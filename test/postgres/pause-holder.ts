/**
 * The paused holder of the PostgreSQL GC-pause test. Usage:
 * `pause-holder.ts <connection-url> <table|advisory> <key> <ttlMs>`. Prints `TOKEN <n>` once it holds
 * the lock; on `WRITE <id>` it writes row `<id>` of `pause_docs` with its token (without checking its
 * lease first, as a process that checked before its pause would) and prints
 * `RESULT <accepted|rejected> <valid>`.
 */
import { createInterface } from 'node:readline';
import pg from 'pg';
import {
  PostgresAdvisoryLockBackend,
  PostgresLockBackend,
} from '../../src/adapters/postgres/index.js';
import { pgFencedWrite } from '../../src/adapters/postgres/fence.js';
import { Lock } from '../../src/coord/lock.js';

const [url = '', variant = 'table', key = 'job', ttl = '1000'] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url, max: 4 });
pool.on('error', () => undefined);
const backend =
  variant === 'advisory'
    ? new PostgresAdvisoryLockBackend({ pool })
    : new PostgresLockBackend({ pool });
const lock = new Lock(backend);
const lease = await lock.acquire(key, { ttlMs: Number(ttl), autoRenew: true });
process.stdout.write(`TOKEN ${lease.token}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const [command, id = '0'] = line.split(' ');
  if (command !== 'WRITE') continue;
  const result = await pgFencedWrite(pool, lease.token, {
    table: 'pause_docs',
    keyColumn: 'id',
    key: Number(id),
    set: { body: `written by ${lease.token}` },
    upsert: true,
  });
  process.stdout.write(`RESULT ${result.kind} ${lease.valid}\n`);
  break;
}
await lock.close().catch(() => undefined);
await backend.close();
await pool.end();

/**
 * The Redis idempotency store against a private Redis: the store conformance suite (fencing by
 * owner and epoch, server-side expiry), and `idempotent()` end to end with two clients standing
 * for two processes.
 */
import { describe, expect, it } from 'vitest';
import { RedisIdempotencyStore } from '../../src/adapters/redis/index.js';
import { idempotencyStoreConformance } from '../../src/coord/idempotency/conformance.js';
import { isIdempotencyFencedError } from '../../src/coord/idempotency/errors.js';
import { idempotent, runIdempotent } from '../../src/coord/idempotency/idempotent.js';
import { client, privateRedis } from './helpers.js';

const redis = privateRedis();
const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

idempotencyStoreConformance({ describe, it, expect }, 'redis', async () => ({
  store: new RedisIdempotencyStore(redis.main),
  elapse: pause,
}));

describe('RedisIdempotencyStore with idempotent()', () => {
  it('runs once for 40 concurrent duplicates from two processes', async () => {
    const other = client(redis.group.servers[0]!);
    try {
      const stores = [new RedisIdempotencyStore(redis.main), new RedisIdempotencyStore(other)];
      let runs = 0;
      const charge = async (): Promise<string> => {
        runs++;
        await pause(100);
        return 'receipt-1';
      };
      const calls = Array.from({ length: 40 }, (_, i) =>
        runIdempotent('e2e/concurrent', { amount: 10 }, charge, {
          store: stores[i % 2]!,
          leaseMs: 5_000,
          pollMs: 10,
        }),
      );
      const results = await Promise.all(calls);
      expect(runs).toBe(1);
      expect(new Set(results.map((r) => r.value))).toEqual(new Set(['receipt-1']));
      expect(results.filter((r) => !r.replayed).length).toBe(1);
    } finally {
      other.disconnect();
    }
  });

  it('fences the late invocation once a retry took its key over', async () => {
    const store = new RedisIdempotencyStore(redis.main);
    const late = idempotent(
      'e2e/late',
      'r',
      async () => {
        await pause(600);
        return 'late';
      },
      { store, leaseMs: 200, renew: false },
    ).then(
      () => 'completed',
      (e: unknown) => (isIdempotencyFencedError(e) ? 'fenced' : String(e)),
    );
    await pause(350);
    const retry = await runIdempotent('e2e/late', 'r', async () => 'retry', { store });
    expect(retry).toEqual({ value: 'retry', replayed: false, epoch: 2 });
    expect(await late).toBe('fenced');
    const rec = await store.get('e2e/late', { signal: new AbortController().signal });
    expect(rec?.outcome).toEqual({ kind: 'value', data: '"retry"' });
  });
});

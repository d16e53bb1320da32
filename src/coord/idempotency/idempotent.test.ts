import { createHash } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Scheduler, createSimRuntime } from '../../sim/index.js';
import { isBackendUnavailableError } from '../errors.js';
import { idempotencyStoreConformance } from './conformance.js';
import {
  isIdempotencyFencedError,
  isIdempotencyInProgressError,
  isIdempotencyMismatchError,
  isIdempotentFailureError,
} from './errors.js';
import { canonicalJson, fingerprintOf, sha256Hex } from './fingerprint.js';
import type { IdempotentContext, IdempotentOptions } from './idempotent.js';
import { idempotent, runIdempotent } from './idempotent.js';
import { MemoryIdempotencyStore } from './memory.js';
import { IdempotencyReaper } from './reaper.js';

function setup(maxRecords?: number) {
  const scheduler = new Scheduler({ seed: 7 });
  const runtime = createSimRuntime(scheduler, 'test');
  const store = new MemoryIdempotencyStore({ runtime, ...(maxRecords ? { maxRecords } : {}) });
  const options = <T>(extra: Partial<IdempotentOptions<T>> = {}): IdempotentOptions<T> => ({
    store,
    runtime,
    leaseMs: 1_000,
    ...extra,
  });
  /** Settles `p` under the simulated clock and returns its outcome as a result object. */
  const settle = async <T>(
    p: Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> => {
    const wrapped = p.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    return scheduler.runUntilSettled(wrapped);
  };
  return { scheduler, runtime, store, options, settle };
}

idempotencyStoreConformance({ describe, it, expect }, 'memory', async () => {
  const { scheduler, store } = setup();
  return { store, elapse: async (ms) => scheduler.runFor(ms) };
});

describe('fingerprints', () => {
  // Test vectors of FIPS 180-2, appendix B (SHA-256 examples).
  it('matches the FIPS 180-2 SHA-256 examples', () => {
    expect(sha256Hex('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('agrees with node:crypto on arbitrary text (UTF-8)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => {
        expect(sha256Hex(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
      }),
    );
  });

  it('does not depend on the order of object keys', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: 2n } })).toBe(
      '{"a":{"c":"2n","d":[1,{"x":1,"y":2}]},"b":1}',
    );
    expect(fingerprintOf({ a: 1, b: 2 })).toBe(fingerprintOf({ b: 2, a: 1 }));
    expect(fingerprintOf({ a: 1 })).not.toBe(fingerprintOf({ a: 2 }));
  });

  it('rejects a cyclic request with a RangeError naming request', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/request must be/);
  });
});

describe('idempotent', () => {
  it('runs the first call and replays the stored result to repeats', async () => {
    const { options, settle } = setup();
    let runs = 0;
    const fn = async (): Promise<{ receipt: number }> => ({ receipt: ++runs });
    const first = await settle(runIdempotent('pay-1', { amount: 5 }, fn, options()));
    const second = await settle(runIdempotent('pay-1', { amount: 5 }, fn, options()));
    expect(first).toEqual({
      ok: true,
      value: { value: { receipt: 1 }, replayed: false, epoch: 1 },
    });
    expect(second).toEqual({
      ok: true,
      value: { value: { receipt: 1 }, replayed: true, epoch: undefined },
    });
    expect(runs).toBe(1);
  });

  it('makes a concurrent duplicate wait for the outcome', async () => {
    const { runtime, options, settle } = setup();
    let runs = 0;
    const slow = async (): Promise<number> => {
      runs++;
      await runtime.timers.sleep(300);
      return 42;
    };
    const both = Promise.all([
      idempotent('k', 'req', slow, options()),
      runtime.timers.sleep(10).then(() => runIdempotent('k', 'req', slow, options())),
    ]);
    const outcome = await settle(both);
    expect(outcome.ok).toBe(true);
    if (outcome.ok) {
      expect(outcome.value[0]).toBe(42);
      expect(outcome.value[1]).toEqual({ value: 42, replayed: true, epoch: undefined });
    }
    expect(runs).toBe(1);
  });

  it("answers a concurrent duplicate with IdempotencyInProgressError under concurrent: 'error'", async () => {
    const { runtime, options, settle } = setup();
    const slow = async (): Promise<number> => {
      await runtime.timers.sleep(300);
      return 1;
    };
    const first = settle(idempotent('k', 'req', slow, options()));
    const dup = await settle(
      runtime.timers
        .sleep(10)
        .then(() => idempotent('k', 'req', slow, options({ concurrent: 'error' }))),
    );
    expect(dup.ok).toBe(false);
    if (!dup.ok) {
      expect(isIdempotencyInProgressError(dup.error)).toBe(true);
      expect((dup.error as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    }
    expect(await first).toEqual({ ok: true, value: 1 });
  });

  it('gives up waiting after waitMs with IdempotencyInProgressError', async () => {
    const { runtime, options, settle } = setup();
    const slow = async (): Promise<number> => {
      await runtime.timers.sleep(900);
      return 1;
    };
    void settle(idempotent('k', 'req', slow, options()));
    const dup = await settle(idempotent('k', 'req', slow, options({ waitMs: 200, pollMs: 50 })));
    expect(!dup.ok && isIdempotencyInProgressError(dup.error)).toBe(true);
    if (!dup.ok) expect((dup.error as { waitedMs: number }).waitedMs).toBeGreaterThan(199);
  });

  it('rejects the same key with another request as IdempotencyMismatchError', async () => {
    const { options, settle } = setup();
    await settle(idempotent('k', { amount: 5 }, async () => 'ok', options()));
    const other = await settle(idempotent('k', { amount: 6 }, async () => 'ok', options()));
    expect(!other.ok && isIdempotencyMismatchError(other.error)).toBe(true);
  });

  it('forgets a failure by default, so a retry runs again', async () => {
    const { options, settle } = setup();
    let runs = 0;
    const flaky = async (): Promise<string> => {
      runs++;
      if (runs === 1) throw new Error('card declined');
      return 'charged';
    };
    const first = await settle(idempotent('k', 'r', flaky, options()));
    expect(!first.ok && (first.error as Error).message).toBe('card declined');
    expect(await settle(idempotent('k', 'r', flaky, options()))).toEqual({
      ok: true,
      value: 'charged',
    });
    expect(runs).toBe(2);
  });

  it("records a failure under onError: 'record' and replays it as IdempotentFailureError", async () => {
    const { options, settle } = setup();
    let runs = 0;
    const failing = async (): Promise<string> => {
      runs++;
      throw Object.assign(new TypeError('bad card'), { code: 'E_CARD' });
    };
    const first = await settle(idempotent('k', 'r', failing, options({ onError: 'record' })));
    expect(!first.ok && (first.error as Error).message).toBe('bad card');
    const again = await settle(idempotent('k', 'r', failing, options({ onError: 'record' })));
    expect(!again.ok && isIdempotentFailureError(again.error)).toBe(true);
    if (!again.ok)
      expect(again.error).toMatchObject({
        originalName: 'TypeError',
        originalMessage: 'bad card',
        originalCode: 'E_CARD',
      });
    expect(runs).toBe(1);
  });

  it('fences a timed-out invocation: it cannot overwrite the record of the retry that took over', async () => {
    const { runtime, store, options, settle } = setup();
    let lateSignal: AbortSignal | undefined;
    const late = settle(
      idempotent(
        'k',
        'r',
        async (ctx: IdempotentContext) => {
          lateSignal = ctx.signal;
          await runtime.timers.sleep(500); // longer than its 100 ms lease, without renewing
          return 'late';
        },
        options({ leaseMs: 100, renew: false }),
      ),
    );
    const retry = await settle(
      runtime.timers
        .sleep(200)
        .then(() =>
          runIdempotent('k', 'r', async (ctx) => `retry@${ctx.epoch}/${ctx.takeover}`, options()),
        ),
    );
    expect(retry).toEqual({
      ok: true,
      value: { value: 'retry@2/true', replayed: false, epoch: 2 },
    });
    const lateOutcome = await late;
    expect(!lateOutcome.ok && isIdempotencyFencedError(lateOutcome.error)).toBe(true);
    expect(isIdempotencyFencedError(lateSignal?.reason)).toBe(true);
    const rec = await store.get('k', { signal: new AbortController().signal });
    expect(rec?.outcome).toEqual({ kind: 'value', data: '"retry@2/true"' });
  });

  it('fences a timed-out failure: forgetting it cannot delete the retry’s in-progress record', async () => {
    const { runtime, store, options, settle } = setup();
    const late = settle(
      idempotent(
        'k',
        'r',
        async () => {
          await runtime.timers.sleep(300);
          throw new Error('late failure');
        },
        options({ leaseMs: 100, renew: false }),
      ),
    );
    const retry = settle(
      runtime.timers.sleep(150).then(() =>
        idempotent(
          'k',
          'r',
          async () => {
            await runtime.timers.sleep(400);
            return 'retry';
          },
          options(),
        ),
      ),
    );
    expect(await late).toMatchObject({ ok: false });
    const rec = await store.get('k', { signal: new AbortController().signal });
    expect(rec?.state).toBe('in-progress');
    expect(rec?.epoch).toBe(2);
    expect(await retry).toEqual({ ok: true, value: 'retry' });
  });

  it('renews the lease while fn runs, so a slow first call is not taken over', async () => {
    const { runtime, options, settle } = setup();
    let runs = 0;
    const slow = async (): Promise<string> => {
      runs++;
      await runtime.timers.sleep(1_000);
      return 'done';
    };
    const both = Promise.all([
      idempotent('k', 'r', slow, options({ leaseMs: 100 })),
      runtime.timers
        .sleep(300)
        .then(() => idempotent('k', 'r', slow, options({ leaseMs: 100, waitMs: 5_000 }))),
    ]);
    expect(await settle(both)).toEqual({ ok: true, value: ['done', 'done'] });
    expect(runs).toBe(1);
  });

  it('reports what happened through onEvent, and ignores a listener that throws', async () => {
    const { runtime, options, settle } = setup();
    const events: string[] = [];
    const onEvent = (e: { kind: string; epoch?: number }): void => {
      events.push(e.epoch === undefined ? e.kind : `${e.kind}@${e.epoch}`);
      throw new Error('listener bug');
    };
    const late = settle(
      idempotent(
        'k',
        'r',
        async () => {
          await runtime.timers.sleep(300);
          return 'late';
        },
        options({ leaseMs: 100, renew: false, onEvent }),
      ),
    );
    await settle(
      runtime.timers
        .sleep(150)
        .then(() => idempotent('k', 'r', async () => 'retry', options({ onEvent }))),
    );
    await late;
    await settle(idempotent('k', 'r', async () => 'again', options({ onEvent })));
    expect(events).toEqual([
      'started@1',
      'fenced@1', // its lease ran out on its own clock at 100 ms
      'started@2',
      'completed@2',
      'fenced@1', // its completion at 300 ms was refused by the store
      'replayed',
    ]);
  });

  it('publishes the same events on faultline:idempotency:<kind> diagnostics channels', async () => {
    const { options, settle } = setup();
    const seen: unknown[] = [];
    const listener = (message: unknown): void => void seen.push(message);
    subscribe('faultline:idempotency:completed', listener);
    subscribe('faultline:idempotency:replayed', listener);
    try {
      await settle(idempotent('chan', 'r', async () => 1, options()));
      await settle(idempotent('chan', 'r', async () => 2, options()));
    } finally {
      unsubscribe('faultline:idempotency:completed', listener);
      unsubscribe('faultline:idempotency:replayed', listener);
    }
    expect(seen).toEqual([
      { kind: 'completed', key: 'chan', epoch: 1 },
      { kind: 'replayed', key: 'chan' },
    ]);
  });

  it('leaves no timer running after it settles', async () => {
    const { scheduler, options, settle } = setup();
    await settle(idempotent('k', 'r', async () => 1, options({ leaseMs: 100 })));
    expect(scheduler.peekTimeMs()).toBeUndefined();
  });

  it('rejects hostile keys and options with a RangeError naming the field', async () => {
    const { options } = setup();
    const fn = async (): Promise<number> => 1;
    await expect(idempotent('', 'r', fn, options())).rejects.toThrow(/^key must be/);
    await expect(idempotent('x'.repeat(513), 'r', fn, options())).rejects.toThrow(/^key must be/);
    await expect(idempotent('a\uD800b', 'r', fn, options())).rejects.toThrow(/^key must be/);
    await expect(idempotent('k', 'r', fn, options({ leaseMs: 0 }))).rejects.toThrow(
      /^leaseMs must be/,
    );
    await expect(idempotent('k', 'r', fn, options({ ttlMs: Number.NaN }))).rejects.toThrow(
      /^ttlMs must be/,
    );
    await expect(
      idempotent('k', 'r', fn, options({ concurrent: 'queue' as 'wait' })),
    ).rejects.toThrow(/^concurrent must be/);
    await expect(idempotent('k', 'r', fn, options({ fingerprint: () => '' }))).rejects.toThrow(
      /^fingerprint must be/,
    );
  });
});

describe('MemoryIdempotencyStore bounds', () => {
  it('refuses a new key when full of live records, and admits it once they expired', async () => {
    const { scheduler, options, settle } = setup(3);
    for (const k of ['a', 'b', 'c'])
      await settle(idempotent(k, 'r', async () => k, options({ ttlMs: 1_000 })));
    const full = await settle(idempotent('d', 'r', async () => 'd', options()));
    expect(!full.ok && isBackendUnavailableError(full.error)).toBe(true);
    scheduler.runFor(1_500);
    expect(await settle(idempotent('d', 'r', async () => 'd', options()))).toEqual({
      ok: true,
      value: 'd',
    });
  });

  it('the reaper deletes expired records in batches', async () => {
    const { scheduler, runtime, store, options, settle } = setup();
    for (let i = 0; i < 25; i++)
      await settle(idempotent(`k${i}`, 'r', async () => i, options({ ttlMs: 500 })));
    expect(store.size).toBe(25);
    const reaper = new IdempotencyReaper(store, { everyMs: 1_000, batch: 10, runtime });
    await scheduler.run({ untilMs: runtime.clock.monotonicMs() + 1_001 });
    expect(store.size).toBe(0);
    expect(reaper.reaped).toBe(25);
    await reaper.close();
    expect(scheduler.peekTimeMs()).toBeUndefined();
  });
});

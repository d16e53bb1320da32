/**
 * The reaper: deletes expired idempotency records in bounded batches, so a store whose server does
 * not expire keys by itself (memory, PostgreSQL) stays bounded by the live records.
 *
 * @module
 */
import type { Runtime } from '../../core/runtime.js';
import { systemRuntime } from '../../core/system.js';
import { integerIn, rangeError } from '../../core/validate.js';
import { storeCall } from './idempotent.js';
import type { IdempotencyStore } from './types.js';

/** Options of {@link IdempotencyReaper}. */
export interface IdempotencyReaperOptions {
  /** Milliseconds between sweeps; default 60,000. Shorter keeps the store tighter, at more queries. */
  everyMs?: number;
  /** Records deleted per `reap` call; default 1,000. Bounds each statement's work and lock time. */
  batch?: number;
  /** `reap` calls per sweep at most (a sweep stops early when a batch comes back short); default 10. */
  maxBatchesPerSweep?: number;
  /** Deadline of each `reap` call, in milliseconds; default 10,000. */
  callTimeoutMs?: number;
  /** The runtime (default: the system runtime). */
  runtime?: Runtime;
}

/**
 * Sweeps a store's expired records every `everyMs` until closed. A failed sweep is counted and
 * retried at the next tick.
 *
 * @example
 * await using reaper = new IdempotencyReaper(store, { everyMs: 60_000 });
 */
export class IdempotencyReaper {
  private readonly store: IdempotencyStore;
  private readonly everyMs: number;
  private readonly batch: number;
  private readonly maxBatches: number;
  private readonly callTimeoutMs: number;
  private readonly runtime: Runtime;
  private readonly halt = new AbortController();
  private readonly loop: Promise<void>;
  /** Records deleted since the reaper started. */
  reaped = 0;
  /** Sweeps that failed (store unreachable, timed out). */
  failures = 0;

  constructor(store: IdempotencyStore, options: IdempotencyReaperOptions = {}) {
    if (typeof store?.reap !== 'function') throw rangeError('store', 'an IdempotencyStore', store);
    this.store = store;
    this.everyMs = integerIn('everyMs', options.everyMs ?? 60_000, 1, 2 ** 31 - 1);
    this.batch = integerIn('batch', options.batch ?? 1_000, 1, 1_000_000);
    this.maxBatches = integerIn('maxBatchesPerSweep', options.maxBatchesPerSweep ?? 10, 1, 1_000);
    this.callTimeoutMs = integerIn(
      'callTimeoutMs',
      options.callTimeoutMs ?? 10_000,
      1,
      2 ** 31 - 1,
    );
    this.runtime = options.runtime ?? systemRuntime();
    this.loop = this.run();
  }

  /** Deletes expired records now, in up to `maxBatchesPerSweep` batches; returns how many. */
  async sweep(): Promise<number> {
    let removed = 0;
    for (let i = 0; i < this.maxBatches; i++) {
      const n = await storeCall(this.runtime, 'reap', this.callTimeoutMs, this.halt.signal, (c) =>
        this.store.reap(this.batch, c),
      );
      removed += n;
      if (n < this.batch) break;
    }
    this.reaped += removed;
    return removed;
  }

  private async run(): Promise<void> {
    while (!this.halt.signal.aborted) {
      try {
        await this.runtime.timers.sleep(this.everyMs, this.halt.signal);
      } catch {
        return;
      }
      await this.sweep().catch(() => {
        if (!this.halt.signal.aborted) this.failures++;
      });
    }
  }

  /** Stops the sweeps (the store stays open: it belongs to the caller). */
  async close(): Promise<void> {
    this.halt.abort();
    await this.loop;
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

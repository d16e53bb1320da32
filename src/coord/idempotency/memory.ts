/**
 * The in-memory idempotency store: one process's records in a bounded map, expiring on the
 * runtime's monotonic clock. The default for a single process, and the store of the lab.
 *
 * @module
 */
import { abortReason } from '../../core/abort.js';
import { assert } from '../../core/assert.js';
import type { Runtime } from '../../core/runtime.js';
import { systemRuntime } from '../../core/system.js';
import { integerIn } from '../../core/validate.js';
import { BackendUnavailableError } from '../errors.js';
import type {
  BeginRequest,
  BeginResult,
  FencedWrite,
  IdempotencyRecord,
  IdempotencyStore,
  StoreCallOptions,
  StoredOutcome,
} from './types.js';

/** Options of {@link MemoryIdempotencyStore}. */
export interface MemoryIdempotencyStoreOptions {
  /** The runtime whose monotonic clock expires records (default: the system runtime). */
  runtime?: Runtime;
  /**
   * Upper bound on records, default 100,000. When a new key finds the store full, expired records
   * are swept first; if it is still full, `begin` fails with `BackendUnavailableError` rather than
   * evicting a live record (which would let a repeat run twice).
   */
  maxRecords?: number;
}

interface MemoryRecord {
  state: 'in-progress' | 'completed';
  readonly fingerprint: string;
  owner: string;
  epoch: number;
  leaseUntilMs: number;
  expiresAtMs: number;
  outcome: StoredOutcome | undefined;
}

/**
 * Idempotency records in memory. Not shared between processes: use the Redis or PostgreSQL store
 * when several instances serve the same keys.
 *
 * @example
 * const store = new MemoryIdempotencyStore();
 * const receipt = await idempotent(req.headers['idempotency-key'], req.body, () => charge(req.body), { store });
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly name = 'memory';
  private readonly runtime: Runtime;
  private readonly maxRecords: number;
  private readonly records = new Map<string, MemoryRecord>();
  private closed = false;

  constructor(options: MemoryIdempotencyStoreOptions = {}) {
    this.runtime = options.runtime ?? systemRuntime();
    this.maxRecords = integerIn('maxRecords', options.maxRecords ?? 100_000, 1, 100_000_000);
  }

  /** Records currently held (expired ones included until a sweep or `reap` removes them). */
  get size(): number {
    return this.records.size;
  }

  begin(request: BeginRequest, options: StoreCallOptions): Promise<BeginResult> {
    return this.guard('begin', options, () => this.beginNow(request));
  }

  complete(
    key: string,
    owner: string,
    epoch: number,
    outcome: StoredOutcome,
    ttlMs: number,
    options: StoreCallOptions,
  ): Promise<FencedWrite> {
    return this.guard('complete', options, () => {
      const rec = this.holding(key, owner, epoch);
      if (rec === undefined) return 'fenced';
      rec.state = 'completed';
      rec.outcome = outcome;
      rec.expiresAtMs = this.now() + ttlMs;
      return 'ok';
    });
  }

  extend(
    key: string,
    owner: string,
    epoch: number,
    leaseMs: number,
    options: StoreCallOptions,
  ): Promise<FencedWrite> {
    return this.guard('extend', options, () => {
      const rec = this.holding(key, owner, epoch);
      if (rec === undefined) return 'fenced';
      rec.leaseUntilMs = this.now() + leaseMs;
      rec.expiresAtMs = Math.max(rec.expiresAtMs, rec.leaseUntilMs);
      return 'ok';
    });
  }

  release(
    key: string,
    owner: string,
    epoch: number,
    options: StoreCallOptions,
  ): Promise<FencedWrite> {
    return this.guard('release', options, () => {
      if (this.holding(key, owner, epoch) === undefined) return 'fenced';
      this.records.delete(key);
      return 'ok';
    });
  }

  get(key: string, options: StoreCallOptions): Promise<IdempotencyRecord | null> {
    return this.guard('get', options, () => {
      const rec = this.live(key);
      if (rec === undefined) return null;
      const { state, fingerprint, owner, epoch, outcome } = rec;
      return {
        state,
        fingerprint,
        owner,
        epoch,
        outcome,
        expiresInMs: rec.expiresAtMs - this.now(),
      };
    });
  }

  reap(limit: number, options: StoreCallOptions): Promise<number> {
    return this.guard('reap', options, () => this.sweep(limit));
  }

  close(): Promise<void> {
    this.closed = true;
    this.records.clear();
    return Promise.resolve();
  }

  private beginNow(request: BeginRequest): BeginResult {
    const { key, fingerprint, owner, leaseMs, ttlMs } = request;
    const now = this.now();
    const rec = this.records.get(key);
    const expired = rec !== undefined && rec.expiresAtMs <= now;
    if (rec !== undefined && !expired) {
      if (rec.fingerprint !== fingerprint)
        return { kind: 'mismatch', storedFingerprint: rec.fingerprint };
      if (rec.state === 'completed') return { kind: 'completed', outcome: rec.outcome! };
      if (rec.leaseUntilMs > now)
        return { kind: 'in-progress', retryAfterMs: rec.leaseUntilMs - now };
      rec.owner = owner;
      rec.epoch++;
      rec.leaseUntilMs = now + leaseMs;
      rec.expiresAtMs = Math.max(rec.expiresAtMs, rec.leaseUntilMs);
      return { kind: 'started', epoch: rec.epoch, takeover: true };
    }
    if (rec === undefined && this.records.size >= this.maxRecords)
      this.sweep(Number.POSITIVE_INFINITY);
    if (rec === undefined && this.records.size >= this.maxRecords)
      throw new BackendUnavailableError(
        'begin',
        `the store holds ${this.maxRecords} live records (maxRecords)`,
      );
    const epoch = (rec?.epoch ?? 0) + 1;
    const fresh: MemoryRecord = {
      state: 'in-progress',
      fingerprint,
      owner,
      epoch,
      leaseUntilMs: now + leaseMs,
      expiresAtMs: now + Math.max(ttlMs, leaseMs),
      outcome: undefined,
    };
    this.records.set(key, fresh);
    return { kind: 'started', epoch, takeover: false };
  }

  /** The live in-progress record of `key` if `owner` at `epoch` holds it. */
  private holding(key: string, owner: string, epoch: number): MemoryRecord | undefined {
    const rec = this.live(key);
    if (rec === undefined || rec.state !== 'in-progress') return undefined;
    return rec.owner === owner && rec.epoch === epoch ? rec : undefined;
  }

  private live(key: string): MemoryRecord | undefined {
    const rec = this.records.get(key);
    return rec !== undefined && rec.expiresAtMs > this.now() ? rec : undefined;
  }

  private sweep(limit: number): number {
    const now = this.now();
    let removed = 0;
    for (const [key, rec] of this.records) {
      if (removed >= limit) break;
      if (rec.expiresAtMs > now) continue;
      this.records.delete(key);
      removed++;
    }
    return removed;
  }

  private now(): number {
    return this.runtime.clock.monotonicMs();
  }

  /** Runs one operation unless the store is closed or the call already aborted. */
  private guard<T>(operation: string, options: StoreCallOptions, fn: () => T): Promise<T> {
    if (options.signal.aborted) return Promise.reject(abortReason(options.signal));
    if (this.closed)
      return Promise.reject(new BackendUnavailableError(operation, 'the store is closed'));
    try {
      const result = fn();
      assert(result !== undefined, 'every store operation answers');
      return Promise.resolve(result);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

/**
 * The idempotency store SPI: what a backend (memory, Redis, PostgreSQL) implements so that
 * {@link idempotent} can run a request once per key.
 *
 * A record per key holds the request's fingerprint, a state (`in-progress` under a lease, or
 * `completed` with the stored outcome), and the **owner and epoch** of the invocation that may
 * write it. Every operation is one atomic step on the store, decided by the store's clock. Writes
 * (`complete`, `extend`, `release`) name the owner and epoch and are refused (`fenced`) when the
 * record has moved on: an invocation whose lease expired, and whose key a retry took over (with
 * the next epoch), can no longer overwrite or delete the retry's record.
 *
 * @module
 */

/** What a completed invocation left: a value, or (with `onError: 'record'`) a failure. */
export type StoredOutcome =
  | { readonly kind: 'value'; readonly data: string }
  | { readonly kind: 'error'; readonly data: string };

/** Options every store call receives: the signal aborts when the call's deadline passes. */
export interface StoreCallOptions {
  readonly signal: AbortSignal;
}

/** The parameters of {@link IdempotencyStore.begin}. */
export interface BeginRequest {
  readonly key: string;
  /** The request's fingerprint (at most 128 characters). */
  readonly fingerprint: string;
  /** The invocation's owner id: unique per invocation, at most 128 characters. */
  readonly owner: string;
  /** Lease of the in-progress record, in milliseconds of the store's clock. */
  readonly leaseMs: number;
  /** How long the record lives (from now, and again from completion), in milliseconds. */
  readonly ttlMs: number;
}

/** The answer of {@link IdempotencyStore.begin}. */
export type BeginResult =
  | {
      /** This invocation owns the key now and must run the work. */
      readonly kind: 'started';
      /** The record's epoch: 1 for a new record, one more than the last on every takeover. */
      readonly epoch: number;
      /** True when an earlier invocation's lease had expired and this one took its record over. */
      readonly takeover: boolean;
    }
  | { readonly kind: 'completed'; readonly outcome: StoredOutcome }
  | {
      readonly kind: 'in-progress';
      /** Milliseconds until the running invocation's lease expires on the store. */
      readonly retryAfterMs: number;
    }
  | { readonly kind: 'mismatch'; readonly storedFingerprint: string };

/** The answer of a fenced write: applied, or refused because the record moved on. */
export type FencedWrite = 'ok' | 'fenced';

/** A record as the store holds it (for inspection and tests). */
export interface IdempotencyRecord {
  readonly state: 'in-progress' | 'completed';
  readonly fingerprint: string;
  readonly owner: string;
  readonly epoch: number;
  readonly outcome: StoredOutcome | undefined;
  /** Milliseconds until the record expires (store clock). */
  readonly expiresInMs: number;
}

/**
 * What an idempotency store implements. Each method is one atomic operation on the store and must
 * settle once `options.signal` aborts; a throw means "outcome unknown".
 */
export interface IdempotencyStore {
  /** A short name for messages and docs, such as `memory` or `redis`. */
  readonly name: string;
  /**
   * Claims `key` for `owner`: creates an in-progress record (epoch 1, or one more than an expired
   * record's), takes over an in-progress record whose lease expired (epoch + 1), or reports the
   * completed outcome, the live in-progress record, or a fingerprint mismatch. An expired record
   * counts as absent.
   */
  begin(request: BeginRequest, options: StoreCallOptions): Promise<BeginResult>;
  /**
   * Stores `outcome` and marks the record completed for `ttlMs` more, if `owner` at `epoch` still
   * holds it in progress; otherwise `fenced` and nothing changes.
   */
  complete(
    key: string,
    owner: string,
    epoch: number,
    outcome: StoredOutcome,
    ttlMs: number,
    options: StoreCallOptions,
  ): Promise<FencedWrite>;
  /** Renews the lease of `owner` at `epoch` to `leaseMs` from now; `fenced` if it no longer holds it. */
  extend(
    key: string,
    owner: string,
    epoch: number,
    leaseMs: number,
    options: StoreCallOptions,
  ): Promise<FencedWrite>;
  /** Deletes the in-progress record of `owner` at `epoch` (a forgotten failure); `fenced` otherwise. */
  release(
    key: string,
    owner: string,
    epoch: number,
    options: StoreCallOptions,
  ): Promise<FencedWrite>;
  /** The record of `key`, or `null` when there is none (or it expired). */
  get(key: string, options: StoreCallOptions): Promise<IdempotencyRecord | null>;
  /**
   * Deletes up to `limit` expired records and returns how many it deleted. Stores whose server
   * expires keys by itself (Redis) return 0.
   */
  reap(limit: number, options: StoreCallOptions): Promise<number>;
  /** Releases the store's own resources; a client passed in by the caller stays open. */
  close(): Promise<void>;
}

/** Longest fingerprint and owner a store must accept. */
export const MAX_FINGERPRINT_LENGTH = 128;

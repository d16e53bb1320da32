/**
 * Idempotency keys: the client (`idempotent`), the store SPI, the memory store and the reaper.
 *
 * @module
 */
export {
  idempotent,
  runIdempotent,
  checkIdempotencyKey,
  MAX_IDEMPOTENCY_KEY_LENGTH,
} from './idempotent.js';
export type {
  FailurePolicy,
  IdempotencyEvent,
  IdempotencyCodec,
  IdempotentContext,
  IdempotentOptions,
  IdempotentResult,
} from './idempotent.js';
export {
  IdempotencyInProgressError,
  isIdempotencyInProgressError,
  IdempotencyMismatchError,
  isIdempotencyMismatchError,
  IdempotencyFencedError,
  isIdempotencyFencedError,
  IdempotentFailureError,
  isIdempotentFailureError,
} from './errors.js';
export type { FenceLoss } from './errors.js';
export { MemoryIdempotencyStore } from './memory.js';
export type { MemoryIdempotencyStoreOptions } from './memory.js';
export { IdempotencyReaper } from './reaper.js';
export type { IdempotencyReaperOptions } from './reaper.js';
export { canonicalJson, fingerprintOf, sha256Hex } from './fingerprint.js';
export { MAX_FINGERPRINT_LENGTH } from './types.js';
export type {
  BeginRequest,
  BeginResult,
  FencedWrite,
  IdempotencyRecord,
  IdempotencyStore,
  StoreCallOptions,
  StoredOutcome,
} from './types.js';

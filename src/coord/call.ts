/**
 * Internal helpers of the coordination clients: bounded backend calls, owner ids and the shared
 * option validation.
 *
 * @module
 */
import { abortReason } from '../core/abort.js';
import type { Runtime } from '../core/runtime.js';
import { integerIn, nonNegative, numberIn, positive, rangeError } from '../core/validate.js';
import { BackendUnavailableError } from './errors.js';
import type { CallOptions, ClientOptions } from './types.js';
import { MAX_OWNER_LENGTH } from './types.js';

/** Longest key the clients accept (long enough for any namespacing, short enough for every backend). */
export const MAX_KEY_LENGTH = 1024;

/**
 * Runs one backend call with a deadline. The call gets a signal that aborts after `timeoutMs` (with
 * a {@link BackendUnavailableError}) or when `outer` aborts (with its reason); the returned promise
 * settles by then even when the backend ignores the signal, so a lost backend never leaves a caller
 * pending. A late result of an abandoned call is dropped (and observed, so it is never unhandled).
 */
export function callWithDeadline<T>(
  runtime: Runtime,
  operation: string,
  timeoutMs: number,
  outer: AbortSignal | undefined,
  fn: (options: CallOptions) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      cancelTimer();
      outer?.removeEventListener('abort', onOuter);
      return true;
    };
    const fail = (reason: unknown): void => {
      if (!finish()) return;
      controller.abort(reason);
      reject(reason);
    };
    const onOuter = (): void => fail(abortReason(outer as AbortSignal));
    const cancelTimer = runtime.timers.setTimer(timeoutMs, () =>
      fail(new BackendUnavailableError(operation, `no answer within ${timeoutMs} ms`)),
    );
    if (outer?.aborted) {
      fail(abortReason(outer));
      return;
    }
    outer?.addEventListener('abort', onOuter, { once: true });
    let pending: Promise<T>;
    try {
      pending = fn({ signal: controller.signal });
    } catch (error) {
      fail(error);
      return;
    }
    pending.then(
      (value) => {
        if (finish()) resolve(value);
      },
      (error: unknown) => {
        if (finish()) reject(error);
      },
    );
  });
}

/** A fresh owner id: 128 bits from `runtime.random.bytes(16)` in lowercase hex (32 characters). */
export function newOwnerId(runtime: Runtime): string {
  const bytes = runtime.random.bytes(16);
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** Validates a key: a non-empty string of at most {@link MAX_KEY_LENGTH} characters. */
export function checkKey(field: string, key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw rangeError(field, `a non-empty string of at most ${MAX_KEY_LENGTH} characters`, key);
  }
  return key;
}

/** Validates an owner string as the SPI defines it. */
export function checkOwner(field: string, owner: string): string {
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > MAX_OWNER_LENGTH) {
    throw rangeError(field, `a non-empty string of at most ${MAX_OWNER_LENGTH} characters`, owner);
  }
  return owner;
}

/** Validates a TTL in milliseconds: finite, > 0 and at most about 24.8 days (2^31 − 1 ms). */
export function checkTtl(field: string, ttlMs: number): number {
  positive(field, ttlMs);
  if (ttlMs > 2 ** 31 - 1) throw rangeError(field, `at most ${2 ** 31 - 1}`, ttlMs);
  return ttlMs;
}

/** Validates a wait in milliseconds: `Infinity` or a finite number >= 0. */
export function checkWait(field: string, waitMs: number): number {
  if (waitMs === Number.POSITIVE_INFINITY) return waitMs;
  return nonNegative(field, waitMs);
}

/** Client options with every default applied and validated. */
export interface ResolvedClientOptions {
  readonly runtime: Runtime;
  readonly callTimeoutMs: number;
  readonly driftFactor: number;
  readonly driftMarginMs: number;
  readonly recheckMs: number;
  readonly maxWaiters: number;
}

/** Applies defaults to {@link ClientOptions} and validates every field (RangeError naming it). */
export function resolveClientOptions(
  options: ClientOptions,
  defaultRuntime: () => Runtime,
): ResolvedClientOptions {
  const driftFactor = options.driftFactor ?? 0.01;
  if (!(driftFactor >= 0 && driftFactor < 0.5))
    throw rangeError('driftFactor', 'a number in [0, 0.5)', driftFactor);
  return {
    runtime: options.runtime ?? defaultRuntime(),
    callTimeoutMs: checkTtl('callTimeoutMs', options.callTimeoutMs ?? 2_000),
    driftFactor: numberIn('driftFactor', driftFactor, 0, 0.5),
    driftMarginMs: nonNegative('driftMarginMs', options.driftMarginMs ?? 2),
    recheckMs: checkTtl('recheckMs', options.recheckMs ?? 1_000),
    maxWaiters: integerIn('maxWaiters', options.maxWaiters ?? 1_000, 1, 1_000_000),
  };
}

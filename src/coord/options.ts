/**
 * The options every coordination client shares ({@link ClientOptions}), resolved once per client,
 * and the options of one acquire, validated into the loop's parameters.
 *
 * @module
 */
import type { AbortScopeLike } from '../core/abort.js';
import { checkSignal } from '../core/abort.js';
import type { Runtime } from '../core/runtime.js';
import { integerIn, nonNegative, numberIn, rangeError } from '../core/validate.js';
import type { ClientScope } from './scope.js';
import type { AcquireOptions, ClientOptions } from './types.js';
import { checkTtl, checkWait } from './validate.js';
import { checkValidity } from './validity.js';

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
  if (typeof options !== 'object' || options === null)
    throw rangeError('options', 'an object', options);
  const driftFactor = options.driftFactor ?? 0.01;
  if (!(driftFactor >= 0 && driftFactor < 0.5))
    throw rangeError('driftFactor', 'a number in [0, 0.5)', driftFactor);
  const runtime = options.runtime ?? defaultRuntime();
  if (typeof runtime !== 'object' || runtime === null || typeof runtime.clock !== 'object')
    throw rangeError('runtime', 'a Runtime (clock, timers, random)', runtime);
  return {
    runtime,
    callTimeoutMs: checkTtl('callTimeoutMs', options.callTimeoutMs ?? 2_000),
    driftFactor: numberIn('driftFactor', driftFactor, 0, 0.5),
    driftMarginMs: nonNegative('driftMarginMs', options.driftMarginMs ?? 2),
    recheckMs: checkTtl('recheckMs', options.recheckMs ?? 1_000),
    maxWaiters: integerIn('maxWaiters', options.maxWaiters ?? 1_000, 1, 1_000_000),
  };
}

/** The validated parameters of one acquire. */
export interface AcquireParams {
  readonly ttlMs: number;
  readonly waitMs: number;
  /** The caller's signal linked with the client's `close()`. */
  readonly stop: AbortScopeLike;
  readonly renewEveryMs: number | undefined;
  readonly maxValidityMs: number | undefined;
  /** Appended to the random owner id after a `/` (an election's candidate id). */
  readonly ownerSuffix: string | undefined;
}

/** What an election adds to an acquire: its own renewal, validity cap and owner suffix. */
export interface AcquireExtras {
  readonly renewEveryMs?: number;
  readonly maxValidityMs?: number;
  readonly ownerSuffix?: string;
}

/** Validates per-call acquire options into loop parameters (RangeError / TypeError naming the field). */
export function acquireParams(
  options: AcquireOptions,
  client: ResolvedClientOptions,
  scope: ClientScope,
  extra: AcquireExtras = {},
): AcquireParams {
  if (typeof options !== 'object' || options === null)
    throw rangeError('options', 'an object', options);
  const ttlMs = checkValidity('ttlMs', client, checkTtl('ttlMs', options.ttlMs));
  const waitMs = checkWait('waitMs', options.waitMs ?? Number.POSITIVE_INFINITY);
  const autoRenew = options.autoRenew ?? false;
  if (typeof autoRenew !== 'boolean') throw rangeError('autoRenew', 'a boolean', autoRenew);
  const signal = checkSignal('signal', options.signal);
  return {
    ttlMs,
    waitMs,
    stop: scope.link(signal),
    renewEveryMs: extra.renewEveryMs ?? (autoRenew ? ttlMs / 3 : undefined),
    maxValidityMs: extra.maxValidityMs,
    ownerSuffix: extra.ownerSuffix,
  };
}

/**
 * Bounded calls to participants and logs: each call gets a deadline, and a call that ignores its
 * signal is abandoned at the deadline anyway, so a hung database never hangs a coordinator. Also
 * the validation of the options the call-making coordinators (2PC and TCC) share: the decision
 * log, the participants, the call deadline and the phase-two retry.
 *
 * @module
 */
import { raceAbort } from '../core/abort.js';
import { FaultlineError } from '../core/errors.js';
import type { Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { integerIn, positive, rangeError } from '../core/validate.js';
import type { BackoffOptions } from '../resilience/backoff.js';
import { Retry } from '../resilience/retry.js';
import type { RetryOptions } from '../resilience/retry.js';
import type { DecisionLog } from './types.js';

/** A participant or log call did not answer within its deadline. */
export class TxnCallTimeoutError extends FaultlineError {
  override name = 'TxnCallTimeoutError';
  constructor(what: string, timeoutMs: number) {
    super('FAULTLINE_TXN_CALL_TIMEOUT', `${what} did not answer within ${timeoutMs} ms`);
  }
}

/**
 * Runs `fn` with a signal that aborts after `timeoutMs` (or when `outer` aborts) and rejects at
 * that moment even if `fn` ignores the signal.
 */
export async function bounded<T>(
  runtime: Runtime,
  what: string,
  timeoutMs: number,
  outer: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const cancel = runtime.timers.setTimer(timeoutMs, () =>
    controller.abort(new TxnCallTimeoutError(what, timeoutMs)),
  );
  const onOuter = (): void => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onOuter, { once: true });
  if (outer?.aborted === true) onOuter();
  try {
    return await raceAbort(fn(controller.signal), controller.signal);
  } finally {
    cancel();
    outer?.removeEventListener('abort', onOuter);
  }
}

/** The call options a coordinator of 2PC or TCC takes (each documents them in its own options). */
export interface CallOptions {
  callTimeoutMs?: number;
  phaseTwoAttempts?: number;
  phaseTwoBackoff?: BackoffOptions;
  runtime?: Runtime;
}

/** What {@link callSettings} resolves {@link CallOptions} to. */
export interface CallSettings {
  /** Deadline of each participant or log call, in ms. */
  readonly callTimeoutMs: number;
  readonly runtime: Runtime;
  /** The retry of each phase-two call (commit/rollback, confirm/cancel). */
  readonly retry: Retry;
}

/**
 * Validates and defaults the call options: `callTimeoutMs` 10,000 ms, `phaseTwoAttempts` 5 in
 * [1, 100], `phaseTwoBackoff` exponential from 50 ms capped at 2 s with full jitter, and the system
 * runtime. `shouldRetry` (default: every error) says which phase-two failures are worth another
 * attempt.
 */
export function callSettings(
  options: CallOptions,
  shouldRetry?: RetryOptions['shouldRetry'],
): CallSettings {
  const callTimeoutMs = positive('callTimeoutMs', options.callTimeoutMs ?? 10_000);
  const runtime = options.runtime ?? systemRuntime();
  const retry = new Retry({
    maxAttempts: integerIn('phaseTwoAttempts', options.phaseTwoAttempts ?? 5, 1, 100),
    backoff: options.phaseTwoBackoff ?? {
      kind: 'exponential',
      baseMs: 50,
      capMs: 2000,
      jitter: 'full',
    },
    ...(shouldRetry === undefined ? {} : { shouldRetry }),
    runtime,
  });
  return { callTimeoutMs, runtime, retry };
}

/** Requires a {@link DecisionLog} (an object with the log's methods) in option `log`. */
export function decisionLog(log: DecisionLog | undefined): DecisionLog {
  if (typeof log?.recordCommit !== 'function') throw rangeError('log', 'a DecisionLog', log);
  return log;
}

/**
 * Requires a non-empty list of participants with unique names in option `participants`, and
 * returns them by name. `isParticipant` tells a participant of the caller's kind from anything
 * else, and `kind` names that kind in the error (e.g. `'Participants'`).
 */
export function participantsByName<P extends { readonly name: string }>(
  participants: readonly P[] | undefined,
  isParticipant: (p: P | undefined) => boolean,
  kind: string,
): ReadonlyMap<string, P> {
  const byName = new Map<string, P>();
  for (const p of participants ?? []) {
    if (!isParticipant(p)) throw rangeError('participants', kind, p);
    if (byName.has(p.name)) throw rangeError('participants', 'unique names', p.name);
    byName.set(p.name, p);
  }
  if (byName.size === 0) throw rangeError('participants', 'at least one', byName.size);
  return byName;
}

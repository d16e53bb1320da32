/**
 * Bounded calls to participants and logs: each call gets a deadline, and a call that ignores its
 * signal is abandoned at the deadline anyway, so a hung database never hangs a coordinator.
 *
 * @module
 */
import { raceAbort } from '../core/abort.js';
import { FaultlineError } from '../core/errors.js';
import type { Runtime } from '../core/runtime.js';

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

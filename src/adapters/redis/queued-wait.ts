/**
 * What the queued waits of the Redis lock and semaphore share: waiting for a waiter's grant
 * message with a refresh timer, and leaving the queue in the background.
 *
 * @module
 */
import { abortReason, listenAbort } from '../../core/abort.js';
import type { Timers } from '../../core/runtime.js';
import type { GrantEvent, GrantWatch } from './notify.js';
import type { LuaScript } from './scripts.js';
import type { ScriptRunner } from './script-runner.js';

/**
 * How long a queued waiter's entry lives without a refresh, in ms (server clock). A waiter that
 * died is skipped by the next hand-over once its entry is this old; one that died less than this
 * ago may still be handed the key, which then stays unused until its TTL runs out.
 */
export const QUEUE_ENTRY_MS = 6_000;
/** How often a queued waiter refreshes its entry and rechecks its grant with the server, in ms. */
export const QUEUE_REFRESH_MS = 2_000;
/** Upper bound on the background call that takes an abandoned waiter out of the queue, in ms. */
const LEAVE_TIMEOUT_MS = 5_000;

/** The watch's next event, or undefined after `ms`; rejects with the signal's reason on abort. */
export function nextGrantEvent(
  timers: Timers,
  watch: GrantWatch,
  ms: number,
  signal: AbortSignal,
): Promise<GrantEvent | undefined> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      cancel();
      off();
      return true;
    };
    const cancel = timers.setTimer(Math.max(ms, 1), () => {
      if (finish()) watch.stopWaiting();
      resolve(undefined);
    });
    const off = listenAbort(signal, (reason) => {
      if (finish()) watch.stopWaiting();
      reject(reason);
    });
    void watch.next().then((event) => {
      if (finish()) resolve(event);
    });
  });
}

/**
 * Runs `script` (a leave: owner-checked, so harmless when the owner is neither queued nor granted)
 * in the background, bounded by its own timeout.
 */
export function leaveInBackground(
  timers: Timers,
  runner: ScriptRunner,
  script: LuaScript,
  keys: readonly string[],
  owner: string,
): void {
  const controller = new AbortController();
  const cancel = timers.setTimer(LEAVE_TIMEOUT_MS, () => controller.abort());
  runner.run('leave', script, keys, [owner], { signal: controller.signal }).then(cancel, cancel);
}

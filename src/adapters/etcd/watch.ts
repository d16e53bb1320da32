/**
 * One-shot etcd watches: resolve on the first matching event, always cancel the watcher.
 *
 * @module
 */
import type { Etcd3, Watcher } from 'etcd3';
import { abortReason } from '../../core/abort.js';

/**
 * Resolves on the first event in `[key, rangeEnd)` at or after `fromRevision` (or from now when it
 * is `undefined`), and also when the watch fails (a compacted revision, a cancelled stream): the
 * caller rechecks, so a spurious wake-up is harmless. Rejects with the signal's reason on abort.
 */
export function waitForEvent(
  client: Etcd3,
  key: Buffer,
  rangeEnd: Buffer,
  fromRevision: bigint | undefined,
  signal: AbortSignal,
): Promise<void> {
  let builder = client.watch().inRange({ start: key, end: rangeEnd });
  if (fromRevision !== undefined) builder = builder.startRevision(String(fromRevision));
  return once(builder.watcher(), ['put', 'delete'], signal);
}

/** Resolves when `key` is deleted at or after `fromRevision` (or the watch fails); see {@link waitForEvent}. */
export function waitForDelete(client: Etcd3, key: Buffer, fromRevision: bigint, signal: AbortSignal): Promise<void> {
  const watcher = client.watch().key(key).startRevision(String(fromRevision)).watcher();
  return once(watcher, ['delete'], signal);
}

function once(watcher: Watcher, events: readonly ('put' | 'delete')[], signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (error?: unknown): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      watcher.removeAllListeners();
      // Swallow late errors of the cancelled stream.
      watcher.on('error', () => undefined);
      watcher.cancel().catch(() => undefined);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = (): void => finish(abortReason(signal));
    if (signal.aborted) {
      finish(abortReason(signal));
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    if (events.includes('put')) watcher.on('put', () => finish());
    if (events.includes('delete')) watcher.on('delete', () => finish());
    watcher.on('error', () => finish());
    watcher.on('end', () => finish());
  });
}

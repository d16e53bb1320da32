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

/** A live one-shot watch; see {@link openWatch}. */
export interface LiveWatch {
  /** Resolves on the first matching event, and also when the watch fails (the caller rechecks). */
  readonly fired: Promise<void>;
  /** Cancels the watch (idempotent). */
  close(): void;
}

/**
 * Opens a watch on `key` (or the range `[key, rangeEnd)`) from the current revision and resolves
 * once etcd confirmed it. Watching from "now" keeps the watcher *synced*, so etcd notifies it as
 * soon as a change commits; a watch from an older revision would be caught up by etcd's background
 * sync, every 100 ms. The caller therefore reads the state *after* this resolves: a change before
 * the watch shows in that read, one after it in `fired`.
 */
export function openWatch(
  client: Etcd3,
  key: Buffer,
  rangeEnd: Buffer | undefined,
  events: readonly ('put' | 'delete')[],
  signal: AbortSignal,
): Promise<LiveWatch> {
  const builder = client.watch();
  const watcher = (
    rangeEnd === undefined ? builder.key(key) : builder.inRange({ start: key, end: rangeEnd })
  ).watcher();
  let fire: () => void = () => undefined;
  const fired = new Promise<void>((resolve) => {
    fire = resolve;
  });
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    watcher.removeAllListeners();
    watcher.on('error', () => undefined);
    watcher.cancel().catch(() => undefined);
    fire();
  };
  if (events.includes('put')) watcher.on('put', () => fire());
  if (events.includes('delete')) watcher.on('delete', () => fire());
  watcher.on('end', () => fire());
  return new Promise<LiveWatch>((resolve, reject) => {
    const onAbort = (): void => {
      close();
      reject(abortReason(signal));
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    const ready = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve({ fired, close });
    };
    watcher.once('connected', ready);
    // A failed watch wakes the caller at once; it rechecks with a read.
    watcher.on('error', () => {
      fire();
      ready();
    });
  });
}

function once(
  watcher: Watcher,
  events: readonly ('put' | 'delete')[],
  signal: AbortSignal,
): Promise<void> {
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

/** A live watch of the deletes in a range; see {@link openDeleteTracker}. */
export interface DeleteTracker {
  /**
   * The next deleted key (as hex), in commit order; `undefined` once the watch failed or ended
   * (the caller then rechecks with a read). Rejects with the signal's reason on abort.
   */
  next(signal: AbortSignal): Promise<string | undefined>;
  /** Cancels the watch (idempotent). */
  close(): void;
}

/**
 * Opens a watch of the deletes in `[start, end)` from the current revision and resolves once etcd
 * confirmed it, like {@link openWatch}: the caller reads the
 * state after this resolves, so a delete before the watch shows in that read, one after it in
 * `next()`.
 */
export function openDeleteTracker(
  client: Etcd3,
  start: Buffer,
  end: Buffer,
  signal: AbortSignal,
): Promise<DeleteTracker> {
  // Not `.ignore('put')`: etcd3 maps it to the server's no-delete filter, which would drop exactly
  // the events this watch is for. Puts are ignored here instead (no listener).
  const watcher = client.watch().inRange({ start, end }).watcher();
  const deleted: string[] = [];
  let failed = false;
  let closed = false;
  let wake: () => void = () => undefined;
  const notify = (): void => {
    const w = wake;
    wake = () => undefined;
    w();
  };
  const close = (): void => {
    if (closed) return;
    closed = true;
    failed = true;
    watcher.removeAllListeners();
    watcher.on('error', () => undefined);
    watcher.cancel().catch(() => undefined);
    notify();
  };
  watcher.on('delete', (kv) => {
    deleted.push(kv.key.toString('hex'));
    notify();
  });
  watcher.on('end', () => {
    failed = true;
    notify();
  });
  const next = (stop: AbortSignal): Promise<string | undefined> => {
    if (stop.aborted) return Promise.reject(abortReason(stop));
    const ready = deleted.shift();
    if (ready !== undefined || failed) return Promise.resolve(ready);
    return new Promise<string | undefined>((resolve, reject) => {
      const onAbort = (): void => {
        wake = () => undefined;
        reject(abortReason(stop));
      };
      stop.addEventListener('abort', onAbort, { once: true });
      wake = () => {
        stop.removeEventListener('abort', onAbort);
        resolve(deleted.shift());
      };
    });
  };
  return new Promise<DeleteTracker>((resolve, reject) => {
    const onAbort = (): void => {
      close();
      reject(abortReason(signal));
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    const ready = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve({ next, close });
    };
    watcher.once('connected', ready);
    // A failed watch makes `next()` answer undefined at once; the caller rechecks with a read.
    watcher.on('error', () => {
      failed = true;
      notify();
      ready();
    });
  });
}

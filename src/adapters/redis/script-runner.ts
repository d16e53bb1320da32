/**
 * Runs the Lua scripts of the Redis backends with `EVALSHA`, falling back to `EVAL` when the
 * server does not know the script yet (`NOSCRIPT`: first use, a restart, a `SCRIPT FLUSH`, a
 * failover).
 *
 * @module
 */
import { abortReason, listenAbort } from '../../core/abort.js';
import { toBackendUnavailable } from '../../coord/errors.js';
import { CorkedWrites } from './corked-writes.js';
import type { CallOptions } from '../../coord/types.js';
import type { LuaScript } from './scripts.js';

/**
 * The part of an ioredis `Redis` or `Cluster` client the scripts need. The keys and the arguments
 * are passed as two arrays: ioredis flattens array arguments into the command (documented: `sadd(
 * 'set', [1, 3])` is `sadd('set', 1, 3)`), and two arrays cost no spread per call.
 */
export interface ScriptClient {
  evalsha(
    sha1: string,
    numkeys: number,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown>;
  eval(
    script: string,
    numkeys: number,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown>;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * Runs scripts on one client: `EVALSHA` first, `EVAL` on `NOSCRIPT` (which also loads the script
 * for next time). Every call races the caller's signal, so an unreachable server (ioredis queues
 * commands while it reconnects) never leaves a caller pending; failures become
 * `BackendUnavailableError`s. Writes are coalesced per event-loop turn
 * by {@link CorkedWrites}.
 */
export class ScriptRunner {
  private readonly writes: CorkedWrites;

  constructor(private readonly client: ScriptClient) {
    this.writes = new CorkedWrites(client);
  }

  /**
   * Runs `script` with `keys` and `args`; rejects with the signal's reason when it aborts, unless
   * the caller settles on its own (`options.callerSettles`: the coordination clients), when the
   * call is the client's promise alone, with no listener. This is every operation's hot path.
   */
  run(
    operation: string,
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    options: CallOptions,
  ): Promise<unknown> {
    const { signal } = options;
    if (signal.aborted) return Promise.reject(abortReason(signal));
    this.writes.beforeWrite();
    const n = keys.length;
    const client = this.client;
    // EVAL on NOSCRIPT also loads the script for next time; no extra promise on the usual path.
    const reply = client.evalsha(script.sha, n, keys, args).then(undefined, (error: unknown) => {
      if (!isNoScript(error)) throw toBackendUnavailable(operation, error);
      return client.eval(script.text, n, keys, args).then(undefined, (e: unknown) => {
        throw toBackendUnavailable(operation, e);
      });
    });
    if (options.callerSettles === true) return reply;
    return new Promise<unknown>((resolve, reject) => {
      // One listener per signal, shared by every call in flight on it (the clients pass one signal
      // to many concurrent calls): registering costs a slot, not a walk of the listeners.
      const off = listenAbort(signal, reject);
      reply.then(
        (value) => {
          off();
          resolve(value);
        },
        (error: unknown) => {
          off();
          reject(error);
        },
      );
    });
  }
}

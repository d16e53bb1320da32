import { describe, expect, it } from 'vitest';
import { isBackendUnavailableError } from '../../coord/errors.js';
import { MAX_BATCH } from './corked-writes.js';
import type { CallOptions } from '../../coord/types.js';
import type { ScriptClient } from './script-runner.js';
import { ScriptRunner } from './script-runner.js';
import { LOCK_ACQUIRE, luaScript } from './scripts.js';

/** A client that knows scripts only after an EVAL, like a Redis after SCRIPT FLUSH. */
function fakeClient(): ScriptClient & { calls: string[]; hang: boolean } {
  const loaded = new Set<string>();
  const state = {
    calls: [] as string[],
    hang: false,
    evalsha(
      sha: string,
      numkeys: number,
      keys: readonly string[],
      args: readonly (string | number)[],
    ): Promise<unknown> {
      state.calls.push(`evalsha ${numkeys} ${[...keys, ...args].join(' ')}`);
      if (state.hang) return new Promise(() => undefined);
      if (!loaded.has(sha))
        return Promise.reject(new Error('NOSCRIPT No matching script. Please use EVAL.'));
      return Promise.resolve('ok');
    },
    eval(
      text: string,
      numkeys: number,
      keys: readonly string[],
      args: readonly (string | number)[],
    ): Promise<unknown> {
      state.calls.push(`eval ${numkeys} ${[...keys, ...args].join(' ')}`);
      loaded.add(luaScript('x', text).sha);
      return Promise.resolve('ok');
    },
  };
  return state;
}

const signal = (): CallOptions => ({ signal: new AbortController().signal });

describe('ScriptRunner', () => {
  it('hashes scripts with SHA1', () => {
    expect(luaScript('t', 'return 1').sha).toBe('e0e1f9fabfc9d4800c877a703b823ac0578ff8db');
    expect(LOCK_ACQUIRE.sha).toMatch(/^[0-9a-f]{40}$/);
  });

  it('falls back to EVAL on NOSCRIPT, then uses EVALSHA', async () => {
    const client = fakeClient();
    const runner = new ScriptRunner(client);
    expect(await runner.run('op', LOCK_ACQUIRE, ['a', 'b'], ['o', 10], signal())).toBe('ok');
    expect(await runner.run('op', LOCK_ACQUIRE, ['a', 'b'], ['o', 10], signal())).toBe('ok');
    expect(client.calls).toEqual(['evalsha 2 a b o 10', 'eval 2 a b o 10', 'evalsha 2 a b o 10']);
  });

  it('rejects with the signal reason when the server does not answer', async () => {
    const client = fakeClient();
    client.hang = true;
    const controller = new AbortController();
    const pending = new ScriptRunner(client).run('op', LOCK_ACQUIRE, ['a', 'b'], [], {
      signal: controller.signal,
    });
    controller.abort(new Error('deadline'));
    await expect(pending).rejects.toThrow('deadline');
  });

  it('wraps other failures as BackendUnavailableError naming the operation', async () => {
    const client: ScriptClient = {
      evalsha: () => Promise.reject(new Error('Connection is closed.')),
      eval: () => Promise.reject(new Error('unused')),
    };
    const error = await new ScriptRunner(client)
      .run('extend', LOCK_ACQUIRE, ['a'], [], signal())
      .catch((e: unknown) => e);
    expect(isBackendUnavailableError(error)).toBe(true);
    expect((error as Error).message).toBe('extend: Connection is closed.');
  });

  describe('write coalescing', () => {
    /** A connected client whose socket records, for each command, whether it was corked. */
    function corkableClient(status = 'ready') {
      const log: string[] = [];
      let depth = 0;
      const stream = {
        cork: () => void depth++,
        uncork: () => {
          depth--;
          log.push('flush');
        },
      };
      const client = {
        status,
        stream,
        evalsha: (_sha: string, _n: number, keys: readonly string[]) => {
          log.push(depth > 0 ? `held ${keys[0]}` : `sent ${keys[0]}`);
          return Promise.resolve('ok');
        },
        eval: () => Promise.resolve('ok'),
      };
      return { client, log, depth: () => depth };
    }

    it('sends the first command of a turn at once and batches the rest, flushed by size and at the end of the turn', async () => {
      const { client, log, depth } = corkableClient();
      const runner = new ScriptRunner(client);
      const n = MAX_BATCH + 4;
      const calls = Array.from({ length: n }, (_, i) =>
        runner.run('op', LOCK_ACQUIRE, [`k${i}`], [], signal()),
      );
      expect(depth()).toBe(1); // Still corked: the turn has not ended.
      await Promise.all(calls);
      await new Promise<void>((resolve) => process.nextTick(resolve));
      expect(depth()).toBe(0);
      const expected = ['sent k0'];
      for (let i = 1; i <= MAX_BATCH; i++) expected.push(`held k${i}`);
      expected.push('flush');
      for (let i = MAX_BATCH + 1; i < n; i++) expected.push(`held k${i}`);
      expected.push('flush');
      expect(log).toEqual(expected);
      // A later turn starts afresh: its first command goes out at once.
      await runner.run('op', LOCK_ACQUIRE, ['later'], [], signal());
      expect(log.at(-1)).toBe('sent later');
    });

    it('never corks a client that is not connected, or has no socket of its own (a Cluster)', async () => {
      const { client, log } = corkableClient('reconnecting');
      const runner = new ScriptRunner(client);
      await Promise.all(
        [1, 2, 3].map((i) => runner.run('op', LOCK_ACQUIRE, [`k${i}`], [], signal())),
      );
      expect(log).toEqual(['sent k1', 'sent k2', 'sent k3']);
      const plain = new ScriptRunner(fakeClient());
      const results = await Promise.all(
        [1, 2].map((i) => plain.run('op', LOCK_ACQUIRE, [`k${i}`], [], signal())),
      );
      expect(results).toEqual(['ok', 'ok']);
    });
  });
});

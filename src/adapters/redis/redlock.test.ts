import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { abortReason } from '../../core/abort.js';
import { SeededRandom } from '../../core/random.js';
import type { Runtime } from '../../core/runtime.js';
import { isBackendUnavailableError } from '../../coord/errors.js';
import type { AcquireResult, CallOptions, ExtendResult, Holder } from '../../coord/types.js';
import type { RedlockNode } from './redlock.js';
import { RedlockBackend } from './redlock.js';

/** A manual runtime: time moves only when a test moves it; timers fire only when it passes them. */
function manualRuntime(): Runtime & { advance(ms: number): void; pendingTimers(): number } {
  let now = 0;
  let timers: { at: number; fn: () => void }[] = [];
  return {
    clock: { monotonicMs: () => now, wallMs: () => now },
    timers: {
      setTimer(ms, fn) {
        const t = { at: now + ms, fn };
        timers.push(t);
        return () => void (timers = timers.filter((x) => x !== t));
      },
      sleep: () => Promise.reject(new Error('tests never sleep')),
    },
    random: new SeededRandom(1),
    advance(ms) {
      now += ms;
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      for (const t of due) t.fn();
    },
    pendingTimers: () => timers.length,
  };
}

type Mode = 'ok' | 'hang' | 'fail';

/** An in-memory Redis instance with the lock scripts' semantics (expiry ignored: time is frozen). */
class FakeNode implements RedlockNode {
  readonly name = 'fake';
  readonly guarantees = { fifo: false, durable: false, consensus: false };
  mode: Mode = 'ok';
  counter = 0n;
  onCall: (() => void) | undefined;
  readonly locks = new Map<string, { owner: string; token: bigint }>();

  private answer<T>(signal: AbortSignal, fn: () => T): Promise<T> {
    this.onCall?.();
    if (this.mode === 'fail') return Promise.reject(new Error('connection refused'));
    if (this.mode === 'hang') {
      return new Promise<T>((_, reject) =>
        signal.addEventListener('abort', () => reject(abortReason(signal)), { once: true }),
      );
    }
    return Promise.resolve().then(fn);
  }

  tryAcquire(key: string, owner: string, _ttlMs: number, o: CallOptions): Promise<AcquireResult> {
    return this.answer(o.signal, () => {
      if (this.locks.has(key)) return { kind: 'busy', retryAfterMs: 500 };
      this.counter++;
      this.locks.set(key, { owner, token: this.counter });
      return { kind: 'acquired', token: this.counter, ttlMs: _ttlMs };
    });
  }
  extend(
    key: string,
    owner: string,
    _token: bigint,
    ttlMs: number,
    o: CallOptions,
  ): Promise<ExtendResult> {
    return this.extendOwner(key, owner, ttlMs, o);
  }
  extendOwner(key: string, owner: string, ttlMs: number, o: CallOptions): Promise<ExtendResult> {
    return this.answer(o.signal, () => {
      const held = this.locks.get(key);
      if (held === undefined) return { kind: 'lost', reason: 'expired' };
      if (held.owner !== owner) return { kind: 'lost', reason: 'stolen' };
      return { kind: 'extended', ttlMs };
    });
  }
  raiseToken(key: string, owner: string, token: bigint, o: CallOptions): Promise<boolean> {
    return this.answer(o.signal, () => {
      const held = this.locks.get(key);
      if (held?.owner !== owner) return false;
      if (this.counter < token) this.counter = token;
      this.locks.set(key, { owner, token });
      return true;
    });
  }
  release(key: string, owner: string, o: CallOptions): Promise<void> {
    return this.answer(o.signal, () => {
      if (this.locks.get(key)?.owner === owner) this.locks.delete(key);
    });
  }
  holder(key: string, o: CallOptions): Promise<Holder | null> {
    return this.answer(o.signal, () => {
      const held = this.locks.get(key);
      return held === undefined ? null : { ...held, remainingMs: 1000 };
    });
  }
  waitForChange(_key: string, o: CallOptions): Promise<void> {
    return this.answer(o.signal, () => undefined);
  }
}

const call = (): CallOptions => ({ signal: new AbortController().signal });
const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

function setup(n: number, quorum?: number) {
  const runtime = manualRuntime();
  const nodes = Array.from({ length: n }, () => new FakeNode());
  const backend = new RedlockBackend(
    nodes,
    quorum === undefined ? { runtime } : { runtime, quorum },
  );
  return { runtime, nodes, backend };
}

describe('RedlockBackend options', () => {
  it('rejects a quorum above N, below a majority, and bad drift settings', () => {
    const nodes = [new FakeNode(), new FakeNode(), new FakeNode()];
    expect(() => new RedlockBackend(nodes, { quorum: 4 })).toThrow(
      /quorum must be an integer in \[2, 3\] \(got 4\)/,
    );
    expect(() => new RedlockBackend(nodes, { quorum: 1 })).toThrow(RangeError);
    expect(() => new RedlockBackend([], {})).toThrow(/nodes.length/);
    expect(() => new RedlockBackend(nodes, { driftFactor: 0.5 })).toThrow(/driftFactor/);
    expect(() => new RedlockBackend(nodes, { driftMarginMs: -1 })).toThrow(/driftMarginMs/);
    expect(new RedlockBackend(nodes).quorum).toBe(2);
    expect(new RedlockBackend([...nodes, new FakeNode(), new FakeNode()]).quorum).toBe(3);
  });
});

describe('RedlockBackend.tryAcquire', () => {
  it('grants once a quorum granted, without waiting for a hung minority', async () => {
    const { nodes, backend } = setup(3);
    nodes[2]!.mode = 'hang';
    const r = await backend.tryAcquire('k', 'A', 1000, call());
    expect(r).toEqual({ kind: 'acquired', token: 1n, ttlMs: 1000 });
  });

  it('answers busy when a majority is held by someone else and gives back its partial grant', async () => {
    const { nodes, backend } = setup(3);
    nodes[1]!.locks.set('k', { owner: 'B', token: 7n });
    nodes[2]!.locks.set('k', { owner: 'B', token: 7n });
    const r = await backend.tryAcquire('k', 'A', 1000, call());
    // A split vote: retry after a small random delay, not the holder's TTL.
    expect(r.kind === 'busy' && r.retryAfterMs !== undefined && r.retryAfterMs <= 20).toBe(true);
    await flush();
    expect(nodes[0]!.locks.has('k')).toBe(false);
  });

  it('reports the quorum-th smallest remaining TTL as retryAfterMs when nothing was granted', async () => {
    const { nodes, backend } = setup(3);
    for (const n of nodes) n.locks.set('k', { owner: 'B', token: 1n });
    expect(await backend.tryAcquire('k', 'A', 1000, call())).toEqual({
      kind: 'busy',
      retryAfterMs: 500,
    });
  });

  it('throws (outcome unknown) when failures, not busy answers, prevent a quorum', async () => {
    const { nodes, backend } = setup(3);
    nodes[0]!.mode = 'fail';
    nodes[1]!.mode = 'fail';
    const error = await backend.tryAcquire('k', 'A', 1000, call()).catch((e: unknown) => e);
    expect(isBackendUnavailableError(error)).toBe(true);
    await flush();
    expect(nodes[2]!.locks.has('k')).toBe(false);
  });

  it('refuses a grant whose validity (ttl - elapsed - drift) is used up, and releases it', async () => {
    const { runtime, nodes, backend } = setup(3);
    // Each answer takes 330 ms: validity = 1000 - 990 - (10 + 2) < 0.
    for (const n of nodes) n.onCall = () => runtime.advance(330);
    const r = await backend.tryAcquire('k', 'A', 1000, call());
    expect(r.kind).toBe('busy');
    await flush();
    expect(nodes.every((n) => !n.locks.has('k'))).toBe(true);
  });

  it('accepts a grant with validity left', async () => {
    const { runtime, nodes, backend } = setup(3);
    for (const n of nodes) n.onCall = () => runtime.advance(100);
    expect((await backend.tryAcquire('k', 'A', 1000, call())).kind).toBe('acquired');
    expect(backend.validityMs(1000, 0)).toBeCloseTo(1000 - 300 - 12);
  });

  it('takes the maximum of the quorum tokens and raises lagging instances to it', async () => {
    const { nodes, backend } = setup(3);
    nodes[0]!.counter = 10n;
    nodes[2]!.mode = 'hang';
    const a = await backend.tryAcquire('k', 'A', 1000, call());
    expect(a).toMatchObject({ kind: 'acquired', token: 11n });
    expect(nodes[1]!.counter).toBe(11n);
    await backend.release('k', 'A', call()).catch(() => undefined);
    // The next quorum does not contain the instance that issued 11, yet its token is larger.
    nodes[2]!.mode = 'ok';
    nodes[0]!.mode = 'hang';
    const b = await backend.tryAcquire('k', 'B', 1000, call());
    expect(b).toMatchObject({ kind: 'acquired', token: 12n });
  });

  it('issues strictly increasing tokens whatever minority is down (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.array(fc.constantFrom<Mode>('ok', 'ok', 'hang', 'fail'), {
            minLength: 5,
            maxLength: 5,
          }),
          {
            minLength: 1,
            maxLength: 12,
          },
        ),
        fc.array(fc.nat(20), { minLength: 5, maxLength: 5 }),
        async (rounds, initial) => {
          const { nodes, backend } = setup(5);
          nodes.forEach((n, i) => (n.counter = BigInt(initial[i] ?? 0)));
          let last = 0n;
          for (const [r, modes] of rounds.entries()) {
            nodes.forEach((n, i) => (n.mode = modes[i] ?? 'ok'));
            const owner = `o${r}`;
            const controller = new AbortController();
            const pending = backend
              .tryAcquire('k', owner, 1000, { signal: controller.signal })
              .catch(() => undefined);
            await flush();
            controller.abort(new Error('the caller gives up on hung instances'));
            const res = await pending;
            if (res?.kind === 'acquired') {
              expect(res.token).toBeGreaterThan(last);
              last = res.token;
            }
            // Every instance comes back and the holder releases before the next round.
            for (const n of nodes) n.mode = 'ok';
            await backend.release('k', owner, call());
            await flush();
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('RedlockBackend.extend, release, holder, waitForChange', () => {
  it('extends on a quorum and reports stolen when a majority is held by another owner', async () => {
    const { nodes, backend } = setup(3);
    await backend.tryAcquire('k', 'A', 1000, call());
    expect(await backend.extend('k', 'A', 1n, 2000, call())).toEqual({
      kind: 'extended',
      ttlMs: 2000,
    });
    nodes[0]!.locks.set('k', { owner: 'B', token: 9n });
    nodes[1]!.locks.delete('k');
    expect(await backend.extend('k', 'A', 1n, 2000, call())).toEqual({
      kind: 'lost',
      reason: 'stolen',
    });
    nodes[0]!.locks.delete('k');
    expect(await backend.extend('k', 'A', 1n, 2000, call())).toEqual({
      kind: 'lost',
      reason: 'expired',
    });
  });

  it('throws on extend when too many instances fail to answer', async () => {
    const { runtime, nodes, backend } = setup(3);
    await backend.tryAcquire('k', 'A', 1000, call());
    nodes[0]!.mode = 'hang';
    nodes[1]!.mode = 'fail';
    const pending = backend.extend('k', 'A', 1n, 1000, call()).catch((e: unknown) => e);
    await flush();
    runtime.advance(1000); // The hung call is abandoned after the TTL.
    expect(isBackendUnavailableError(await pending)).toBe(true);
    expect(runtime.pendingTimers()).toBe(0);
  });

  it('leaves no timer behind after close(), even with a call hung on an instance', async () => {
    const { runtime, nodes, backend } = setup(3);
    nodes[2]!.mode = 'hang';
    await backend.tryAcquire('k', 'A', 1000, call());
    expect(runtime.pendingTimers()).toBe(1);
    backend.close();
    expect(runtime.pendingTimers()).toBe(0);
  });

  it('reports the holder of a quorum with the highest token', async () => {
    const { nodes, backend } = setup(3);
    expect(await backend.holder('k', call())).toBeNull();
    nodes[0]!.locks.set('k', { owner: 'A', token: 3n });
    nodes[1]!.locks.set('k', { owner: 'A', token: 5n });
    expect(await backend.holder('k', call())).toEqual({ owner: 'A', token: 5n, remainingMs: 1000 });
  });

  it('release throws only when a quorum could not be reached', async () => {
    const { nodes, backend } = setup(3);
    nodes[0]!.mode = 'fail';
    await expect(backend.release('k', 'A', call())).resolves.toBeUndefined();
    nodes[1]!.mode = 'fail';
    await expect(backend.release('k', 'A', call())).rejects.toThrow(/2 of 3/);
  });

  it('wakes on the first instance that reports a change, and rejects on abort', async () => {
    const { nodes, backend } = setup(3);
    nodes[0]!.mode = 'hang';
    nodes[1]!.mode = 'hang';
    await expect(backend.waitForChange('k', call())).resolves.toBeUndefined();
    nodes[2]!.mode = 'hang';
    const controller = new AbortController();
    const waiting = backend.waitForChange('k', { signal: controller.signal });
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
  });
});

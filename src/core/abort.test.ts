import { describe, expect, it } from 'vitest';
import { AbortScope, anySignal, listenAbort, onAbort, raceAbort, throwIfAborted } from './abort.js';
import { AbortedError } from './errors.js';

describe('abort helpers', () => {
  it('throwIfAborted throws the reason or an AbortedError', () => {
    expect(() => throwIfAborted(undefined)).not.toThrow();
    const c = new AbortController();
    expect(() => throwIfAborted(c.signal)).not.toThrow();
    c.abort();
    expect(() => throwIfAborted(c.signal)).toThrow();
    const d = new AbortController();
    d.abort(new AbortedError('custom'));
    expect(() => throwIfAborted(d.signal)).toThrow('custom');
  });

  it('onAbort fires once and can be disposed', () => {
    const c = new AbortController();
    const seen: unknown[] = [];
    const sub = onAbort(c.signal, (r) => seen.push(r));
    c.abort('why');
    c.abort('again');
    expect(seen).toEqual(['why']);
    sub.dispose();
    const d = new AbortController();
    const sub2 = onAbort(d.signal, (r) => seen.push(r));
    sub2.dispose();
    d.abort('late');
    expect(seen).toEqual(['why']);
  });

  it('onAbort fires at once for an already-aborted signal', () => {
    const c = new AbortController();
    c.abort('done');
    let got: unknown;
    onAbort(c.signal, (r) => (got = r));
    expect(got).toBe('done');
  });

  it('raceAbort returns the promise itself without a signal', () => {
    const p = Promise.resolve(1);
    expect(raceAbort(p, undefined)).toBe(p);
  });

  it('raceAbort rejects on abort and never leaves the loser unhandled', async () => {
    const c = new AbortController();
    let rejectInner: (e: unknown) => void = () => undefined;
    const inner = new Promise<number>((_, reject) => (rejectInner = reject));
    const raced = raceAbort(inner, c.signal);
    c.abort(new Error('cancelled'));
    await expect(raced).rejects.toThrow('cancelled');
    rejectInner(new Error('late failure'));
    await Promise.resolve();
  });

  it('raceAbort resolves with the value when it wins', async () => {
    const c = new AbortController();
    await expect(raceAbort(Promise.resolve(5), c.signal)).resolves.toBe(5);
  });

  it('anySignal avoids allocation for zero or one signal', () => {
    const c = new AbortController();
    expect(anySignal()).toBeUndefined();
    expect(anySignal(undefined, c.signal)).toBe(c.signal);
    const d = new AbortController();
    const both = anySignal(c.signal, d.signal)!;
    expect(both.aborted).toBe(false);
    d.abort('x');
    expect(both.aborted).toBe(true);
    expect(both.reason).toBe('x');
  });

  it('listenAbort keeps one function registered twice as two registrations', () => {
    for (const make of ['signal', 'scope'] as const) {
      const c = new AbortController();
      const scope = new AbortScope();
      const fire = (): void => (make === 'signal' ? c.abort('why') : scope.abort('why'));
      const target = make === 'signal' ? c.signal : scope;
      const seen: unknown[] = [];
      const fn = (reason: unknown): void => void seen.push(reason);
      const offFirst = listenAbort(target, fn);
      listenAbort(target, fn);
      const offThird = listenAbort(target, fn);
      offFirst();
      offThird();
      // Removing the first and third leaves the second; registering again after a removal works.
      listenAbort(target, fn);
      fire();
      expect(seen).toEqual(['why', 'why']);
    }
  });
});

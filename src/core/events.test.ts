import { channel } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { assert, assertNever, AssertionError } from './assert.js';
import { FaultlineError, isFaultlineError } from './errors.js';
import { Emitter, disposable } from './events.js';
import { integerIn, nonEmptyString, positive } from './validate.js';

describe('Emitter', () => {
  it('delivers to listeners until disposed', () => {
    const e = new Emitter<number>();
    const seen: number[] = [];
    const sub = e.on((n) => seen.push(n));
    e.emit(1);
    sub.dispose();
    e.emit(2);
    expect(seen).toEqual([1]);
    expect(e.size).toBe(0);
  });

  it('supports `using` through Symbol.dispose', () => {
    const e = new Emitter<string>();
    const seen: string[] = [];
    {
      using _sub = e.on((s) => seen.push(s));
      e.emit('in');
    }
    e.emit('out');
    expect(seen).toEqual(['in']);
  });

  it('calls every listener even when one throws, then rethrows the first error', () => {
    const e = new Emitter<number>();
    const seen: string[] = [];
    e.on(() => {
      throw new Error('first');
    });
    e.on(() => seen.push('second ran'));
    expect(() => e.emit(1)).toThrow('first');
    expect(seen).toEqual(['second ran']);
  });

  it('notify: isolates a throwing listener and reports it on faultline:events:listener-error', () => {
    const e = new Emitter<number>();
    const seen: number[] = [];
    const bad = (): void => {
      throw new Error('bad listener');
    };
    e.on(bad);
    e.on((n) => seen.push(n));
    const reported: unknown[] = [];
    const ch = channel('faultline:events:listener-error');
    const sub = (m: unknown) => reported.push(m);
    ch.subscribe(sub);
    try {
      expect(() => e.notify(5)).not.toThrow();
    } finally {
      ch.unsubscribe(sub);
    }
    expect(seen).toEqual([5]);
    expect(reported).toEqual([{ error: new Error('bad listener'), event: 5, listener: bad }]);
    // Nobody subscribed: still isolated, nothing published.
    expect(() => e.notify(6)).not.toThrow();
    expect(seen).toEqual([5, 6]);
    expect(reported).toHaveLength(1);
  });

  it('bounds the number of listeners', () => {
    const e = new Emitter<number>(2);
    e.on(() => undefined);
    e.on(() => undefined);
    expect(() => e.on(() => undefined)).toThrow(RangeError);
    expect(() => new Emitter(0)).toThrow(/maxListeners/);
  });

  it('disposable runs its cleanup once', () => {
    let n = 0;
    const d = disposable(() => n++);
    d.dispose();
    d[Symbol.dispose]();
    expect(n).toBe(1);
  });
});

describe('errors, asserts and validation', () => {
  it('gives faultline errors a stable code and a guard', () => {
    const e = new FaultlineError('FAULTLINE_TEST', 'boom', { cause: 'c' });
    expect(isFaultlineError(e)).toBe(true);
    expect(isFaultlineError(new Error('x'))).toBe(false);
    expect(e.code).toBe('FAULTLINE_TEST');
    expect(e.cause).toBe('c');
  });

  it('asserts', () => {
    expect(() => assert(false, 'broken')).toThrow(AssertionError);
    expect(() => assert(1)).not.toThrow();
    expect(() => assertNever('x' as never)).toThrow(/unexpected value/);
  });

  it('names the field and the value in RangeErrors', () => {
    expect(() => positive('ttlMs', 0)).toThrow('ttlMs must be a finite number > 0 (got 0)');
    expect(() => integerIn('permits', 1.5, 1, 10)).toThrow(
      'permits must be an integer in [1, 10] (got 1.5)',
    );
    expect(() => nonEmptyString('key', '')).toThrow('key must be a non-empty string (got "")');
  });
});

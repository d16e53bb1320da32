import { describe, expect, it } from 'vitest';
import { History } from '../sim/history.js';
import { check } from './checker.js';
import { casRegister } from './models.js';

describe('histories recorded by the simulator', () => {
  it('are checked as they are', () => {
    let now = 0;
    const history = new History(() => now++);
    const w = history.invoke('c1', 'write', 1);
    history.complete(w, 'ok', 1);
    const r = history.invoke('c2', 'read', null);
    history.complete(r, 'ok', null);
    const t = history.invoke('c3', 'write', 2);
    history.complete(t, 'info', undefined, 'timeout');
    expect(check(history.ops, casRegister()).kind).toBe('illegal');
    expect(check(history.ops, casRegister(), { criterion: 'sequential' }).kind).toBe('legal');
  });
});

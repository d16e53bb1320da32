import { describe, expect, it } from 'vitest';
import { Contenders } from './contenders.js';

describe('Contenders', () => {
  it('names a contender after its lease and the lowest free slot of its lock key', () => {
    const c = new Contenders();
    const a = c.claim('k', 'p/k/', 'a', '7');
    expect(a.fresh).toBe(true);
    expect(a.contender.name.toString()).toBe('p/k/7.0');
    expect(a.contender.value.toString()).toBe('a');
    expect(c.claim('k', 'p/k/', 'b', '7').contender.name.toString()).toBe('p/k/7.1');
    // Another lease or another lock key starts at slot 0 again.
    expect(c.claim('k', 'p/k/', 'c', '8').contender.name.toString()).toBe('p/k/8.0');
    expect(c.claim('j', 'p/j/', 'd', '7').contender.name.toString()).toBe('p/j/7.0');
    expect(c.size).toBe(4);
  });

  it('answers the registered contender of an owner instead of a second name', () => {
    const c = new Contenders();
    const a = c.claim('k', 'p/k/', 'a', '7').contender;
    const again = c.claim('k', 'p/k/', 'a', '7');
    expect(again.fresh).toBe(false);
    expect(again.contender).toBe(a);
    expect(c.get('k', 'a')).toBe(a);
    expect(c.get('k', 'b')).toBeUndefined();
  });

  it('frees a slot only when its contender is dropped, and reuses the lowest', () => {
    const c = new Contenders();
    const a = c.claim('k', 'p/k/', 'a', '7').contender;
    const b = c.claim('k', 'p/k/', 'b', '7').contender;
    c.drop(a);
    c.drop(a); // idempotent
    expect(c.get('k', 'a')).toBeUndefined();
    expect(c.claim('k', 'p/k/', 'x', '7').contender.slot).toBe(0);
    expect(c.claim('k', 'p/k/', 'y', '7').contender.slot).toBe(2);
    c.drop(b);
    expect(c.claim('k', 'p/k/', 'z', '7').contender.slot).toBe(1);
    expect(c.size).toBe(3);
  });

  it("keeps a retiring contender's slot taken while its owner no longer finds it", () => {
    const c = new Contenders();
    const a = c.claim('k', 'p/k/', 'a', '7').contender;
    c.retire(a);
    expect(c.get('k', 'a')).toBeUndefined();
    expect(c.size).toBe(1);
    // The same owner acquiring again gets a new name, not the one being removed.
    const again = c.claim('k', 'p/k/', 'a', '7');
    expect(again.fresh).toBe(true);
    expect(again.contender.slot).toBe(1);
    c.drop(a);
    expect(c.get('k', 'a')).toBe(again.contender);
    expect(c.claim('k', 'p/k/', 'b', '7').contender.slot).toBe(0);
    c.dropLease('7');
    expect(c.size).toBe(0);
  });

  it('drops every contender of a lease, and only those', () => {
    const c = new Contenders();
    c.claim('k', 'p/k/', 'a', '7');
    c.claim('j', 'p/j/', 'b', '7');
    const other = c.claim('k', 'p/k/', 'c', '8').contender;
    c.dropLease('7');
    expect(c.size).toBe(1);
    expect(c.get('k', 'a')).toBeUndefined();
    expect(c.get('j', 'b')).toBeUndefined();
    expect(c.get('k', 'c')).toBe(other);
  });
});

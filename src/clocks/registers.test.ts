/**
 * The seed's last-writer-wins bug, reproduced in simulation: node B's clock runs 5 s behind. B
 * writes after it has received A's write (so B's write is really later), yet LWW by wall clock
 * keeps A's write on every replica. LWW by HLC and the multi-value register keep B's write.
 */
import { describe, expect, it } from 'vitest';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import { HybridLogicalClock } from './hlc.js';
import { HlcLwwRegister, MultiValueRegister, WallClockLwwRegister } from './registers.js';

interface Replica<S> {
  set(value: string): unknown;
  get(): unknown;
  state(): S;
  merge(state: S): void;
}

/**
 * A at true time 0 writes 'from-A' and replicates it to B (latency 100 ms); at 1 s B writes
 * 'from-B' and replicates it back. Returns what each replica holds at the end.
 */
function run<S>(
  make: (node: 'A' | 'B', runtime: ReturnType<typeof createSimRuntime>) => Replica<S>,
): { a: unknown; b: unknown } {
  const scheduler = new Scheduler({ seed: 2026 });
  const a = make('A', createSimRuntime(scheduler, 'A', { offsetMs: 0 }));
  const b = make('B', createSimRuntime(scheduler, 'B', { offsetMs: -5000 }));
  const ship = <T>(to: Replica<T>, state: T): void =>
    void scheduler.after(100, () => to.merge(state));
  scheduler.at(0, () => {
    a.set('from-A');
    ship(b, a.state());
  });
  scheduler.at(1000, () => {
    expect(b.get()).toEqual(a.get()); // B has seen A's write before writing
    b.set('from-B');
    ship(a, b.state());
  });
  scheduler.runUntilIdle();
  return { a: a.get(), b: b.get() };
}

describe('replicated registers under 5 s of clock skew', () => {
  it('LWW by wall clock loses the later write (the bug)', () => {
    const out = run((node, runtime) => new WallClockLwwRegister<string>({ nodeId: node, runtime }));
    expect(out.a).toBe('from-A');
    expect(out.b).toBe('from-A'); // B's write is stamped 4 s before A's, so even B drops it
  });

  it('LWW by HLC keeps the later write', () => {
    const out = run(
      (node, runtime) =>
        new HlcLwwRegister<string>(
          new HybridLogicalClock({ nodeId: node, runtime, maxOffsetMs: 10_000 }),
        ),
    );
    expect(out).toEqual({ a: 'from-B', b: 'from-B' });
  });

  it('the multi-value register keeps the later write, and concurrent writes as siblings', () => {
    const out = run((node) => new MultiValueRegister<string>({ nodeId: node }));
    expect(out).toEqual({ a: ['from-B'], b: ['from-B'] });
    const a = new MultiValueRegister<string>({ nodeId: 'A' });
    const b = new MultiValueRegister<string>({ nodeId: 'B' });
    a.set('x');
    b.set('y'); // concurrent: neither has seen the other
    a.merge(b.state());
    b.merge(a.state());
    expect(a.get().sort()).toEqual(['x', 'y']);
    expect(b.get().sort()).toEqual(['x', 'y']);
    a.set('z'); // supersedes both siblings
    b.merge(a.state());
    expect(b.get()).toEqual(['z']);
    b.merge(b.state()); // idempotent
    expect(b.get()).toEqual(['z']);
  });

  it('bounds siblings', () => {
    const r = new MultiValueRegister<number>({ nodeId: 'r', maxSiblings: 2 });
    const others = [1, 2, 3].map((i) => {
      const o = new MultiValueRegister<number>({ nodeId: `o${i}` });
      o.set(i);
      return o.state();
    });
    r.merge([...(others[0] ?? []), ...(others[1] ?? [])]);
    expect(() => r.merge(others[2] ?? [])).toThrow(/maxSiblings/);
    expect(r.get().sort()).toEqual([1, 2]);
    expect(() => new MultiValueRegister({ nodeId: 'x', maxSiblings: 0 })).toThrow(/maxSiblings/);
  });
});

import { describe, expect, it } from 'vitest';
import { createSimRuntime } from '../sim/runtime.js';
import { Scheduler } from '../sim/scheduler.js';
import { isDeadlockError, isLockWaitTimeoutError } from './errors.js';
import { WaitForGraph } from './graph.js';
import { LockManager } from './manager.js';
import { deadlockProtocol, runDeadlockSeed } from './protocol.js';

function settle(): Promise<void> {
  return new Promise((resolve) => queueMicrotask(resolve));
}

describe('the wait-for graph', () => {
  it('finds a cycle through a node, and none in a chain', () => {
    const g = new WaitForGraph();
    g.addEdge('a', 'b');
    g.addEdge('b', 'c');
    expect(g.cycleThrough('a')).toBeUndefined();
    g.addEdge('c', 'a');
    expect(g.cycleThrough('a')).toEqual(['a', 'b', 'c']);
    expect(g.cycles()).toEqual([['a', 'b', 'c']]);
    g.clearWaits('c');
    expect(g.cycles()).toEqual([]);
  });
});

describe('the lock manager', () => {
  it('aborts the requester that closes a cycle with a DeadlockError naming it', async () => {
    const locks = new LockManager();
    await locks.acquire('t1', 'x');
    await locks.acquire('t2', 'y');
    const t1 = locks.acquire('t1', 'y');
    let error: unknown;
    await locks.acquire('t2', 'x').catch((e: unknown) => (error = e));
    expect(isDeadlockError(error)).toBe(true);
    expect(isDeadlockError(error) && error.victim).toBe('t2');
    expect(isDeadlockError(error) && error.cycle).toEqual(['t2', 't1']);
    locks.releaseAll('t2');
    await t1;
    expect(locks.holderOf('y')).toBe('t1');
    expect(locks.deadlocks).toBe(1);
  });

  it('picks the youngest transaction when asked to', async () => {
    const locks = new LockManager({ victim: 'youngest' });
    await locks.acquire('old', 'x');
    await locks.acquire('young', 'y');
    const young = locks.acquire('young', 'x').catch((e: unknown) => e);
    const old = locks.acquire('old', 'y');
    const error = await young;
    expect(isDeadlockError(error) && error.victim).toBe('young');
    locks.releaseAll('young');
    await old;
  });

  it('times out a wait with a LockWaitTimeoutError', async () => {
    const scheduler = new Scheduler({ seed: 1 });
    const runtime = createSimRuntime(scheduler, 'locks');
    const locks = new LockManager({ runtime });
    await locks.acquire('t1', 'x');
    let error: unknown;
    const waiting = locks.acquire('t2', 'x', { timeoutMs: 100 }).catch((e: unknown) => (error = e));
    scheduler.runFor(150);
    await waiting;
    expect(isLockWaitTimeoutError(error)).toBe(true);
    expect(locks.waitsFor()).toEqual([]);
  });

  it('never deadlocks with ordered acquisition, whatever order callers name the resources in', async () => {
    const locks = new LockManager();
    const a = locks.acquireOrdered('t1', ['y', 'x']);
    const b = locks.acquireOrdered('t2', ['x', 'y']);
    await a;
    await settle();
    locks.releaseAll('t1');
    await b;
    expect(locks.deadlocks).toBe(0);
  });

  it('names the field of a bad option', () => {
    expect(() => new LockManager({ victim: 'oldest' as never })).toThrow(/victim.*oldest/);
    expect(() => new LockManager({ maxWaiters: 0 })).toThrow(/maxWaiters.*0/);
  });
});

describe('faultline sim deadlock', () => {
  it(
    'edge chasing reports every deadlock and no phantom on seeds 1..1000',
    { timeout: 600_000 },
    () => {
      const failing: number[] = [];
      let deadlocks = 0;
      for (let seed = 1; seed <= 1000; seed++) {
        const r = runDeadlockSeed(seed, 'correct');
        deadlocks += r.figures['deadlocks'] ?? 0;
        if (r.violations > 0) failing.push(seed);
      }
      expect(failing).toEqual([]);
      expect(deadlocks).toBeGreaterThan(1000);
    },
  );

  it('catches the broken variants within seeds 1..10', () => {
    for (const variant of deadlockProtocol.variants.slice(1)) {
      let caught = 0;
      for (let seed = 1; seed <= 10; seed++)
        if (runDeadlockSeed(seed, variant).violations > 0) caught++;
      expect(caught, variant).toBeGreaterThan(0);
    }
  });
});

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import type { SimRuntime } from '../sim/index.js';
import { isDeadlockMonitorTimeoutError } from './errors.js';
import type { FoundDeadlock, WaitForEdge } from './global.js';
import { DeadlockMonitor } from './monitor.js';
import type { DeadlockMonitorEvent, DeadlockMonitorOptions } from './monitor.js';

/** A wait as a database holds it: from `fromMs` until `untilMs` (or until its waiter is cancelled). */
interface Wait {
  waiter: string;
  holder: string;
  source: string;
  fromMs: number;
  untilMs: number;
}

/**
 * Two simulated databases: `pg` reads its waits as they are now; `maria` reads a snapshot taken at
 * the last multiple of 100 ms, as InnoDB's lock tables are refreshed at most every 100 ms.
 */
function world(runtime: SimRuntime, waits: Wait[]) {
  const edgesAt = (source: string, t: number): WaitForEdge[] =>
    waits
      .filter((w) => w.source === source && w.fromMs <= t && t < w.untilMs)
      .map((w, i) => ({ ...w, waiterSession: i + 1, holderSession: i + 100 }));
  const pg = async (): Promise<WaitForEdge[]> => {
    await runtime.timers.sleep(3);
    return edgesAt('pg', runtime.clock.monotonicMs());
  };
  const maria = async (): Promise<WaitForEdge[]> => {
    await runtime.timers.sleep(5);
    return edgesAt('maria', Math.floor(runtime.clock.monotonicMs() / 100) * 100);
  };
  const cancelled: FoundDeadlock[] = [];
  /** Cancelling the victim rolls it back: its waits end, and so do the waits for its locks. */
  const cancel = async (d: FoundDeadlock): Promise<void> => {
    await runtime.timers.sleep(2);
    cancelled.push(d);
    const now = runtime.clock.monotonicMs();
    for (const w of waits)
      if ((w.waiter === d.victim || w.holder === d.victim) && w.untilMs > now) w.untilMs = now;
  };
  return { pg, maria, cancel, cancelled };
}

function setup() {
  const scheduler = new Scheduler({ seed: 3 });
  const runtime = createSimRuntime(scheduler, 'monitor');
  const events: DeadlockMonitorEvent[] = [];
  const start = (options: Omit<DeadlockMonitorOptions, 'runtime'>) => {
    const monitor = new DeadlockMonitor({ ...options, runtime });
    monitor.onEvent((e) => events.push(e));
    return monitor;
  };
  return { scheduler, runtime, events, start };
}

const forever = Number.POSITIVE_INFINITY;

describe('DeadlockMonitor', () => {
  // T1's MariaDB wait for T2 ended at 50 ms, but the 100 ms snapshot still shows it until 100 ms;
  // T2's PostgreSQL wait for T1 began at 40 ms. The union holds a cycle from 40 to 100 ms that
  // never existed.
  const staleCycle = (): Wait[] => [
    { waiter: 'T1', holder: 'T2', source: 'maria', fromMs: 0, untilMs: 50 },
    { waiter: 'T2', holder: 'T1', source: 'pg', fromMs: 40, untilMs: forever },
  ];

  it('does not act on a cycle made of a stale reading', async () => {
    const { scheduler, runtime, events, start } = setup();
    const w = world(runtime, staleCycle());
    const monitor = start({ sources: [w.pg, w.maria], cancel: w.cancel, intervalMs: 40 });
    await scheduler.run({ untilMs: 2_000 });
    expect(events.filter((e) => e.kind === 'suspected').map((e) => e.cycle)).toEqual([
      ['T2', 'T1'],
    ]);
    expect(w.cancelled).toEqual([]);
    expect(monitor.broken).toBe(0);
    expect(monitor.suspected).toBe(0);
    expect(monitor.readings).toBeGreaterThan(20);
    await monitor.close();
    expect(scheduler.peekTimeMs()).toBeUndefined();
  });

  it('would abort an innocent transaction on that stale cycle without confirmation', async () => {
    const { scheduler, runtime, start } = setup();
    const w = world(runtime, staleCycle());
    const monitor = start({
      sources: [w.pg, w.maria],
      cancel: w.cancel,
      intervalMs: 40,
      confirmMs: 0,
    });
    await scheduler.run({ untilMs: 2_000 });
    expect(w.cancelled.map((d) => d.victim)).toEqual(['T2']);
    await monitor.close();
  });

  it('breaks a real cycle once, after two readings at least confirmMs apart', async () => {
    const { scheduler, runtime, events, start } = setup();
    const w = world(runtime, [
      { waiter: 'T1', holder: 'T2', source: 'maria', fromMs: 10, untilMs: forever },
      { waiter: 'T2', holder: 'T1', source: 'pg', fromMs: 20, untilMs: forever },
      { waiter: 'T3', holder: 'T1', source: 'pg', fromMs: 0, untilMs: forever },
    ]);
    const monitor = start({
      sources: [w.pg, w.maria],
      cancel: w.cancel,
      intervalMs: 50,
      confirmMs: 150,
    });
    await scheduler.run({ untilMs: 3_000 });
    expect(w.cancelled.map((d) => [d.victim, d.cycle, d.victimWaits.map((e) => e.source)])).toEqual(
      [['T2', ['T2', 'T1'], ['pg']]],
    );
    const broken = events.filter((e) => e.kind === 'broken');
    expect(broken).toHaveLength(1);
    const first = events.find((e) => e.kind === 'suspected');
    expect(first?.kind === 'suspected' && first.atMs).toBeGreaterThanOrEqual(100);
    expect(broken[0]?.kind === 'broken' && broken[0].seenMs).toBeGreaterThanOrEqual(150);
    expect(monitor.broken).toBe(1);
    await monitor.close();
    expect(scheduler.peekTimeMs()).toBeUndefined();
  });

  it('reports a source that throws or hangs, and still breaks a cycle the others show', async () => {
    const { scheduler, runtime, events, start } = setup();
    const w = world(runtime, [
      { waiter: 'A', holder: 'B', source: 'pg', fromMs: 0, untilMs: forever },
      { waiter: 'B', holder: 'A', source: 'pg', fromMs: 0, untilMs: forever },
    ]);
    let calls = 0;
    const flaky = async (signal: AbortSignal): Promise<WaitForEdge[]> => {
      calls++;
      if (calls % 2 === 1) throw new Error('connection reset');
      await runtime.timers.sleep(60_000, signal);
      return [];
    };
    const monitor = start({
      sources: [flaky, w.pg],
      cancel: w.cancel,
      intervalMs: 100,
      confirmMs: 100,
      callTimeoutMs: 500,
    });
    await scheduler.run({ untilMs: 5_000 });
    const failures = events.filter((e) => e.kind === 'source-failed');
    expect(failures.length).toBeGreaterThanOrEqual(4);
    expect(failures.every((e) => e.kind === 'source-failed' && e.source === 0)).toBe(true);
    const errors = failures.map((e) => (e.kind === 'source-failed' ? e.error : undefined));
    expect(errors.some((e) => e instanceof Error && e.message === 'connection reset')).toBe(true);
    expect(errors.some(isDeadlockMonitorTimeoutError)).toBe(true);
    expect(w.cancelled.map((d) => d.victim)).toEqual(['B']);
    await monitor.close();
    expect(scheduler.peekTimeMs()).toBeUndefined();
  });

  it('reports a failing cancel and retries once the cycle is confirmed again', async () => {
    const { scheduler, runtime, events, start } = setup();
    const w = world(runtime, [
      { waiter: 'A', holder: 'B', source: 'pg', fromMs: 0, untilMs: forever },
      { waiter: 'B', holder: 'A', source: 'pg', fromMs: 0, untilMs: forever },
    ]);
    let attempts = 0;
    const cancel = async (d: FoundDeadlock): Promise<void> => {
      if (++attempts === 1) throw new Error('cancel refused');
      await w.cancel(d);
    };
    const monitor = start({ sources: [w.pg], cancel, intervalMs: 100, confirmMs: 100 });
    await scheduler.run({ untilMs: 2_000 });
    expect(events.filter((e) => e.kind === 'cancel-failed')).toHaveLength(1);
    expect(w.cancelled).toHaveLength(1);
    expect(attempts).toBe(2);
    await monitor.close();
  });

  it('publishes on faultline:deadlock:monitor and stops a reading in progress on close', async () => {
    const { scheduler, runtime, start } = setup();
    const seen: unknown[] = [];
    const listener = (m: unknown): void => void seen.push(m);
    subscribe('faultline:deadlock:monitor', listener);
    try {
      const hang = (signal: AbortSignal): Promise<WaitForEdge[]> =>
        runtime.timers.sleep(60_000, signal).then(() => [
          { waiter: 'A', holder: 'B', source: 'x', waiterSession: 1, holderSession: 2 },
          { waiter: 'B', holder: 'A', source: 'x', waiterSession: 2, holderSession: 1 },
        ]);
      const cycle = async (): Promise<WaitForEdge[]> => [
        { waiter: 'C', holder: 'D', source: 'y', waiterSession: 1, holderSession: 2 },
        { waiter: 'D', holder: 'C', source: 'y', waiterSession: 2, holderSession: 1 },
      ];
      const first = start({
        sources: [cycle],
        cancel: async () => undefined,
        intervalMs: 10,
        confirmMs: 20,
      });
      await scheduler.run({ untilMs: 100 });
      await first.close();
      expect(seen.some((m) => (m as DeadlockMonitorEvent).kind === 'broken')).toBe(true);
      const monitor = start({ sources: [hang], cancel: async () => undefined, callTimeoutMs: 1e6 });
      await scheduler.run({ untilMs: scheduler.nowMs + 100 });
      await monitor.close();
      expect(monitor.readings).toBe(0);
      expect(scheduler.peekTimeMs()).toBeUndefined();
    } finally {
      unsubscribe('faultline:deadlock:monitor', listener);
    }
  });

  it('reports a hostile edge and a throwing victimOf without stopping', async () => {
    const { scheduler, runtime, events, start } = setup();
    const w = world(runtime, [
      { waiter: 'A', holder: 'B', source: 'pg', fromMs: 0, untilMs: forever },
      { waiter: 'B', holder: 'A', source: 'pg', fromMs: 0, untilMs: forever },
    ]);
    const hostile = async (): Promise<WaitForEdge[]> => [
      { waiter: '', holder: 'B', source: 'x', waiterSession: 1, holderSession: 2 },
    ];
    let throwing = 2;
    const monitor = start({
      sources: [hostile, w.pg],
      cancel: w.cancel,
      intervalMs: 100,
      confirmMs: 100,
      victimOf: (cycle) => {
        if (throwing-- > 0) throw new Error('no victim');
        return cycle[0] as string;
      },
    });
    await scheduler.run({ untilMs: 2_000 });
    const failures = events.filter((e) => e.kind === 'source-failed');
    expect(failures.length).toBeGreaterThan(5);
    expect(String(failures[0]?.kind === 'source-failed' && failures[0].error)).toMatch(
      /sources\[0\] edge.waiter must be a non-empty string \(got ""\)/,
    );
    expect(events.filter((e) => e.kind === 'reading-failed')).toHaveLength(2);
    expect(w.cancelled.map((d) => d.victim)).toEqual(['A']);
    await monitor.close();
    expect(scheduler.peekTimeMs()).toBeUndefined();
  });

  it('refuses bad options with a RangeError naming the field and value', () => {
    const source = async (): Promise<WaitForEdge[]> => [];
    const cancel = async (): Promise<void> => undefined;
    const bad: [Partial<DeadlockMonitorOptions>, RegExp][] = [
      [{ sources: [] }, /sources must be 1 to 64 functions \(got 0\)/],
      [{ sources: [source, 'x' as never] }, /sources\[1\] must be a function \(got "x"\)/],
      [{ cancel: undefined as never }, /cancel must be a function/],
      [{ intervalMs: 0 }, /intervalMs must be an integer in \[1, 2147483647\] \(got 0\)/],
      [{ confirmMs: -1 }, /confirmMs must be .* \(got -1\)/],
      [{ confirmMs: Number.NaN }, /confirmMs must be .* \(got NaN\)/],
      [{ callTimeoutMs: 1.5 }, /callTimeoutMs must be .* \(got 1.5\)/],
      [{ maxEdges: 0 }, /maxEdges must be .* \(got 0\)/],
      [{ victimOf: 3 as never }, /victimOf must be a function \(got 3\)/],
    ];
    for (const [options, message] of bad) {
      const make = () => new DeadlockMonitor({ sources: [source], cancel, ...options });
      expect(make).toThrow(RangeError);
      expect(make).toThrow(message);
    }
    expect(() => new DeadlockMonitor(undefined as never)).toThrow(RangeError);
  });
});

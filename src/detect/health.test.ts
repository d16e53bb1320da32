import { describe, expect, it } from 'vitest';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import type { HealthReport } from './health.js';
import { HealthRegistry } from './health.js';

function setup(checkTimeoutMs = 1000) {
  const scheduler = new Scheduler({ seed: 4 });
  const runtime = createSimRuntime(scheduler, 'svc');
  return { scheduler, runtime, health: new HealthRegistry({ runtime, checkTimeoutMs }) };
}

async function evaluate(
  scheduler: Scheduler,
  promise: Promise<HealthReport>,
): Promise<HealthReport> {
  let report: HealthReport | undefined;
  void promise.then((r) => (report = r));
  await scheduler.run({ until: () => report !== undefined, maxEvents: 1000 });
  if (report === undefined) throw new Error('report not produced');
  return report;
}

describe('HealthRegistry', () => {
  it('reports up when every check passes, with durations from the runtime clock', async () => {
    const { scheduler, runtime, health } = setup();
    health.addLiveness('loop', () => true);
    health.addReadiness('db', async () => {
      await runtime.timers.sleep(30);
      return { status: 'up', detail: 'pool ok' };
    });
    const live = await evaluate(scheduler, health.live());
    expect(live).toEqual({ status: 'up', checks: { loop: { status: 'up', durationMs: 0 } } });
    const ready = await evaluate(scheduler, health.ready());
    expect(ready.status).toBe('up');
    expect(ready.checks['db']).toEqual({ status: 'up', durationMs: 30, detail: 'pool ok' });
    expect(ready.checks['loop']?.status).toBe('up');
  });

  it('counts a throw, a rejection, false and a timeout as down, and aborts the timed-out check', async () => {
    const { scheduler, runtime, health } = setup(100);
    let aborted = false;
    health.addReadiness('throws', () => {
      throw new Error('boom');
    });
    health.addReadiness('rejects', () => Promise.reject(new Error('nope')));
    health.addReadiness('false', () => false);
    health.addReadiness('hangs', (signal) => {
      signal.addEventListener('abort', () => (aborted = true));
      return new Promise<boolean>(() => undefined);
    });
    health.addReadiness('slow', () => runtime.timers.sleep(500).then(() => true), {
      timeoutMs: 1000,
    });
    const report = await evaluate(scheduler, health.ready());
    expect(report.status).toBe('down');
    expect(report.checks['throws']).toMatchObject({ status: 'down', detail: 'boom' });
    expect(report.checks['rejects']).toMatchObject({ status: 'down', detail: 'nope' });
    expect(report.checks['false']?.status).toBe('down');
    expect(report.checks['hangs']).toEqual({
      status: 'down',
      durationMs: 100,
      detail: 'timed out after 100 ms',
    });
    expect(report.checks['slow']).toEqual({ status: 'up', durationMs: 500 });
    expect(aborted).toBe(true);
    expect(runtime.timers.pending).toBe(0);
  });

  it('derives readiness from dependencies and draining, not liveness', async () => {
    const { scheduler, health } = setup();
    let breakerOpen = false;
    health.addLiveness('loop', () => true);
    health.addDependency('payments', { isReady: () => !breakerOpen });
    const sub = health.addDependency('cache', () => true);
    expect((await evaluate(scheduler, health.ready())).status).toBe('up');
    breakerOpen = true;
    const down = await evaluate(scheduler, health.ready());
    expect(down.status).toBe('down');
    expect(down.checks['payments']).toEqual({
      status: 'down',
      durationMs: 0,
      detail: 'dependency',
    });
    expect((await evaluate(scheduler, health.live())).status).toBe('up');
    breakerOpen = false;
    health.drain();
    const draining = await evaluate(scheduler, health.ready());
    expect(draining.status).toBe('down');
    expect(draining.checks['draining']?.status).toBe('down');
    sub.dispose();
    expect(Object.keys((await evaluate(scheduler, health.ready())).checks)).not.toContain('cache');
  });

  it('validates names, bounds and options', () => {
    const { runtime } = setup();
    const health = new HealthRegistry({ runtime, maxChecks: 1 });
    health.addLiveness('a', () => true);
    expect(() => health.addLiveness('a', () => true)).toThrow(/name/);
    expect(() => health.addReadiness('b', () => true)).toThrow(/maxChecks/);
    expect(() => new HealthRegistry({ checkTimeoutMs: 0 })).toThrow(/checkTimeoutMs/);
    expect(() => new HealthRegistry({ runtime }).addLiveness('', () => true)).toThrow(/name/);
    expect(() =>
      new HealthRegistry({ runtime }).addLiveness('x', () => true, { timeoutMs: -5 }),
    ).toThrow(/timeoutMs/);
    const open = new HealthRegistry({ runtime });
    expect(() => open.addDependency('d', {} as { isReady(): boolean })).toThrow(/source/);
    expect(() => open.addDependency('d', null as unknown as () => boolean)).toThrow(/source/);
  });
});

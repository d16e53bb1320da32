import { describe, expect, it } from 'vitest';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import { IntervalClock } from './interval.js';

const EPOCH = 1_700_000_000_000;

function setup(epsilonMs = 7) {
  const scheduler = new Scheduler({ seed: 5 });
  const runtime = createSimRuntime(scheduler, 'tt', { epochMs: EPOCH });
  return { scheduler, runtime, tt: new IntervalClock({ epsilonMs, runtime }) };
}

/** Runs the simulation until `promise` settles; returns its outcome. */
async function settle<T>(
  scheduler: Scheduler,
  promise: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  promise.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  );
  await scheduler.run({ until: () => outcome !== undefined, maxEvents: 10_000 });
  if (outcome === undefined) throw new Error('promise did not settle');
  return outcome;
}

describe('IntervalClock', () => {
  it('brackets wall time by epsilon and answers after/before', () => {
    const { tt } = setup(7);
    expect(tt.now()).toEqual({ earliestMs: EPOCH - 7, latestMs: EPOCH + 7 });
    expect(tt.after(EPOCH - 8)).toBe(true);
    expect(tt.after(EPOCH - 7)).toBe(false);
    expect(tt.before(EPOCH + 8)).toBe(true);
    expect(tt.before(EPOCH + 7)).toBe(false);
    expect(() => new IntervalClock({ epsilonMs: -1 })).toThrow(/epsilonMs/);
  });

  it('commitWait sleeps on runtime timers until the timestamp has definitely passed', async () => {
    const { scheduler, runtime, tt } = setup(7);
    const commitTs = tt.now().latestMs;
    expect(tt.after(commitTs)).toBe(false);
    const outcome = await settle(scheduler, tt.commitWait(commitTs));
    expect(outcome.ok).toBe(true);
    expect(tt.after(commitTs)).toBe(true);
    // Waiting takes about 2 epsilon of virtual time (it overshoots by at most 1 ms).
    expect(scheduler.nowMs).toBeGreaterThan(14);
    expect(scheduler.nowMs).toBeLessThanOrEqual(16);
    expect(runtime.timers.pending).toBe(0);
  });

  it('keeps waiting when the wall clock steps backwards meanwhile', async () => {
    const { scheduler, runtime, tt } = setup(5);
    const commitTs = tt.now().latestMs;
    scheduler.after(3, () => runtime.clock.stepWallMs(-100));
    const outcome = await settle(scheduler, tt.commitWait(commitTs));
    expect(outcome.ok).toBe(true);
    expect(tt.after(commitTs)).toBe(true);
    expect(scheduler.nowMs).toBeGreaterThan(110);
  });

  it('commitWait rejects with the abort reason and leaves no timer behind', async () => {
    const { scheduler, runtime, tt } = setup(50);
    const controller = new AbortController();
    scheduler.after(10, () => controller.abort(new Error('cancelled')));
    const outcome = await settle(scheduler, tt.commitWait(tt.now().latestMs, controller.signal));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect((outcome.error as Error).message).toBe('cancelled');
    expect(runtime.timers.pending).toBe(0);
    await expect(tt.commitWait(0, controller.signal)).rejects.toThrow('cancelled');
    await expect(tt.commitWait(Number.NaN)).rejects.toThrow(/tsMs/);
  });
});

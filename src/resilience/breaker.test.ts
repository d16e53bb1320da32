import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSimRuntime, Scheduler } from '../sim/index.js';
import { CircuitBreaker } from './breaker.js';
import type { BreakerSnapshot, BreakerState, CircuitBreakerOptions } from './breaker.js';
import { isBrokenCircuitError } from './errors.js';

function setup(options: Omit<CircuitBreakerOptions, 'runtime'> = {}) {
  const scheduler = new Scheduler({ seed: 1 });
  const runtime = createSimRuntime(scheduler, 'breaker');
  const breaker = new CircuitBreaker({ ...options, runtime });
  const transitions: string[] = [];
  breaker.onStateChange(({ from, to }) => transitions.push(`${from}->${to}`));
  const ok = (): Promise<string> => breaker.execute(async () => 'ok');
  const fail = (): Promise<unknown> =>
    breaker.execute(async () => Promise.reject(new Error('boom'))).catch((e: unknown) => e);
  return { scheduler, runtime, breaker, transitions, ok, fail };
}

async function rejected(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('CircuitBreaker: consecutive policy', () => {
  it('opens after threshold consecutive failures; a success resets the count', async () => {
    const { breaker, ok, fail, transitions } = setup({
      policy: { kind: 'consecutive', threshold: 3 },
    });
    await fail();
    await fail();
    await ok();
    await fail();
    await fail();
    expect(breaker.state).toBe('closed');
    await fail();
    expect(breaker.state).toBe('open');
    expect(transitions).toEqual(['closed->open']);
    const e = await rejected(ok());
    expect(isBrokenCircuitError(e)).toBe(true);
    expect(breaker.isReady()).toBe(false);
  });

  it('counts synchronous throws and ignores errors isFailure rejects', async () => {
    const { breaker } = setup({
      policy: { kind: 'consecutive', threshold: 2 },
      isFailure: (e) => (e as Error).message !== 'ignored',
    });
    for (let i = 0; i < 5; i++)
      await rejected(breaker.execute(() => Promise.reject(new Error('ignored'))));
    expect(breaker.state).toBe('closed');
    for (let i = 0; i < 2; i++) {
      await rejected(
        breaker.execute(() => {
          throw new Error('sync');
        }),
      );
    }
    expect(breaker.state).toBe('open');
  });

  it('goes half-open after halfOpenAfterMs and closes on a successful trial', async () => {
    const { breaker, scheduler, ok, fail, transitions } = setup({
      policy: { kind: 'consecutive', threshold: 1 },
      halfOpenAfterMs: 1000,
    });
    await fail();
    scheduler.runFor(999);
    expect(breaker.state).toBe('open');
    scheduler.runFor(1);
    expect(breaker.state).toBe('half-open');
    expect(breaker.isReady()).toBe(true);
    expect(await ok()).toBe('ok');
    expect(breaker.state).toBe('closed');
    expect(transitions).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
  });

  it('reopens on a failed trial', async () => {
    const { breaker, scheduler, fail } = setup({
      policy: { kind: 'consecutive', threshold: 1 },
      halfOpenAfterMs: 1000,
    });
    await fail();
    scheduler.runFor(1000);
    await fail();
    expect(breaker.state).toBe('open');
    scheduler.runFor(999);
    expect(breaker.state).toBe('open');
  });
});

describe('CircuitBreaker: count window', () => {
  it('waits for minThroughput, then trips on the failure ratio of the last N calls', async () => {
    const { breaker, ok, fail } = setup({
      policy: { kind: 'count', size: 10, minThroughput: 4, failureRatio: 0.5 },
    });
    await fail();
    await fail();
    await fail();
    expect(breaker.state).toBe('closed'); // 3 calls < minThroughput
    await ok();
    expect(breaker.state).toBe('closed'); // a success never trips
    await fail(); // 4 failures / 5 calls
    expect(breaker.state).toBe('open');
  });

  it('trips exactly at a ratio that floating-point multiplication would miss (7 of 10 at 0.7)', async () => {
    const { breaker, ok, fail } = setup({
      policy: { kind: 'count', size: 10, minThroughput: 10, failureRatio: 0.7 },
    });
    for (let i = 0; i < 3; i++) await ok();
    for (let i = 0; i < 6; i++) await fail();
    expect(breaker.state).toBe('closed');
    await fail();
    expect(breaker.state).toBe('open');
  });

  it('forgets outcomes older than the last N calls', async () => {
    const { breaker, ok, fail } = setup({
      policy: { kind: 'count', size: 4, minThroughput: 4, failureRatio: 0.75 },
    });
    await fail();
    await fail();
    await ok();
    await ok();
    await ok(); // the window is [f, ok, ok, ok]
    await fail(); // [ok, ok, ok, f]: 1/4
    expect(breaker.state).toBe('closed');
    await fail();
    await fail(); // [ok, f, f, f]: 3/4
    expect(breaker.state).toBe('open');
  });

  it('matches a reference model on random outcome sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { maxLength: 60 }), async (outcomes) => {
        const { breaker, ok, fail } = setup({
          policy: { kind: 'count', size: 8, minThroughput: 5, failureRatio: 0.6 },
        });
        const window: boolean[] = [];
        let expectedOpen = false;
        for (const failure of outcomes) {
          if (expectedOpen) break;
          await (failure ? fail() : ok());
          window.push(failure);
          if (window.length > 8) window.shift();
          const failures = window.filter(Boolean).length;
          expectedOpen = failure && window.length >= 5 && failures / window.length >= 0.6;
          expect(breaker.state).toBe(expectedOpen ? 'open' : 'closed');
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('CircuitBreaker: time window', () => {
  it('trips on the ratio of calls in the rolling window, and old buckets expire', async () => {
    const { breaker, scheduler, ok, fail } = setup({
      policy: { kind: 'time', windowMs: 1000, buckets: 10, minThroughput: 4, failureRatio: 0.5 },
    });
    await fail();
    await fail();
    await fail();
    scheduler.runFor(1000); // the three failures leave the window
    await ok();
    await ok();
    await ok();
    await fail(); // 1/4 in the window
    expect(breaker.state).toBe('closed');
    scheduler.runFor(500);
    await fail(); // 2/5
    expect(breaker.state).toBe('closed');
    await fail(); // 3/6
    expect(breaker.state).toBe('open');
  });
});

describe('CircuitBreaker: slow calls', () => {
  it('counts successes slower than slowCallMs as failures', async () => {
    const { breaker, scheduler, runtime } = setup({
      policy: { kind: 'consecutive', threshold: 2 },
      slowCallMs: 100,
    });
    const failures: string[] = [];
    breaker.onFailure((e) => failures.push(e.kind));
    const slow = (): Promise<string> =>
      breaker.execute(() => runtime.timers.sleep(150).then(() => 'late'));
    const p1 = slow();
    await scheduler.run({ untilMs: 200 });
    expect(await p1).toBe('late'); // the caller still gets the value
    expect(breaker.state).toBe('closed');
    const p2 = slow();
    await scheduler.run({ untilMs: 400 });
    await p2;
    expect(breaker.state).toBe('open');
    expect(failures).toEqual(['slow', 'slow']);
  });
});

describe('CircuitBreaker: half-open', () => {
  it('admits exactly halfOpenTrials trials and rejects the rest', async () => {
    const { breaker, scheduler, runtime } = setup({
      policy: { kind: 'consecutive', threshold: 1 },
      halfOpenAfterMs: 100,
      halfOpenTrials: 2,
    });
    await rejected(breaker.execute(() => Promise.reject(new Error('x'))));
    scheduler.runFor(100);
    const trial = (): Promise<string> =>
      breaker.execute(() => runtime.timers.sleep(10).then(() => 'ok'));
    const rejects: string[] = [];
    breaker.onReject(({ state }) => rejects.push(state));
    const t1 = trial();
    const t2 = trial();
    const e = await rejected(trial());
    expect(isBrokenCircuitError(e) && e.state).toBe('half-open');
    expect(rejects).toEqual(['half-open']);
    expect(breaker.isReady()).toBe(false);
    await scheduler.run({ untilMs: 200 });
    await Promise.all([t1, t2]);
    expect(breaker.state).toBe('closed');
  });

  it('closes when the success ratio of the trials is reached, reopens when it cannot be', async () => {
    const run = async (results: boolean[]): Promise<BreakerState> => {
      const { breaker, scheduler } = setup({
        policy: { kind: 'consecutive', threshold: 1 },
        halfOpenAfterMs: 100,
        halfOpenTrials: 4,
        halfOpenSuccessRatio: 0.5,
      });
      await rejected(breaker.execute(() => Promise.reject(new Error('x'))));
      scheduler.runFor(100);
      for (const success of results) {
        await rejected(
          breaker.execute(() => (success ? Promise.resolve(1) : Promise.reject(new Error('t')))),
        );
        if (breaker.state !== 'half-open') break;
      }
      return breaker.state;
    };
    expect(await run([true, false, true])).toBe('closed'); // 2 of 4 successes reach 0.5
    expect(await run([false, false, false])).toBe('open'); // 3 failures: at most 1 of 4 can succeed
    expect(await run([false, true, false])).toBe('half-open'); // undecided: one trial left
    expect(await run([false, true, false, true])).toBe('closed');
  });

  it('reopens when half-open lasts longer than maxHalfOpenMs; late trial results are ignored', async () => {
    const { breaker, scheduler, runtime, transitions } = setup({
      policy: { kind: 'consecutive', threshold: 1 },
      halfOpenAfterMs: 100,
      maxHalfOpenMs: 50,
    });
    await rejected(breaker.execute(() => Promise.reject(new Error('x'))));
    scheduler.runFor(100);
    const hanging = breaker.execute(() => runtime.timers.sleep(1000).then(() => 'late'));
    scheduler.runFor(50);
    expect(breaker.state).toBe('open');
    scheduler.runFor(99);
    expect(breaker.state).toBe('open');
    scheduler.runFor(1);
    expect(breaker.state).toBe('half-open'); // reopened at 150, so trials again at 250
    await scheduler.run({ untilMs: 1200 });
    expect(await hanging).toBe('late');
    // The stale trial did not close it: the period that began at 250 timed out at 300, and the
    // breaker is due for fresh trials again.
    expect(breaker.state).toBe('half-open');
    expect(transitions).not.toContain('half-open->closed');
    expect(transitions.slice(0, 4)).toEqual([
      'closed->open',
      'open->half-open',
      'half-open->open',
      'open->half-open',
    ]);
  });
});

describe('CircuitBreaker: export and restore', () => {
  const policies = [
    { kind: 'consecutive', threshold: 5 },
    { kind: 'count', size: 6, minThroughput: 3, failureRatio: 0.9 },
    { kind: 'time', windowMs: 1000, buckets: 4, minThroughput: 100, failureRatio: 0.9 },
  ] as const;

  for (const policy of policies) {
    it(`round-trips through JSON (${policy.kind})`, async () => {
      const a = setup({ policy });
      await a.fail();
      await a.ok();
      await a.fail();
      await a.fail();
      const snapshot = JSON.parse(JSON.stringify(a.breaker.exportState())) as BreakerSnapshot;
      const b = setup({ policy, initialState: snapshot });
      expect(b.breaker.exportState()).toEqual(snapshot);
      expect(b.breaker.state).toBe(a.breaker.state);
    });
  }

  it('keeps the remaining open time', async () => {
    const a = setup({ policy: { kind: 'consecutive', threshold: 1 }, halfOpenAfterMs: 1000 });
    await a.fail();
    a.scheduler.runFor(300);
    const snapshot = a.breaker.exportState();
    expect(snapshot.state).toEqual({ kind: 'open', halfOpenInMs: 700 });
    const b = setup({
      policy: { kind: 'consecutive', threshold: 1 },
      halfOpenAfterMs: 1000,
      initialState: snapshot,
    });
    expect(b.breaker.state).toBe('open');
    b.scheduler.runFor(699);
    expect(b.breaker.state).toBe('open');
    b.scheduler.runFor(1);
    expect(b.breaker.state).toBe('half-open');
  });

  it('rejects a snapshot of another policy or version', () => {
    const snapshot = setup({ policy: { kind: 'consecutive' } }).breaker.exportState();
    expect(() => setup({ policy: { kind: 'count' }, initialState: snapshot })).toThrow(
      /snapshot.window.kind/,
    );
    expect(() => setup({ initialState: { ...snapshot, version: 2 as 1 } })).toThrow(
      /snapshot.version/,
    );
  });
});

describe('CircuitBreaker: events and options', () => {
  it('emits onSuccess and onFailure with durations, and disposes listeners', async () => {
    const { breaker, scheduler, runtime } = setup();
    const seen: string[] = [];
    const s1 = breaker.onSuccess(({ durationMs }) => seen.push(`ok ${durationMs}`));
    const s2 = breaker.onFailure((e) => seen.push(`${e.kind} ${e.durationMs}`));
    const p = breaker.execute(() => runtime.timers.sleep(25).then(() => 1));
    await scheduler.run({ untilMs: 30 });
    await p;
    await rejected(breaker.execute(() => Promise.reject(new Error('x'))));
    s1.dispose();
    s2.dispose();
    await breaker.execute(async () => 1);
    expect(seen).toEqual(['ok 25', 'error 0']);
  });

  it('validates options', () => {
    expect(() => new CircuitBreaker({ halfOpenAfterMs: 0 })).toThrow(/halfOpenAfterMs/);
    expect(() => new CircuitBreaker({ halfOpenTrials: 0 })).toThrow(/halfOpenTrials/);
    expect(() => new CircuitBreaker({ halfOpenSuccessRatio: 0 })).toThrow(/halfOpenSuccessRatio/);
    expect(() => new CircuitBreaker({ maxHalfOpenMs: -1 })).toThrow(/maxHalfOpenMs/);
    expect(() => new CircuitBreaker({ slowCallMs: 0 })).toThrow(/slowCallMs/);
    expect(() => new CircuitBreaker({ policy: { kind: 'consecutive', threshold: 0 } })).toThrow(
      /policy.threshold/,
    );
    expect(
      () => new CircuitBreaker({ policy: { kind: 'count', size: 5, minThroughput: 6 } }),
    ).toThrow(/policy.minThroughput/);
    expect(() => new CircuitBreaker({ policy: { kind: 'time', failureRatio: 0 } })).toThrow(
      /policy.failureRatio/,
    );
    expect(() => new CircuitBreaker({ policy: { kind: 'nope' } as never })).toThrow(/policy.kind/);
  });
});

import { describe, expect, it } from 'vitest';
import { createSimRuntime, Scheduler } from '../sim/index.js';
import { RetryBudget } from './budget.js';

describe('RetryBudget', () => {
  it('allows retries in proportion to successes plus a reserve', () => {
    const scheduler = new Scheduler({ seed: 1 });
    const runtime = createSimRuntime(scheduler, 'budget');
    const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 2, runtime });
    expect(budget.available).toBe(2); // the reserve starts full
    for (let i = 0; i < 4; i++) budget.deposit();
    expect(budget.available).toBe(4);
    let granted = 0;
    while (budget.tryWithdraw()) granted++;
    expect(granted).toBe(4);
    expect(budget.tryWithdraw()).toBe(false);
    scheduler.runFor(500); // the reserve refills at 2 per second
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
  });

  it('caps deposits at maxTokens', () => {
    const runtime = createSimRuntime(new Scheduler({ seed: 1 }), 'budget');
    const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, maxTokens: 3, runtime });
    for (let i = 0; i < 100; i++) budget.deposit();
    expect(budget.available).toBe(3);
  });

  it('validates options', () => {
    expect(() => new RetryBudget({ ratio: -1 })).toThrow(/ratio/);
    expect(() => new RetryBudget({ minPerSecond: -1 })).toThrow(/minPerSecond/);
    expect(() => new RetryBudget({ maxTokens: 0 })).toThrow(/maxTokens/);
  });
});

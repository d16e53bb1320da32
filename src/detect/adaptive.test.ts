import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../core/random.js';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import { AdaptiveTimeout, AdaptiveTimeoutDetector } from './adaptive.js';

describe('AdaptiveTimeout', () => {
  it('uses the cold-start default until minSamples, then P99 × multiplier', () => {
    const t = new AdaptiveTimeout({
      coldStartMs: 500,
      minSamples: 100,
      multiplier: 2,
      floorMs: 1,
      ceilingMs: 10_000,
    });
    for (let i = 1; i <= 99; i++) t.record(i);
    expect(t.timeoutMs()).toBe(500);
    t.record(100);
    expect(t.count).toBe(100);
    expect(t.timeoutMs()).toBe(99 * 2); // nearest-rank P99 of 1..100 is 99
  });

  it('clamps between floor and ceiling', () => {
    const low = new AdaptiveTimeout({ minSamples: 1, floorMs: 50, ceilingMs: 1000 });
    low.record(1);
    expect(low.timeoutMs()).toBe(50);
    const high = new AdaptiveTimeout({ minSamples: 1, floorMs: 50, ceilingMs: 1000 });
    high.record(5000);
    expect(high.timeoutMs()).toBe(1000);
  });

  it('follows a latency shift within one window, and timeouts push it up', () => {
    const random = new SeededRandom(3);
    const t = new AdaptiveTimeout({
      windowSize: 200,
      minSamples: 20,
      multiplier: 1.5,
      ceilingMs: 60_000,
    });
    for (let i = 0; i < 200; i++) t.record(10 + random.exponential(5));
    const fast = t.timeoutMs();
    expect(fast).toBeLessThan(100);
    for (let i = 0; i < 200; i++) t.record(200 + random.exponential(50));
    expect(t.timeoutMs()).toBeGreaterThan(300);
    const before = t.timeoutMs();
    // A timeout is recorded as a sample of the current timeout (1.5 × P99, above every P99-rank
    // sample), so five of them lift the P99 itself: the next timeout is strictly longer.
    for (let i = 0; i < 5; i++) t.recordTimeout();
    expect(t.timeoutMs()).toBeGreaterThan(before);
  });

  it('validates options', () => {
    expect(() => new AdaptiveTimeout({ quantile: 0 })).toThrow(/quantile/);
    expect(() => new AdaptiveTimeout({ multiplier: 0 })).toThrow(/multiplier/);
    expect(() => new AdaptiveTimeout({ floorMs: 100, ceilingMs: 10 })).toThrow(/ceilingMs/);
    expect(() => new AdaptiveTimeout({ coldStartMs: 5 })).toThrow(/coldStartMs/);
    expect(() => new AdaptiveTimeout({ windowSize: 10, minSamples: 11 })).toThrow(/minSamples/);
  });
});

describe('AdaptiveTimeoutDetector', () => {
  it('uses the cold-start timeout, then P99 of the inter-arrival times × multiplier', () => {
    const scheduler = new Scheduler({ seed: 5 });
    const runtime = createSimRuntime(scheduler, 'monitor');
    const detector = new AdaptiveTimeoutDetector({
      runtime,
      minSamples: 10,
      multiplier: 1.5,
      floorMs: 100,
      coldStartMs: 5000,
    });
    expect(detector.isMonitoring).toBe(false);
    expect(detector.isAvailable()).toBe(true);
    detector.heartbeat();
    scheduler.runFor(4000);
    expect(detector.isAvailable()).toBe(true); // within the cold-start 5000 ms
    scheduler.runFor(1001);
    expect(detector.isAvailable()).toBe(false);
    detector.heartbeat(); // interval 5001 recorded
    for (let i = 0; i < 200; i++) {
      scheduler.runFor(1000);
      detector.heartbeat();
    }
    // Window: 200 intervals of 1000 and one of 5001; the nearest-rank P99 is 1000.
    expect(detector.timeout.count).toBe(201);
    expect(detector.timeout.timeoutMs()).toBe(1500);
    scheduler.runFor(1500);
    expect(detector.isAvailable()).toBe(true);
    scheduler.runFor(1);
    expect(detector.isAvailable()).toBe(false);
    expect(detector.isMonitoring).toBe(true);
    expect(() => new AdaptiveTimeoutDetector({ multiplier: 0 })).toThrow(/multiplier/);
  });
});

import { describe, expect, it } from 'vitest';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import { PhiAccrualDetector, phiOf } from './phi.js';

/** Reference values computed by hand (Python) from Akka's formula; cf. Akka's own test table. */
const TABLE: [number, number][] = [
  [0, 0],
  [500, 2.1768922219645073e-8],
  [1000, 0.3010299956639812],
  [1200, 1.6428278854871123],
  [1400, 4.736694582705181],
  [1600, 10.782600858295707],
  [1700, 15.368525622645256],
];

function setup(options: ConstructorParameters<typeof PhiAccrualDetector>[0] = {}) {
  const scheduler = new Scheduler({ seed: 8 });
  const runtime = createSimRuntime(scheduler, 'monitor');
  return { scheduler, detector: new PhiAccrualDetector({ runtime, ...options }) };
}

describe('phiOf (Akka formula)', () => {
  it('matches hand-computed values for mean 1000 ms, sd 100 ms', () => {
    for (const [t, expected] of TABLE) expect(phiOf(t, 1000, 100)).toBeCloseTo(expected, 9);
  });

  it('increases with the delay and saturates at Infinity', () => {
    let previous = -1;
    for (let t = 0; t <= 3000; t += 50) {
      const phi = phiOf(t, 1000, 100);
      expect(phi).toBeGreaterThanOrEqual(previous);
      previous = phi;
    }
    expect(phiOf(100_000, 1000, 100)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('PhiAccrualDetector', () => {
  it('is 0 and available before the first heartbeat; primed with estimate ± estimate/4', () => {
    const { detector } = setup({ firstHeartbeatEstimateMs: 1000, acceptableHeartbeatPauseMs: 0 });
    expect(detector.phi()).toBe(0);
    expect(detector.isAvailable()).toBe(true);
    expect(detector.isMonitoring).toBe(false);
    expect(detector.meanIntervalMs).toBe(1000);
    expect(detector.stdDeviationMs).toBe(250); // samples 750 and 1250
    expect(detector.sampleCount).toBe(2);
  });

  it('computes phi from the history plus the acceptable pause', () => {
    const { scheduler, detector } = setup({
      acceptableHeartbeatPauseMs: 0,
      minStdDeviationMs: 100,
    });
    detector.heartbeat();
    scheduler.runFor(1000);
    expect(detector.phi()).toBeCloseTo(0.3010299956639812, 9); // t = mean
    scheduler.runFor(1000);
    expect(detector.phi()).toBeCloseTo(4.736694582705181, 9); // y = 4 with sd 250
    expect(detector.isAvailable()).toBe(true); // below the default threshold 8
    scheduler.runFor(1000);
    expect(detector.phi()).toBeCloseTo(21.241600212221336, 6);
    expect(detector.isAvailable()).toBe(false);

    const paused = setup({ acceptableHeartbeatPauseMs: 3000 });
    paused.detector.heartbeat();
    paused.scheduler.runFor(5000);
    expect(paused.detector.phi()).toBeCloseTo(4.736694582705181, 9); // mean 1000 + pause 3000
  });

  it('records intervals only while the process was available', () => {
    const { scheduler, detector } = setup({ acceptableHeartbeatPauseMs: 0, threshold: 3 });
    detector.heartbeat();
    scheduler.runFor(1000);
    detector.heartbeat(); // phi 0.30 < 3: recorded
    expect(detector.sampleCount).toBe(3);
    scheduler.runFor(5000);
    expect(detector.isAvailable()).toBe(false);
    detector.heartbeat(); // arrives while suspected: not recorded
    expect(detector.sampleCount).toBe(3);
    expect(detector.meanIntervalMs).toBe(1000);
    expect(detector.isAvailable()).toBe(true);
  });

  it('learns regular heartbeats and floors the deviation at minStdDeviationMs', () => {
    const { scheduler, detector } = setup({
      maxSampleSize: 10,
      minStdDeviationMs: 50,
      acceptableHeartbeatPauseMs: 0,
    });
    detector.heartbeat();
    for (let i = 0; i < 20; i++) {
      scheduler.runFor(200);
      detector.heartbeat();
    }
    expect(detector.sampleCount).toBe(10); // bounded history, primed samples evicted
    expect(detector.meanIntervalMs).toBeCloseTo(200, 9);
    expect(detector.stdDeviationMs).toBe(50);
    scheduler.runFor(200);
    expect(detector.phi()).toBeCloseTo(phiOf(200, 200, 50), 9);
    scheduler.runFor(300);
    expect(detector.isAvailable()).toBe(false); // 500 ms of silence, y = 6
  });

  it('validates options', () => {
    expect(() => new PhiAccrualDetector({ threshold: 0 })).toThrow(/threshold/);
    expect(() => new PhiAccrualDetector({ maxSampleSize: 0 })).toThrow(/maxSampleSize/);
    expect(() => new PhiAccrualDetector({ minStdDeviationMs: 0 })).toThrow(/minStdDeviationMs/);
    expect(() => new PhiAccrualDetector({ acceptableHeartbeatPauseMs: -1 })).toThrow(
      /acceptableHeartbeatPauseMs/,
    );
    expect(() => new PhiAccrualDetector({ firstHeartbeatEstimateMs: 0 })).toThrow(
      /firstHeartbeatEstimateMs/,
    );
  });
});

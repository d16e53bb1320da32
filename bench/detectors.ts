/**
 * Failure detectors in simulation: phi accrual (without and with Akka's 3 s acceptable pause) vs a
 * fixed timeout vs an adaptive (P99) timeout,
 * all fed the same heartbeat stream: `npm run --silent bench -- detectors [--json] [--seed N]`.
 *
 * A monitored process sends a heartbeat every second through a simulated network; the monitor
 * polls each detector every 10 ms of virtual time. Cases:
 * - `steady`: 5 ms mean network delay; `jitter`: 150 ms mean exponential delay and 1% loss;
 * - `gc-pause`: steady network, the sender stalls 2.5 s every 5 minutes (its beats wait);
 * each runs one simulated hour and counts false suspicions (`false-positives`, in calls).
 * - `crash` (steady) and `crash-jitter`: after 10 simulated minutes the process crashes at a random
 *   moment; `detection` is the virtual time until the detector suspects it, in ms.
 * Every row is the median over 5 seeds (seed, seed+1, ...). Deterministic: the same seed gives the
 * same numbers. It measures virtual time, not the machine, so it asserts nothing about speed.
 */
import { AdaptiveTimeoutDetector, PhiAccrualDetector, TimeoutDetector } from '../src/index.js';
import type { FailureDetector, Runtime } from '../src/index.js';
import { Scheduler, createSimRuntime } from '../src/sim/index.js';
import type { BenchRow, BenchSuite } from './types.js';
import { median } from './util.js';

const INTERVAL_MS = 1000;
const POLL_MS = 10;
const ROUNDS = 5;

interface Scenario {
  /** Mean of the exponential network delay added to a 2 ms base, in ms. */
  delayMeanMs: number;
  lossRate: number;
  /** Sender stalls: every `everyMs`, for `pauseMs`. */
  pause?: { everyMs: number; pauseMs: number };
  durationMs: number;
  /** Crash time window; undefined: no crash. */
  crashAfterMs?: number;
}

const IMPLS: Record<string, (runtime: Runtime) => FailureDetector> = {
  'faultline/phi': (runtime) =>
    new PhiAccrualDetector({
      runtime,
      threshold: 8,
      acceptableHeartbeatPauseMs: 0,
      minStdDeviationMs: 100,
      firstHeartbeatEstimateMs: INTERVAL_MS,
    }),
  // Akka Cluster's default pause allowance: tolerates GC pauses, detects crashes ~3 s later.
  'faultline/phi-pause3s': (runtime) =>
    new PhiAccrualDetector({
      runtime,
      threshold: 8,
      acceptableHeartbeatPauseMs: 3000,
      minStdDeviationMs: 100,
      firstHeartbeatEstimateMs: INTERVAL_MS,
    }),
  'faultline/fixed': (runtime) => new TimeoutDetector({ runtime, timeoutMs: 2 * INTERVAL_MS }),
  'faultline/adaptive': (runtime) =>
    new AdaptiveTimeoutDetector({
      runtime,
      quantile: 0.99,
      multiplier: 1.5,
      floorMs: 500,
      ceilingMs: 30_000,
      coldStartMs: 3000,
      minSamples: 20,
    }),
};

interface Outcome {
  falsePositives: number;
  detectionMs: number | undefined;
}

/** Runs one scenario with one seed; every detector sees the same arrivals. */
function simulate(scenario: Scenario, seed: number): Record<string, Outcome> {
  const scheduler = new Scheduler({ seed });
  const monitor = createSimRuntime(scheduler, 'monitor');
  const net = scheduler.random.fork('network');
  const names = Object.keys(IMPLS);
  const detectors = names.map((n) => (IMPLS[n] as (r: Runtime) => FailureDetector)(monitor));
  const outcomes = names.map((): Outcome => ({ falsePositives: 0, detectionMs: undefined }));
  const wasAvailable = names.map(() => true);
  const crashAt =
    scenario.crashAfterMs === undefined
      ? undefined
      : scenario.crashAfterMs + net.float(0, INTERVAL_MS);

  const deliver = (sentAt: number): void => {
    if (net.next() < scenario.lossRate) return;
    scheduler.at(sentAt + 2 + net.exponential(scenario.delayMeanMs), () =>
      detectors.forEach((d) => d.heartbeat()),
    );
  };
  const send = (k: number): void => {
    let t = k * INTERVAL_MS;
    const p = scenario.pause;
    if (p !== undefined && t % p.everyMs < p.pauseMs && t >= p.everyMs)
      t = t - (t % p.everyMs) + p.pauseMs;
    if (t > scenario.durationMs || (crashAt !== undefined && t >= crashAt)) return;
    scheduler.at(t, () => {
      deliver(t);
      send(k + 1);
    });
  };
  send(0);
  const poll = (): void => {
    const now = scheduler.nowMs;
    detectors.forEach((d, i) => {
      const available = d.isAvailable();
      const o = outcomes[i] as Outcome;
      if (!available && wasAvailable[i] === true) {
        if (crashAt !== undefined && now >= crashAt) o.detectionMs ??= now - crashAt;
        else o.falsePositives++;
      }
      wasAvailable[i] = available;
    });
    if (now + POLL_MS <= scenario.durationMs) scheduler.after(POLL_MS, poll);
  };
  scheduler.after(POLL_MS, poll);
  scheduler.runUntilIdle();
  return Object.fromEntries(names.map((n, i) => [n, outcomes[i] as Outcome]));
}

const HOUR = 3_600_000;
const SCENARIOS: Record<string, Scenario> = {
  steady: { delayMeanMs: 5, lossRate: 0, durationMs: HOUR },
  jitter: { delayMeanMs: 150, lossRate: 0.01, durationMs: HOUR },
  'gc-pause': {
    delayMeanMs: 5,
    lossRate: 0,
    pause: { everyMs: 300_000, pauseMs: 2500 },
    durationMs: HOUR,
  },
  crash: { delayMeanMs: 5, lossRate: 0, durationMs: 1_200_000, crashAfterMs: 600_000 },
  'crash-jitter': {
    delayMeanMs: 150,
    lossRate: 0.01,
    durationMs: 1_200_000,
    crashAfterMs: 600_000,
  },
};

function parseSeed(args: readonly string[]): number {
  const i = args.indexOf('--seed');
  const raw = i >= 0 ? args[i + 1] : undefined;
  const seed = raw === undefined ? 42 : Number(raw);
  if (!Number.isInteger(seed))
    throw new RangeError(`--seed must be an integer (got ${String(raw)})`);
  return seed;
}

const suite: BenchSuite = {
  name: 'detectors',
  description:
    'Failure detectors in a seeded simulation (1 s heartbeats; phi threshold 8 with 0 or 3 s acceptable pause, ' +
    'fixed timeout 2 s, adaptive P99 x 1.5): ' +
    'false suspicions per simulated hour and crash detection time, medians of 5 seeds.',
  async run({ args, log }) {
    const seed = parseSeed(args);
    log(
      `seed ${seed} (rounds use seeds ${seed}..${seed + ROUNDS - 1}; replay with --seed ${seed})`,
    );
    const rows: BenchRow[] = [];
    for (const [name, scenario] of Object.entries(SCENARIOS)) {
      const runs = Array.from({ length: ROUNDS }, (_, r) => simulate(scenario, seed + r));
      for (const impl of Object.keys(IMPLS)) {
        const outcomes = runs.map((run) => run[impl] as Outcome);
        if (scenario.crashAfterMs === undefined) {
          rows.push({
            case: name,
            impl,
            metric: 'false-positives',
            value: median(outcomes.map((o) => o.falsePositives)),
            unit: 'calls',
          });
        } else {
          const detected = outcomes.map((o) => o.detectionMs ?? Number.POSITIVE_INFINITY);
          rows.push({ case: name, impl, metric: 'detection', value: median(detected), unit: 'ms' });
        }
      }
      log(`${name} done`);
    }
    return rows;
  },
};

export default suite;

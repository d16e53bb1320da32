/**
 * Failure detection: a monitor watches a worker's heartbeats over a jittery network. The worker
 * stalls in GC pauses (alive, just silent) and, near the end, really crashes. A tight fixed
 * timeout suspects the live worker again and again; a phi accrual detector with a pause
 * allowance never does, and still detects the crash within a stated bound.
 *
 * @module
 */
import { AdaptiveTimeoutDetector } from '../../detect/adaptive.js';
import type { FailureDetector } from '../../detect/detector.js';
import { HeartbeatSender } from '../../detect/heartbeat.js';
import { TimeoutDetector } from '../../detect/heartbeat.js';
import { PhiAccrualDetector } from '../../detect/phi.js';
import type { Runtime } from '../../core/runtime.js';
import type { ScheduledFault } from '../../sim/faults.js';
import type { Node } from '../../sim/node.js';
import type { Simulation } from '../../sim/simulation.js';
import type { Evidence, LabContext, Scenario, VariantOutcome } from '../types.js';

const HEARTBEAT_MS = 1_000;
/** The monitor asks its detector this often (a membership loop's tick). */
const CHECK_MS = 100;
/** The worker crashes here, after nine virtual minutes alive. */
const CRASH_MS = 540_000;
const END_MS = 600_000;
const PAUSES = 3;
/** The property's bounds: pauses up to this long must never be suspected... */
const ALLOWED_PAUSE_MS = 3_000;
/** ...and a crash must be suspected within this. */
const DETECT_BOUND_MS = 10_000;
const LIVE_HOURS = CRASH_MS / 3_600_000;

type Design = 'timeout' | 'phi';

/** The detector each variant runs on the monitor. */
function detectorFor(design: Design, runtime: Runtime): FailureDetector {
  switch (design) {
    case 'timeout':
      return new TimeoutDetector({ timeoutMs: 1_500, runtime });
    case 'phi':
      return new PhiAccrualDetector({ threshold: 8, acceptableHeartbeatPauseMs: 3_000, runtime });
  }
}

/** A suspicion as the checker judges it against the simulated truth. */
interface Suspicion {
  readonly timeMs: number;
  readonly noteIndex: number;
  /** True when the worker had not crashed: it was alive (perhaps paused). */
  readonly live: boolean;
  readonly silenceMs: number;
}

/** Watches one detector: a poll every CHECK_MS; counts transitions to "suspected". */
class Watch {
  readonly suspicions: Suspicion[] = [];
  private suspected = false;
  /** The first poll after the crash at which the detector suspected the worker. */
  private detectedAtMs: number | undefined;
  lastHeartbeatMs = 0;

  constructor(
    readonly detector: FailureDetector,
    private readonly onSuspect?: (silenceMs: number) => number,
  ) {}

  poll(nowMs: number, workerCrashed: boolean): void {
    const available = this.detector.isAvailable();
    if (workerCrashed && !available) this.detectedAtMs ??= nowMs;
    if (available || this.suspected) {
      this.suspected = !available;
      return;
    }
    this.suspected = true;
    const silenceMs = nowMs - this.lastHeartbeatMs;
    const noteIndex = this.onSuspect?.(silenceMs) ?? -1;
    this.suspicions.push({ timeMs: nowMs, noteIndex, live: !workerCrashed, silenceMs });
  }

  falseSuspicions(): Suspicion[] {
    return this.suspicions.filter((s) => s.live);
  }

  /** Time from the crash until the detector suspects the worker; the rest of the run if never. */
  detectMs(): number {
    return (this.detectedAtMs ?? END_MS) - CRASH_MS;
  }
}

/** GC pauses of the worker at seeded times, spread over its live phase. */
function pauses(sim: Simulation, pauseMs: number): ScheduledFault[] {
  const random = sim.random.fork('gc-pauses');
  const slot = (CRASH_MS - 60_000) / PAUSES;
  const out: ScheduledFault[] = [];
  for (let i = 0; i < PAUSES; i++) {
    const atMs = 30_000 + i * slot + random.int(Math.floor(slot - pauseMs - 10_000));
    out.push({ atMs, fault: { kind: 'pause', node: 'worker', durationMs: pauseMs } });
  }
  return out;
}

function startWorker(worker: Node): void {
  let beat = 0;
  new HeartbeatSender({
    intervalMs: HEARTBEAT_MS,
    send: () => worker.send('monitor', ++beat),
    runtime: worker.runtime,
  });
}

/** The pause, if any, during which the silence that led to `suspicion` began or lasted. */
function pauseBehind(
  suspicion: Suspicion,
  schedule: readonly ScheduledFault[],
): { atMs: number; durationMs: number } | undefined {
  const silenceStartMs = suspicion.timeMs - suspicion.silenceMs;
  for (const { atMs, fault } of schedule) {
    if (fault.kind !== 'pause') continue;
    if (atMs <= suspicion.timeMs && silenceStartMs <= atMs + fault.durationMs)
      return { atMs, durationMs: fault.durationMs };
  }
  return undefined;
}

function evidenceOf(
  context: LabContext,
  main: Watch,
  schedule: readonly ScheduledFault[],
): Evidence | undefined {
  // Suspecting a worker paused for longer than the property's bound is not held against a detector.
  const falseOnes = main
    .falseSuspicions()
    .filter((s) => (pauseBehind(s, schedule)?.durationMs ?? 0) <= ALLOWED_PAUSE_MS);
  const first = falseOnes[0];
  if (first !== undefined) {
    const pause = pauseBehind(first, schedule);
    return {
      timeMs: first.timeMs,
      summary: `The monitor suspected the worker after ${first.silenceMs.toFixed(0)} ms of silence, but the worker was alive${pause === undefined ? ' (its heartbeats were only late)' : ` (in a ${pause.durationMs} ms GC pause)`}.`,
      node: 'monitor',
      traceIndex: first.noteIndex,
      operations: falseOnes
        .slice(0, 3)
        .map((s) => `suspect worker at ${(s.timeMs / 1000).toFixed(2)} s (alive)`),
    };
  }
  const detectMs = main.detectMs();
  if (detectMs <= DETECT_BOUND_MS) return undefined;
  const noteIndex = context.note(
    'monitor',
    `worker crashed ${detectMs} ms ago and is still trusted`,
  );
  return {
    timeMs: CRASH_MS + DETECT_BOUND_MS,
    summary: `The worker crashed at ${CRASH_MS / 1000} s and was not suspected within ${DETECT_BOUND_MS} ms.`,
    node: 'monitor',
    traceIndex: noteIndex,
    operations: [`crash worker at ${CRASH_MS / 1000} s`],
  };
}

async function run(context: LabContext, design: Design): Promise<VariantOutcome> {
  const jitterMs = context.knobs['jitterMs'] ?? 100;
  const pauseMs = context.knobs['pauseMs'] ?? 2_500;
  const sim = context.simulation({
    network: { latency: { kind: 'exponential', minMs: 5, meanMs: jitterMs } },
  });
  const worker = sim.node('worker');
  const monitor = sim.node('monitor');
  const main = new Watch(detectorFor(design, monitor.runtime), (silenceMs) =>
    context.note(monitor.name, `suspects worker after ${silenceMs.toFixed(0)} ms of silence`),
  );
  // The adaptive P99 detector watches the same heartbeats, for comparison only.
  const adaptive = new Watch(
    new AdaptiveTimeoutDetector({
      multiplier: 1.5,
      floorMs: 500,
      coldStartMs: 3_000,
      runtime: monitor.runtime,
    }),
  );
  monitor.onMessage(() => {
    for (const watch of [main, adaptive]) {
      watch.detector.heartbeat();
      watch.lastHeartbeatMs = sim.nowMs;
    }
  });
  const poll = (): void => {
    const crashed = worker.state === 'crashed';
    main.poll(sim.nowMs, crashed);
    adaptive.poll(sim.nowMs, crashed);
    monitor.runtime.timers.setTimer(CHECK_MS, poll);
  };
  monitor.runtime.timers.setTimer(CHECK_MS, poll);
  startWorker(worker);
  const schedule = pauses(sim, pauseMs);
  sim.schedule([...schedule, { atMs: CRASH_MS, fault: { kind: 'crash', node: 'worker' } }]);
  sim.runSync({ untilMs: END_MS });
  const evidence = evidenceOf(context, main, schedule);
  return {
    violated: evidence !== undefined,
    ...(evidence === undefined ? {} : { evidence }),
    figures: {
      falseSuspicionsPerHour: main.falseSuspicions().length / LIVE_HOURS,
      detectMs: main.detectMs(),
      adaptiveFalseSuspicionsPerHour: adaptive.falseSuspicions().length / LIVE_HOURS,
      adaptiveDetectMs: adaptive.detectMs(),
    },
  };
}

/** The failure-detection scenario. */
export const failureDetection: Scenario = {
  name: 'failure-detection',
  title: 'Failure detection',
  problem:
    'A failure detector cannot tell a slow process from a dead one: a fixed heartbeat timeout ' +
    'tight enough to detect crashes quickly also suspects live processes whose heartbeats are late ' +
    'because of network jitter or a GC pause. Every false suspicion triggers a needless failover.',
  reference:
    'Chandra & Toueg, Unreliable Failure Detectors for Reliable Distributed Systems (JACM 1996); ' +
    'Hayashibara et al., The φ Accrual Failure Detector (SRDS 2004)',
  property:
    `The live worker, paused for at most ${ALLOWED_PAUSE_MS} ms at a time, is never suspected, and ` +
    `its crash is suspected within ${DETECT_BOUND_MS} ms; the checker compares each suspicion ` +
    'with the simulated truth (crashed or not).',
  api: [
    "import { PhiAccrualDetector, HeartbeatSender } from 'faultline';",
    'const detector = new PhiAccrualDetector({ threshold: 8, acceptableHeartbeatPauseMs: 3000, runtime });',
    'onHeartbeat(() => detector.heartbeat());',
    'if (!detector.isAvailable()) markUnreachable(peer);',
    '// on the peer: new HeartbeatSender({ intervalMs: 1000, send: () => sendHeartbeat(), runtime })',
  ].join('\n'),
  figures: [
    {
      name: 'falseSuspicionsPerHour',
      label: 'false suspicions',
      unit: 'per hour',
      better: 'lower',
      key: true,
    },
    { name: 'detectMs', label: 'time to detect the crash', unit: 'ms', better: 'lower', key: true },
    {
      name: 'adaptiveFalseSuspicionsPerHour',
      label: 'adaptive P99 timeout (comparison): false suspicions',
      unit: 'per hour',
      better: 'lower',
    },
    {
      name: 'adaptiveDetectMs',
      label: 'adaptive P99 timeout (comparison): time to detect',
      unit: 'ms',
      better: 'lower',
    },
  ],
  knobs: [
    {
      name: 'pauseMs',
      label: 'GC pause length (3 pauses)',
      min: 0,
      max: 10_000,
      step: 100,
      default: 2_500,
      unit: 'ms',
    },
    {
      name: 'jitterMs',
      label: 'mean extra network delay',
      min: 1,
      max: 300,
      step: 1,
      default: 100,
      unit: 'ms',
    },
  ],
  variants: {
    unsafe: {
      summary: 'A TimeoutDetector with a tight fixed timeout: 1.5 s for 1 s heartbeats.',
      run: (context) => run(context, 'timeout'),
    },
    safe: {
      summary:
        'A PhiAccrualDetector (threshold 8, 3 s acceptable pause) fitted to the observed heartbeat intervals.',
      run: (context) => run(context, 'phi'),
    },
  },
};

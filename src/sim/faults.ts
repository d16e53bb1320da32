/**
 * Fault schedules: scripted lists of faults at virtual times, or schedules drawn from a seed in
 * the style of swarm testing (each seed enables a random subset of fault kinds, each with random
 * intensities), so that different seeds stress different combinations.
 *
 * @module
 */
import type { Random } from '../core/runtime.js';
import { nonNegative, numberIn, positive, rangeError } from '../core/validate.js';

/** A fault the simulation can inject. Durations are virtual ms; omitted ones never end. */
export type Fault =
  | {
      readonly kind: 'partition';
      readonly groups: readonly (readonly string[])[];
      readonly durationMs?: number;
    }
  | {
      readonly kind: 'cut';
      readonly from: string;
      readonly to: string;
      readonly oneWay?: boolean;
      readonly durationMs?: number;
    }
  | { readonly kind: 'isolate'; readonly node: string; readonly durationMs?: number }
  | { readonly kind: 'heal' }
  | { readonly kind: 'loss'; readonly probability: number; readonly durationMs: number }
  | { readonly kind: 'pause'; readonly node: string; readonly durationMs: number }
  | { readonly kind: 'crash'; readonly node: string; readonly restartAfterMs?: number }
  | { readonly kind: 'restart'; readonly node: string }
  | { readonly kind: 'clock-step'; readonly node: string; readonly deltaMs: number }
  | { readonly kind: 'drift'; readonly node: string; readonly driftPpm: number };

/** The kinds of {@link Fault}. */
export type FaultKind = Fault['kind'];

/** A fault and when to inject it. */
export interface ScheduledFault {
  /** Virtual time in ms (absolute, from the start of the run). */
  readonly atMs: number;
  readonly fault: Fault;
}

/** The fault kinds a random schedule draws from. */
export const randomFaultKinds = [
  'partition',
  'isolate',
  'loss',
  'pause',
  'crash',
  'clock-step',
  'drift',
] as const;

/** A kind a random schedule can enable. */
export type RandomFaultKind = (typeof randomFaultKinds)[number];

/** Options of {@link randomFaultSchedule}. */
export interface RandomFaultOptions {
  /** Nodes that network and clock faults may hit. */
  nodes: readonly string[];
  /** Nodes that may pause or crash (default: `nodes`). */
  processNodes?: readonly string[];
  /** Faults start in [startMs, startMs + durationMs) (virtual ms). */
  durationMs: number;
  /** Default 0. */
  startMs?: number;
  /** Kinds allowed (default all of {@link randomFaultKinds}); each is enabled with probability 1/2. */
  kinds?: readonly RandomFaultKind[];
  /** Upper bound on faults of one kind (default 4). */
  maxPerKind?: number;
}

/** A drawn schedule and what the seed chose. */
export interface RandomFaultSchedule {
  /** The kinds this seed enabled (at least one). */
  readonly enabled: readonly RandomFaultKind[];
  /** The faults, sorted by time. */
  readonly faults: readonly ScheduledFault[];
}

/**
 * Draws a swarm-testing fault schedule from `random`: a random non-empty subset of kinds, each
 * with a random number of occurrences and random intensities.
 *
 * @example
 * const { faults } = randomFaultSchedule(sim.random.fork('faults'), { nodes: ['a', 'b'], durationMs: 5000 });
 * sim.schedule(faults);
 */
export function randomFaultSchedule(
  random: Random,
  options: RandomFaultOptions,
): RandomFaultSchedule {
  if (options.nodes.length === 0) throw rangeError('nodes', 'a non-empty list', '[]');
  const durationMs = positive('durationMs', options.durationMs);
  const startMs = nonNegative('startMs', options.startMs ?? 0);
  const kinds = options.kinds ?? randomFaultKinds;
  const maxPerKind = options.maxPerKind ?? 4;
  if (!Number.isInteger(maxPerKind) || maxPerKind < 1)
    throw rangeError('maxPerKind', 'an integer >= 1', maxPerKind);
  let enabled = kinds.filter(() => random.next() < 0.5);
  if (enabled.length === 0 && kinds.length > 0) enabled = [random.pick(kinds)];
  const drawn: { atMs: number; order: number; fault: Fault }[] = [];
  for (const kind of enabled) {
    const count = 1 + random.int(maxPerKind);
    for (let i = 0; i < count; i++) {
      const atMs = startMs + Math.floor(random.next() * durationMs);
      drawn.push({
        atMs,
        order: drawn.length,
        fault: drawFault(random, kind, options, durationMs),
      });
    }
  }
  drawn.sort((a, b) => a.atMs - b.atMs || a.order - b.order);
  return { enabled, faults: drawn.map(({ atMs, fault }) => ({ atMs, fault })) };
}

function drawFault(
  random: Random,
  kind: RandomFaultKind,
  options: RandomFaultOptions,
  span: number,
): Fault {
  const nodes = options.nodes;
  const processNodes = options.processNodes ?? nodes;
  const episodeMs = (): number => Math.max(1, Math.round(random.float(0.02, 0.2) * span));
  switch (kind) {
    case 'partition': {
      const shuffled = random.shuffle([...nodes]);
      const cut = 1 + random.int(Math.max(1, shuffled.length - 1));
      return {
        kind,
        groups: [shuffled.slice(0, cut), shuffled.slice(cut)],
        durationMs: episodeMs(),
      };
    }
    case 'isolate':
      return { kind, node: random.pick(nodes), durationMs: episodeMs() };
    case 'loss':
      return {
        kind,
        probability: Math.round(random.float(0.05, 0.6) * 100) / 100,
        durationMs: episodeMs(),
      };
    case 'pause':
      return { kind, node: random.pick(processNodes), durationMs: episodeMs() };
    case 'crash':
      return { kind, node: random.pick(processNodes), restartAfterMs: episodeMs() };
    case 'clock-step': {
      const magnitude = Math.round(random.float(1, 10_000));
      return {
        kind,
        node: random.pick(nodes),
        deltaMs: random.next() < 0.5 ? -magnitude : magnitude,
      };
    }
    case 'drift':
      return { kind, node: random.pick(nodes), driftPpm: Math.round(random.float(-200, 200)) };
  }
}

/** Throws a RangeError naming the field when `fault` is malformed. */
export function validateFault(fault: Fault): void {
  switch (fault.kind) {
    case 'partition':
    case 'cut':
    case 'isolate':
      if (fault.durationMs !== undefined) nonNegative('durationMs', fault.durationMs);
      return;
    case 'heal':
    case 'restart':
      return;
    case 'loss':
      numberIn('probability', fault.probability, 0, 1);
      nonNegative('durationMs', fault.durationMs);
      return;
    case 'pause':
      nonNegative('durationMs', fault.durationMs);
      return;
    case 'crash':
      if (fault.restartAfterMs !== undefined) nonNegative('restartAfterMs', fault.restartAfterMs);
      return;
    case 'clock-step':
      if (!Number.isFinite(fault.deltaMs))
        throw rangeError('deltaMs', 'a finite number', fault.deltaMs);
      return;
    case 'drift':
      numberIn('driftPpm', fault.driftPpm, -500_000, 500_000);
      return;
    default:
      throw rangeError('fault.kind', 'a known fault kind', (fault as { kind: unknown }).kind);
  }
}

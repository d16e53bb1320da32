/**
 * Errors of a simulation run. Every message names the seed, so a failure can be replayed.
 *
 * @module
 */
import { FaultlineError } from '../core/errors.js';

/** Where in a run a failure happened. */
export interface SimulationPoint {
  readonly seed: number | string;
  /** Virtual time in ms. */
  readonly timeMs: number;
  /** Number of events run when it happened. */
  readonly eventIndex: number;
}

/** A simulated run failed: code under test threw, or a start function rejected. */
export class SimulationError extends FaultlineError {
  override name = 'SimulationError';
  readonly seed: number | string;
  readonly timeMs: number;
  readonly eventIndex: number;

  constructor(what: string, point: SimulationPoint, options?: { cause?: unknown; code?: string }) {
    super(
      options?.code ?? 'FAULTLINE_SIM_FAILURE',
      `${what} at virtual time ${point.timeMs} ms, event ${point.eventIndex} (seed ${String(point.seed)}; replay with the same seed and options)`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.seed = point.seed;
    this.timeMs = point.timeMs;
    this.eventIndex = point.eventIndex;
  }
}

/** An invariant registered with `sim.invariant()` returned false (or threw). */
export class InvariantViolationError extends SimulationError {
  override name = 'InvariantViolationError';
  readonly invariant: string;

  constructor(invariant: string, point: SimulationPoint, cause?: unknown) {
    super(`invariant "${invariant}" violated`, point, {
      code: 'FAULTLINE_SIM_INVARIANT',
      ...(cause === undefined ? {} : { cause }),
    });
    this.invariant = invariant;
  }
}

/** True when `e` is a {@link SimulationError} (invariant violations included). */
export function isSimulationError(e: unknown): e is SimulationError {
  return e instanceof SimulationError;
}

/** True when `e` is an {@link InvariantViolationError}. */
export function isInvariantViolationError(e: unknown): e is InvariantViolationError {
  return e instanceof InvariantViolationError;
}

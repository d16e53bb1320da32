/**
 * Invariant checkers for simulations: named predicates evaluated after every event of a trace,
 * outside the code under test. They are generic in the event type, so any trace (the simulator's,
 * a test's own) can feed them.
 *
 * @module
 */
import { nonEmptyString, rangeError } from '../core/validate.js';

/**
 * What a predicate returns: `true` (or nothing) when the invariant holds, `false` or a message
 * describing the violation when it does not.
 */
export type InvariantOutcome = boolean | string | void;

/** A named predicate over the events of a trace. */
export interface Invariant<E> {
  readonly name: string;
  /** Called after each event with the event and its 0-based index in the trace. */
  readonly predicate: (event: E, index: number) => InvariantOutcome;
}

/**
 * Names a predicate as an invariant.
 *
 * @example
 * const oneLeader = invariant('at most one leader per term', (e: { leaders: number }) => e.leaders <= 1);
 */
export function invariant<E>(
  name: string,
  predicate: (event: E, index: number) => InvariantOutcome,
): Invariant<E> {
  nonEmptyString('name', name);
  if (typeof predicate !== 'function') throw rangeError('predicate', 'a function', predicate);
  return { name, predicate };
}

/** The first violation an {@link InvariantChecker} saw. */
export interface Violation<E> {
  /** The invariant's name. */
  readonly name: string;
  /** Index of the event after which it failed. */
  readonly index: number;
  /** The event itself. */
  readonly event: E;
  /** The predicate's message, or a default one. */
  readonly message: string;
}

/**
 * Evaluates invariants after each event and keeps the first violation (later events are still
 * counted but no longer evaluated). A predicate that throws counts as a violation, with the error
 * as its message.
 *
 * @example
 * const checker = new InvariantChecker([oneLeader]);
 * for (const event of trace) if (!checker.observe(event)) break;
 * checker.violation; // { name, index, event, message } or undefined
 */
export class InvariantChecker<E> {
  private readonly invariants: readonly Invariant<E>[];
  private first: Violation<E> | undefined;
  private count = 0;

  /** @param invariants the invariants to evaluate, in order; at least one. */
  constructor(invariants: readonly Invariant<E>[]) {
    if (!Array.isArray(invariants) || invariants.length === 0) {
      throw rangeError('invariants', 'a non-empty array', invariants);
    }
    this.invariants = [...invariants];
  }

  /** The first violation, or `undefined` while every invariant holds. */
  get violation(): Violation<E> | undefined {
    return this.first;
  }

  /** Whether every invariant has held so far. */
  get ok(): boolean {
    return this.first === undefined;
  }

  /** Events observed so far. */
  get events(): number {
    return this.count;
  }

  /** Evaluates every invariant after `event`; returns false once any has been violated. */
  observe(event: E): boolean {
    const index = this.count++;
    if (this.first !== undefined) return false;
    for (const inv of this.invariants) {
      const message = evaluate(inv, event, index);
      if (message !== undefined) {
        this.first = { name: inv.name, index, event, message };
        return false;
      }
    }
    return true;
  }

  /** Observes every event of `events` until the first violation; returns it, if any. */
  observeAll(events: Iterable<E>): Violation<E> | undefined {
    for (const event of events) if (!this.observe(event)) break;
    return this.first;
  }
}

function evaluate<E>(inv: Invariant<E>, event: E, index: number): string | undefined {
  let outcome: InvariantOutcome;
  try {
    outcome = inv.predicate(event, index);
  } catch (error) {
    return `${inv.name}: threw ${error instanceof Error ? error.message : String(error)}`;
  }
  if (outcome === true || outcome === undefined) return undefined;
  if (outcome === false) return `${inv.name} violated at event ${index}`;
  return outcome;
}

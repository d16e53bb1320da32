/**
 * Small histories that show a consistency criterion at work, ready for the lab, the docs and
 * tests: each comes with its model and the verdicts it must get.
 *
 * @module
 */
import type { HistoryEvent } from './history.js';
import type { Model } from './model.js';
import type { RegisterValue } from './models.js';
import { register } from './models.js';

/** A history with the verdict each criterion gives it. */
export interface ExampleHistory<S> {
  /** A short title. */
  readonly title: string;
  /** What happened and why the verdicts differ, in a few sentences. */
  readonly description: string;
  /** The model to check the history against. */
  readonly model: Model<S>;
  /** The events, with times (virtual milliseconds) for drawing. */
  readonly events: readonly HistoryEvent[];
  /** The verdicts of `check(events, model, { criterion })`. */
  readonly expected: { readonly linearizable: boolean; readonly sequential: boolean };
}

/**
 * A stale read: sequentially consistent but not linearizable. Client A writes 1 and is
 * acknowledged; afterwards client B reads the old value 0 (from a lagging replica), then 1.
 * Real time forbids the stale read (the write had completed), so the history is not linearizable;
 * sequential consistency keeps only each client's own order, so B's first read may be ordered
 * before A's write: `read → 0, write 1, read → 1` is a legal order.
 *
 * @example
 * const ex = staleReadExample();
 * check(ex.events, ex.model).kind; // 'illegal'
 * check(ex.events, ex.model, { criterion: 'sequential' }).kind; // 'legal'
 */
export function staleReadExample(): ExampleHistory<RegisterValue> {
  return {
    title: 'stale read',
    description:
      'A writes 1 and is acknowledged at 10 ms; B then reads 0 (a lagging replica) at 20-30 ms ' +
      'and 1 at 40-50 ms. Not linearizable: the write had completed before the stale read began. ' +
      'Sequentially consistent: ordering B’s first read before A’s write respects each client’s ' +
      'own order.',
    model: register({ initial: 0 }),
    events: [
      { process: 'A', type: 'invoke', f: 'write', value: 1, time: 0 },
      { process: 'A', type: 'ok', f: 'write', value: 1, time: 10 },
      { process: 'B', type: 'invoke', f: 'read', value: null, time: 20 },
      { process: 'B', type: 'ok', f: 'read', value: 0, time: 30 },
      { process: 'B', type: 'invoke', f: 'read', value: null, time: 40 },
      { process: 'B', type: 'ok', f: 'read', value: 1, time: 50 },
    ],
    expected: { linearizable: false, sequential: true },
  };
}

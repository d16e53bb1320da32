/**
 * The simulator's kernel: a single-threaded discrete-event loop ordered by (virtual time, sequence
 * number). Everything else in the simulator (network, nodes, disks, faults) schedules through it.
 *
 * @module
 */
import { assert } from '../core/assert.js';
import { SeededRandom } from '../core/random.js';
import type { Cancel } from '../core/runtime.js';
import { yieldToEventLoop } from '../core/system.js';
import { integerIn, nonNegative, rangeError } from '../core/validate.js';

/** Options of a {@link Scheduler}. */
export interface SchedulerOptions {
  /** Seed of every random choice of the run. Print it with every failure; replaying it replays the run. */
  seed: number | string;
  /**
   * Upper bound on events waiting in the queue (default 1,000,000). Scheduling beyond it throws,
   * which turns a runaway feedback loop into a clear failure instead of exhausting memory.
   */
  maxPendingEvents?: number;
}

interface Entry {
  time: number;
  seq: number;
  fn: (() => void) | undefined;
}

/** Thrown when a run exceeds a bound; the message carries the seed for replay. */
export class SimulationLimitError extends Error {
  override readonly name = 'SimulationLimitError';
}

/**
 * A discrete-event scheduler in virtual milliseconds.
 *
 * @example
 * const s = new Scheduler({ seed: 7 });
 * s.after(10, () => console.log('at', s.nowMs)); // at 10
 * s.runUntilIdle();
 */
export class Scheduler {
  /** The seed this run was created with. */
  readonly seed: number | string;
  /** The run's root generator; fork it per component (`random.fork('network')`). */
  readonly random: SeededRandom;
  private readonly maxPending: number;
  private heap: Entry[] = [];
  private seq = 0;
  private live = 0;
  private now = 0;
  private executed = 0;

  constructor(options: SchedulerOptions) {
    if (typeof options.seed !== 'string' && !Number.isFinite(options.seed)) {
      throw rangeError('seed', 'a finite number or a string', options.seed);
    }
    this.seed = options.seed;
    this.random = new SeededRandom(options.seed);
    this.maxPending = integerIn('maxPendingEvents', options.maxPendingEvents ?? 1_000_000, 1, 2 ** 30);
  }

  /** Current virtual time in milliseconds since the start of the run. */
  get nowMs(): number {
    return this.now;
  }

  /** Events scheduled and not yet run or cancelled. */
  get pending(): number {
    return this.live;
  }

  /** Events run so far. */
  get eventsExecuted(): number {
    return this.executed;
  }

  /** Virtual time of the next live event, or undefined when the queue is empty. */
  peekTimeMs(): number | undefined {
    this.dropCancelledTop();
    return this.heap[0]?.time;
  }

  /** Runs `fn` at virtual time `timeMs` (not before now). */
  at(timeMs: number, fn: () => void): Cancel {
    if (!(timeMs >= this.now) || !Number.isFinite(timeMs)) {
      throw rangeError('timeMs', `a finite time >= now (${this.now})`, timeMs);
    }
    if (this.live >= this.maxPending) {
      throw new SimulationLimitError(
        `more than ${this.maxPending} pending events (seed ${String(this.seed)})`,
      );
    }
    const entry: Entry = { time: timeMs, seq: this.seq++, fn };
    this.push(entry);
    this.live++;
    return () => {
      if (entry.fn === undefined) return;
      entry.fn = undefined;
      this.live--;
    };
  }

  /** Runs `fn` after `delayMs` virtual milliseconds. */
  after(delayMs: number, fn: () => void): Cancel {
    return this.at(this.now + nonNegative('delayMs', delayMs), fn);
  }

  /** Runs the next live event; returns false when there is none. */
  step(): boolean {
    this.dropCancelledTop();
    const entry = this.pop();
    if (entry === undefined) return false;
    const fn = entry.fn;
    assert(fn !== undefined, 'the top entry is live');
    assert(entry.time >= this.now, 'virtual time never goes backwards');
    entry.fn = undefined;
    this.live--;
    this.now = entry.time;
    this.executed++;
    fn();
    return true;
  }

  /** Runs events synchronously until none is left or `maxEvents` ran; returns how many ran. */
  runUntilIdle(maxEvents = Number.POSITIVE_INFINITY): number {
    let n = 0;
    while (n < maxEvents && this.step()) n++;
    return n;
  }

  /** Runs every event up to `now + ms` synchronously, then sets the time to `now + ms`. */
  runFor(ms: number): void {
    const until = this.now + nonNegative('ms', ms);
    for (let t = this.peekTimeMs(); t !== undefined && t <= until; t = this.peekTimeMs()) {
      this.step();
    }
    this.now = until;
  }

  /**
   * Runs events one at a time and lets promises settle after each, so async code awaiting
   * simulated timers and messages runs deterministically. Stops when the queue is empty, at
   * `untilMs` (time is then set to it), when `until()` becomes true, or after `maxEvents`.
   */
  async run(options: { untilMs?: number; maxEvents?: number; until?: () => boolean } = {}): Promise<number> {
    const untilMs = options.untilMs ?? Number.POSITIVE_INFINITY;
    const maxEvents = options.maxEvents ?? Number.POSITIVE_INFINITY;
    let n = 0;
    await yieldToEventLoop();
    while (n < maxEvents && !(options.until?.() ?? false)) {
      const t = this.peekTimeMs();
      if (t === undefined || t > untilMs) break;
      this.step();
      n++;
      await yieldToEventLoop();
    }
    if (Number.isFinite(untilMs) && this.now < untilMs && !(options.until?.() ?? false) && n < maxEvents) {
      this.now = untilMs;
    }
    return n;
  }

  private dropCancelledTop(): void {
    while (this.heap.length > 0 && this.heap[0]!.fn === undefined) this.pop();
  }

  private less(a: Entry, b: Entry): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private push(entry: Entry): void {
    const h = this.heap;
    let i = h.length;
    h.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (!this.less(entry, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = entry;
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[r]!, h[l]!) ? r : l;
      if (!this.less(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
    return top;
  }
}

/**
 * The simulator's kernel: a single-threaded discrete-event loop ordered by (virtual time, sequence
 * number). Everything else in the simulator (network, nodes, disks, faults) schedules through it.
 *
 * The queue is a binary heap kept as a structure of arrays (times, sequence numbers and slot
 * indexes in typed arrays; callbacks and their arguments in slot arrays reused through a free
 * list), so a steady-state run allocates nothing per event on the {@link Scheduler.post} path.
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

/** A callback run by the scheduler with the argument it was posted with. */
export type EventCallback<A> = (arg: A) => void;

/** Thrown when a run exceeds a bound; the message carries the seed for replay. */
export class SimulationLimitError extends Error {
  override readonly name = 'SimulationLimitError';
}

const INITIAL_CAPACITY = 64;
/** Marks a slot whose event was cancelled or already ran. */
const DEAD = -1;

function callNullary(fn: unknown): void {
  (fn as () => void)();
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
  // The heap: position -> (time, seq, slot).
  private heapTime = new Float64Array(INITIAL_CAPACITY);
  private heapSeq = new Float64Array(INITIAL_CAPACITY);
  private heapSlot = new Int32Array(INITIAL_CAPACITY);
  private size = 0;
  // Slots: slot -> (callback, argument, seq of the live event or DEAD).
  private fns: (EventCallback<never> | undefined)[] = [];
  private args: unknown[] = [];
  private slotSeq = new Float64Array(INITIAL_CAPACITY);
  private freeSlots = new Int32Array(INITIAL_CAPACITY);
  private freeCount = 0;
  private slotCount = 0;
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
    this.maxPending = integerIn(
      'maxPendingEvents',
      options.maxPendingEvents ?? 1_000_000,
      1,
      2 ** 30,
    );
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
    return this.size > 0 ? this.heapTime[0] : undefined;
  }

  /** Runs `fn` at virtual time `timeMs` (not before now); returns a function that cancels it. */
  at(timeMs: number, fn: () => void): Cancel {
    const slot = this.insert(timeMs, callNullary, fn);
    const seq = this.slotSeq[slot] as number;
    return () => this.cancelSlot(slot, seq);
  }

  /** Runs `fn` after `delayMs` virtual milliseconds; returns a function that cancels it. */
  after(delayMs: number, fn: () => void): Cancel {
    return this.at(this.now + nonNegative('delayMs', delayMs), fn);
  }

  /**
   * The allocation-free path: runs `fn(arg)` at virtual time `timeMs`. The event cannot be
   * cancelled; pass a shared `fn` and a per-event `arg` so that no closure is created per event.
   */
  post<A>(timeMs: number, fn: EventCallback<A>, arg: A): void {
    this.insert(timeMs, fn, arg);
  }

  /**
   * Like {@link Scheduler.post}, but cancellable without allocating: returns the event's slot;
   * read {@link Scheduler.lastSeq} right after to get its sequence number, and pass both to
   * {@link Scheduler.cancelEvent}.
   */
  schedule<A>(timeMs: number, fn: EventCallback<A>, arg: A): number {
    return this.insert(timeMs, fn, arg);
  }

  /** Sequence number of the most recently scheduled event. */
  get lastSeq(): number {
    return this.seq - 1;
  }

  /** Cancels the event `(slot, seq)` from {@link Scheduler.schedule}; does nothing if it already ran. */
  cancelEvent(slot: number, seq: number): void {
    this.cancelSlot(slot, seq);
  }

  /** Runs the next live event; returns false when there is none. */
  step(): boolean {
    while (this.size > 0) {
      const seq = this.heapSeq[0] as number;
      const time = this.heapTime[0] as number;
      const slot = this.popTop();
      if (this.slotSeq[slot] !== seq) {
        this.freeSlot(slot);
        continue;
      }
      const fn = this.fns[slot] as EventCallback<unknown>;
      const arg = this.args[slot];
      this.freeSlot(slot);
      this.live--;
      assert(time >= this.now, 'virtual time never goes backwards');
      this.now = time;
      this.executed++;
      fn(arg);
      return true;
    }
    return false;
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
   * Moves virtual time forwards to `timeMs` without running anything (used when a run stops at a
   * deadline with no event due). Never moves time backwards or past the next pending event.
   */
  advanceTo(timeMs: number): void {
    const next = this.peekTimeMs();
    if (timeMs > this.now && (next === undefined || timeMs <= next)) this.now = timeMs;
  }

  /**
   * Runs the simulation (as {@link Scheduler.run}) until `promise` settles, and returns its
   * outcome. Throws a {@link SimulationLimitError} naming the seed instead of hanging when it is
   * still pending after `limitMs` of virtual time or once no event is left.
   *
   * @example
   * const lease = await scheduler.runUntilSettled(lock.acquire('k', { ttlMs: 1_000 }));
   */
  async runUntilSettled<T>(promise: Promise<T>, limitMs = 1_000_000): Promise<T> {
    let done = false;
    promise.then(
      () => (done = true),
      () => (done = true),
    );
    await this.run({ until: () => done, untilMs: this.now + nonNegative('limitMs', limitMs) });
    if (!done) {
      throw new SimulationLimitError(
        `promise still pending at ${this.now} ms (seed ${String(this.seed)})`,
      );
    }
    return promise;
  }

  /**
   * Runs events one at a time and lets promises settle after each, so async code awaiting
   * simulated timers and messages runs deterministically. Stops when the queue is empty, at
   * `untilMs` (time is then set to it), when `until()` becomes true, or after `maxEvents`.
   */
  async run(
    options: { untilMs?: number; maxEvents?: number; until?: () => boolean } = {},
  ): Promise<number> {
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
    if (
      Number.isFinite(untilMs) &&
      this.now < untilMs &&
      !(options.until?.() ?? false) &&
      n < maxEvents
    ) {
      this.now = untilMs;
    }
    return n;
  }

  private insert(timeMs: number, fn: EventCallback<never>, arg: unknown): number {
    if (!(timeMs >= this.now) || timeMs === Number.POSITIVE_INFINITY) {
      throw rangeError('timeMs', `a finite time >= now (${this.now})`, timeMs);
    }
    if (this.live >= this.maxPending) {
      throw new SimulationLimitError(
        `more than ${this.maxPending} pending events (seed ${String(this.seed)})`,
      );
    }
    const slot = this.allocSlot();
    const seq = this.seq++;
    this.fns[slot] = fn;
    this.args[slot] = arg;
    this.slotSeq[slot] = seq;
    this.live++;
    this.siftUp(timeMs, seq, slot);
    return slot;
  }

  private cancelSlot(slot: number, seq: number): void {
    if (this.slotSeq[slot] !== seq) return;
    // The heap entry stays until it reaches the top (or a compaction); the slot is freed then.
    this.slotSeq[slot] = DEAD;
    this.fns[slot] = undefined;
    this.args[slot] = undefined;
    this.live--;
    this.compactIfMostlyCancelled();
  }

  private allocSlot(): number {
    if (this.freeCount > 0) return this.freeSlots[--this.freeCount] as number;
    if (this.slotCount === this.slotSeq.length) {
      this.slotSeq = grow(this.slotSeq);
      this.freeSlots = growInt(this.freeSlots);
    }
    return this.slotCount++;
  }

  private freeSlot(slot: number): void {
    this.slotSeq[slot] = DEAD;
    this.fns[slot] = undefined;
    this.args[slot] = undefined;
    this.freeSlots[this.freeCount++] = slot;
  }

  private dropCancelledTop(): void {
    while (this.size > 0) {
      const slot = this.heapSlot[0] as number;
      if (this.slotSeq[slot] === this.heapSeq[0]) return;
      this.popTop();
      this.freeSlot(slot);
    }
  }

  private siftUp(time: number, seq: number, slot: number): void {
    if (this.size === this.heapTime.length) {
      this.heapTime = grow(this.heapTime);
      this.heapSeq = grow(this.heapSeq);
      this.heapSlot = growInt(this.heapSlot);
    }
    const ht = this.heapTime;
    const hs = this.heapSeq;
    const hl = this.heapSlot;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = ht[parent] as number;
      if (pt < time || (pt === time && (hs[parent] as number) < seq)) break;
      ht[i] = pt;
      hs[i] = hs[parent] as number;
      hl[i] = hl[parent] as number;
      i = parent;
    }
    ht[i] = time;
    hs[i] = seq;
    hl[i] = slot;
  }

  /** Removes the top of the heap and returns its slot. */
  private popTop(): number {
    const hl = this.heapSlot;
    const top = hl[0] as number;
    const n = --this.size;
    if (n > 0)
      this.siftDown(0, this.heapTime[n] as number, this.heapSeq[n] as number, hl[n] as number);
    return top;
  }

  /** Places (time, seq, slot) at position `i` or below, moving smaller children up. */
  private siftDown(i: number, time: number, seq: number, slot: number): void {
    const ht = this.heapTime;
    const hs = this.heapSeq;
    const hl = this.heapSlot;
    const n = this.size;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n) {
        const rt = ht[r] as number;
        const ct = ht[c] as number;
        if (rt < ct || (rt === ct && (hs[r] as number) < (hs[c] as number))) c = r;
      }
      const cTime = ht[c] as number;
      if (time < cTime || (time === cTime && seq < (hs[c] as number))) break;
      ht[i] = cTime;
      hs[i] = hs[c] as number;
      hl[i] = hl[c] as number;
      i = c;
    }
    ht[i] = time;
    hs[i] = seq;
    hl[i] = slot;
  }

  /**
   * Cancelled events stay in the heap until they reach the top. When they outnumber the live ones
   * (timers armed far ahead and cancelled, as timeouts usually are), they are dropped and the heap
   * rebuilt, so the heap holds at most about twice the live events (plus a small constant) and
   * `maxPendingEvents` bounds memory, not just live work.
   */
  private compactIfMostlyCancelled(): void {
    if (this.size < 2 * this.live + 1024) return;
    const ht = this.heapTime;
    const hs = this.heapSeq;
    const hl = this.heapSlot;
    let kept = 0;
    for (let i = 0; i < this.size; i++) {
      const slot = hl[i] as number;
      if (this.slotSeq[slot] !== hs[i]) {
        this.freeSlot(slot);
        continue;
      }
      ht[kept] = ht[i] as number;
      hs[kept] = hs[i] as number;
      hl[kept++] = slot;
    }
    this.size = kept;
    for (let i = (kept >> 1) - 1; i >= 0; i--) {
      this.siftDown(i, ht[i] as number, hs[i] as number, hl[i] as number);
    }
  }
}

function grow(a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}

function growInt(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

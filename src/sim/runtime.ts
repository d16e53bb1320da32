/**
 * A simulated node's runtime: a clock with offset, drift and steps, timers that do not fire while
 * the node is paused, and a seeded random stream. Production components take it in place of the
 * system runtime and run unchanged.
 *
 * @module
 */
import { sleepOn } from '../core/abort.js';
import type { SeededRandom } from '../core/random.js';
import type { Cancel, Clock, Runtime, Timers } from '../core/runtime.js';
import { nonNegative, numberIn, rangeError } from '../core/validate.js';
import type { Scheduler } from './scheduler.js';

/** Options of a {@link SimClock}. */
export interface SimClockOptions {
  /** Wall time at virtual time 0, in Unix milliseconds (default 1,700,000,000,000). */
  epochMs?: number;
  /** Constant offset of this node's wall clock from true time, in ms (default 0). May be negative. */
  offsetMs?: number;
  /**
   * Rate error in parts per million (default 0): at +100 ppm the clock gains 0.1 ms per true second.
   * Bounded to ±500,000 ppm so the clock always moves forwards.
   */
  driftPpm?: number;
}

/**
 * A node's clock in the simulation. Monotonic time runs at `1 + drift` times true virtual time and
 * never decreases; wall time adds an offset that {@link SimClock.stepWallMs} can move either way.
 */
export class SimClock implements Clock {
  private readonly scheduler: Scheduler;
  private readonly epochMs: number;
  private wallOffsetMs: number;
  private rate: number;
  private anchorTrueMs: number;
  private anchorLocalMs: number;

  constructor(scheduler: Scheduler, options: SimClockOptions = {}) {
    this.scheduler = scheduler;
    this.epochMs = options.epochMs ?? 1_700_000_000_000;
    if (!Number.isFinite(this.epochMs))
      throw rangeError('epochMs', 'a finite number', this.epochMs);
    this.wallOffsetMs = options.offsetMs ?? 0;
    if (!Number.isFinite(this.wallOffsetMs))
      throw rangeError('offsetMs', 'a finite number', this.wallOffsetMs);
    this.rate = 1 + numberIn('driftPpm', options.driftPpm ?? 0, -500_000, 500_000) / 1e6;
    this.anchorTrueMs = scheduler.nowMs;
    this.anchorLocalMs = 0;
  }

  /** Local clock rate relative to true time (1 = perfect). */
  get rateFactor(): number {
    return this.rate;
  }

  monotonicMs(): number {
    return this.anchorLocalMs + (this.scheduler.nowMs - this.anchorTrueMs) * this.rate;
  }

  wallMs(): number {
    return this.epochMs + this.wallOffsetMs + this.monotonicMs();
  }

  /** Steps the wall clock by `deltaMs` (negative goes backwards); monotonic time is unaffected. */
  stepWallMs(deltaMs: number): void {
    if (!Number.isFinite(deltaMs)) throw rangeError('deltaMs', 'a finite number', deltaMs);
    this.wallOffsetMs += deltaMs;
  }

  /** Changes the drift from now on. */
  setDriftPpm(driftPpm: number): void {
    this.anchorLocalMs = this.monotonicMs();
    this.anchorTrueMs = this.scheduler.nowMs;
    this.rate = 1 + numberIn('driftPpm', driftPpm, -500_000, 500_000) / 1e6;
  }

  /** True virtual milliseconds that pass while this clock advances by `localMs`. */
  trueDelayMs(localMs: number): number {
    return localMs / this.rate;
  }
}

const noop: Cancel = () => undefined;

/** One armed timer; armed timers form a doubly linked list so that arming and cancelling are O(1). */
class TimerEntry {
  prev: TimerEntry | undefined = undefined;
  next: TimerEntry | undefined = undefined;
  /** Scheduler slot and sequence number of the pending fire event (-1 when none). */
  slot = -1;
  seq = -1;
  armed = true;
  constructor(
    readonly owner: SimTimers,
    readonly fn: () => void,
  ) {}
}

function fireEntry(entry: TimerEntry): void {
  entry.owner['fire'](entry);
}

/**
 * Timers of a simulated node. Delays are in the node's local time (drift applies). While the node
 * is paused, due timers wait and fire in order on resume; a crash discards them all.
 */
export class SimTimers implements Timers {
  private readonly scheduler: Scheduler;
  private readonly clock: SimClock;
  private head: TimerEntry | undefined = undefined;
  private count = 0;
  private deferred: TimerEntry[] = [];
  private paused = false;
  private closed = false;
  private readonly onFire: (() => void) | undefined;

  /**
   * @param options.onFire called just before each timer callback runs (the simulator traces
   *   timer firings through it when asked to).
   */
  constructor(scheduler: Scheduler, clock: SimClock, options: { onFire?: () => void } = {}) {
    this.scheduler = scheduler;
    this.clock = clock;
    this.onFire = options.onFire;
  }

  /** True once {@link SimTimers.close} ran: the process that owned these timers is gone. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Timers armed and not yet fired or cancelled (deferred ones included). */
  get pending(): number {
    return this.count;
  }

  /** True while the node is paused. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** A simulated node has no process to keep alive: `options.keepAlive` changes nothing here. */
  setTimer(ms: number, fn: () => void): Cancel {
    const delay = this.clock.trueDelayMs(nonNegative('ms', ms));
    // A crashed process's stale continuations may still arm timers; they never fire.
    if (this.closed) return noop;
    const entry = new TimerEntry(this, fn);
    this.link(entry);
    this.arm(entry, this.scheduler.nowMs + delay);
    return () => this.cancel(entry);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn((delay, fn) => this.setTimer(delay, fn), ms, signal);
  }

  /** Stops timers from firing; those that come due wait for {@link SimTimers.resume}. */
  pause(): void {
    this.paused = true;
  }

  /** Fires, in order, the timers that came due during the pause, then runs normally. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const due = this.deferred;
    this.deferred = [];
    for (const entry of due) {
      if (entry.armed) this.arm(entry, this.scheduler.nowMs);
    }
  }

  /** Discards every timer (a crash loses the process's volatile state). */
  reset(): void {
    for (let e = this.head; e !== undefined; e = e.next) {
      e.armed = false;
      if (e.slot >= 0) this.scheduler.cancelEvent(e.slot, e.seq);
      e.slot = -1;
    }
    this.head = undefined;
    this.count = 0;
    this.deferred = [];
    this.paused = false;
  }

  /**
   * Discards every timer and refuses new ones for good: a crash ends the process, and code still
   * holding this runtime (stale async continuations) must never run again.
   */
  close(): void {
    this.reset();
    this.closed = true;
  }

  private arm(entry: TimerEntry, atMs: number): void {
    entry.slot = this.scheduler.schedule(atMs, fireEntry, entry);
    entry.seq = this.scheduler.lastSeq;
  }

  private cancel(entry: TimerEntry): void {
    if (!entry.armed) return;
    if (entry.slot >= 0) this.scheduler.cancelEvent(entry.slot, entry.seq);
    entry.slot = -1;
    this.unlink(entry);
  }

  private link(entry: TimerEntry): void {
    entry.next = this.head;
    if (this.head !== undefined) this.head.prev = entry;
    this.head = entry;
    this.count++;
  }

  private unlink(entry: TimerEntry): void {
    entry.armed = false;
    if (entry.prev !== undefined) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next !== undefined) entry.next.prev = entry.prev;
    entry.prev = undefined;
    entry.next = undefined;
    this.count--;
  }

  private fire(entry: TimerEntry): void {
    entry.slot = -1;
    if (!entry.armed) return;
    if (this.paused) {
      this.deferred.push(entry);
      return;
    }
    this.unlink(entry);
    this.onFire?.();
    entry.fn();
  }
}

/** A simulated node's {@link Runtime}, with handles to its clock and timers for fault injection. */
export interface SimRuntime extends Runtime {
  readonly clock: SimClock;
  readonly timers: SimTimers;
  readonly random: SeededRandom;
}

/**
 * Creates the runtime of one simulated process. Its randomness is the scheduler's stream forked
 * by `label`, so adding a node never changes another node's stream.
 *
 * @example
 * const scheduler = new Scheduler({ seed: 1 });
 * const runtime = createSimRuntime(scheduler, 'client-1', { driftPpm: 50 });
 * const breaker = new CircuitBreaker({ runtime });
 */
export function createSimRuntime(
  scheduler: Scheduler,
  label: string,
  clockOptions: SimClockOptions = {},
): SimRuntime {
  const clock = new SimClock(scheduler, clockOptions);
  return { clock, timers: new SimTimers(scheduler, clock), random: scheduler.random.fork(label) };
}

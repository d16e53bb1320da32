/**
 * The deadlock monitor: polls the wait-for edges of several databases, and breaks a cycle of the
 * union — one that no single database sees — once it has been seen on two consecutive readings
 * at least `confirmMs` apart, by cancelling the victim's waits.
 *
 * @module
 */
import { raceAbort } from '../core/abort.js';
import { eventChannel } from '../core/diagnostics.js';
import { Emitter } from '../core/events.js';
import type { Disposable, Listener } from '../core/events.js';
import type { Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { integerIn, rangeError } from '../core/validate.js';
import { DeadlockMonitorTimeoutError } from './errors.js';
import { findDeadlocks } from './global.js';
import type { FoundDeadlock, WaitForEdge } from './global.js';
import { canonicalCycle } from './graph.js';

/**
 * Reads the waits one database sees now, mapped to global transaction ids (e.g.
 * `(s) => postgresWaitForEdges(pool, { globalIdOf })`). It should stop when `signal` aborts.
 */
export type WaitForEdgeSource = (signal: AbortSignal) => Promise<Iterable<WaitForEdge>>;

/**
 * Breaks a confirmed deadlock: tells the victim's transaction it was chosen (so it fails with
 * `deadlock.error`) and cancels its waits (`deadlock.victimWaits`, e.g. with `cancelPostgresWait`
 * or `cancelMariadbWait` by `source`).
 */
export type CancelVictim = (deadlock: FoundDeadlock, signal: AbortSignal) => Promise<void>;

/** What a {@link DeadlockMonitor} reports (also on `faultline:deadlock:monitor`). */
export type DeadlockMonitorEvent =
  | {
      /** A cycle was seen for the first time; it is acted on only if the next readings confirm it. */
      readonly kind: 'suspected';
      readonly cycle: readonly string[];
      readonly atMs: number;
    }
  | {
      /** A confirmed cycle: its victim was cancelled. */
      readonly kind: 'broken';
      readonly deadlock: FoundDeadlock;
      /** How long the cycle had been seen, in ms (at least `confirmMs`). */
      readonly seenMs: number;
    }
  | { readonly kind: 'cancel-failed'; readonly deadlock: FoundDeadlock; readonly error: unknown }
  | {
      /** The reading could not be searched (e.g. `victimOf` threw); nothing was acted on. */
      readonly kind: 'reading-failed';
      readonly error: unknown;
    }
  | {
      /** A source threw or timed out: this reading goes on without its edges. */
      readonly kind: 'source-failed';
      /** The source's index in `sources`. */
      readonly source: number;
      readonly error: unknown;
    };

/** Options of a {@link DeadlockMonitor}. */
export interface DeadlockMonitorOptions {
  /** Where waits are read, one function per database (1 to 64). */
  sources: readonly WaitForEdgeSource[];
  /** Breaks a confirmed deadlock (see {@link CancelVictim}). */
  cancel: CancelVictim;
  /**
   * Milliseconds between the end of one reading and the start of the next; default 1,000. Shorter
   * breaks deadlocks sooner, at one query per source per interval.
   */
  intervalMs?: number;
  /**
   * A cycle is acted on only once it was seen on consecutive readings whose starts are at least
   * this many milliseconds apart; default 200. It must exceed how stale a source can be: InnoDB's
   * lock tables (`INNODB_LOCK_WAITS`) are a snapshot refreshed at most every 100 ms, so a wait
   * that just ended can still show, and two such stale edges could fake a cycle. 0 acts on the
   * first sighting.
   */
  confirmMs?: number;
  /** Deadline of each source read and each cancel, in ms; default 5,000. */
  callTimeoutMs?: number;
  /** Edges one reading may hold, all sources together (default 100,000); the rest are dropped and reported. */
  maxEdges?: number;
  /**
   * Picks the victim of a cycle, as in `findDeadlocks` (default: the greatest id). If it throws or
   * returns a non-member, the reading is reported (`reading-failed`) and nothing is cancelled.
   */
  victimOf?: (cycle: readonly string[]) => string;
  /** The runtime (default: the system runtime). */
  runtime?: Runtime;
}

const MAX_MS = 2 ** 31 - 1;

/** A source's edge, checked: a hostile or broken source is reported instead of stopping the loop. */
function checkEdge(source: number, e: WaitForEdge): WaitForEdge {
  for (const field of ['waiter', 'holder', 'source'] as const)
    if (typeof e?.[field] !== 'string' || e[field].length === 0)
      throw rangeError(`sources[${source}] edge.${field}`, 'a non-empty string', e?.[field]);
  return e;
}
const monitorChannel = eventChannel<DeadlockMonitorEvent>('faultline:deadlock:monitor');

/**
 * Polls every source, builds one wait-for graph from their union, and breaks each cycle that was
 * seen on consecutive readings at least `confirmMs` apart, by calling `cancel` once for it. The
 * victim is chosen as {@link findDeadlocks} chooses it. A source that fails is reported and the
 * reading goes on with the others; a cancel that fails is reported and the cycle, if it stays, is
 * confirmed and cancelled again. Memory is bounded by one reading's cycles.
 *
 * @example
 * await using monitor = new DeadlockMonitor({
 *   sources: [(s) => postgresWaitForEdges(pgPool, ids), (s) => mariadbWaitForEdges(maria, ids)],
 *   cancel: async (d) => { for (const w of d.victimWaits) await cancelWait(w); },
 *   intervalMs: 500,
 * });
 * monitor.onEvent((e) => { if (e.kind === 'broken') log.warn(e.deadlock.error.message); });
 */
export class DeadlockMonitor {
  private readonly sources: readonly WaitForEdgeSource[];
  private readonly cancel: CancelVictim;
  private readonly intervalMs: number;
  private readonly confirmMs: number;
  private readonly callTimeoutMs: number;
  private readonly maxEdges: number;
  private readonly victimOf: ((cycle: readonly string[]) => string) | undefined;
  private readonly runtime: Runtime;
  private readonly events = new Emitter<DeadlockMonitorEvent>(1000, monitorChannel);
  private readonly halt = new AbortController();
  /** Cycles seen on the latest reading, by canonical key: when each was first seen. */
  private suspects = new Map<string, number>();
  private loop: Promise<void> | undefined;
  /** Readings taken. */
  readings = 0;
  /** Deadlocks broken (victims cancelled successfully). */
  broken = 0;

  constructor(options: DeadlockMonitorOptions) {
    const sources = options?.sources;
    if (!Array.isArray(sources) || sources.length < 1 || sources.length > 64)
      throw rangeError('sources', '1 to 64 functions', sources?.length ?? sources);
    sources.forEach((s, i) => {
      if (typeof s !== 'function') throw rangeError(`sources[${i}]`, 'a function', s);
    });
    if (typeof options.cancel !== 'function')
      throw rangeError('cancel', 'a function', options.cancel);
    if (options.victimOf !== undefined && typeof options.victimOf !== 'function')
      throw rangeError('victimOf', 'a function', options.victimOf);
    this.sources = [...sources];
    this.cancel = options.cancel;
    this.intervalMs = integerIn('intervalMs', options.intervalMs ?? 1_000, 1, MAX_MS);
    this.confirmMs = integerIn('confirmMs', options.confirmMs ?? 200, 0, MAX_MS);
    this.callTimeoutMs = integerIn('callTimeoutMs', options.callTimeoutMs ?? 5_000, 1, MAX_MS);
    this.maxEdges = integerIn('maxEdges', options.maxEdges ?? 100_000, 1, 10_000_000);
    this.victimOf = options.victimOf;
    this.runtime = options.runtime ?? systemRuntime();
    this.loop = this.run();
  }

  /** Calls `listener` at every event (synchronously). */
  onEvent(listener: Listener<DeadlockMonitorEvent>): Disposable {
    return this.events.on(listener);
  }

  /** Cycles seen on the latest reading and not acted on yet. */
  get suspected(): number {
    return this.suspects.size;
  }

  private async run(): Promise<void> {
    while (!this.halt.signal.aborted) {
      await this.poll();
      try {
        await this.runtime.timers.sleep(this.intervalMs, this.halt.signal);
      } catch {
        return;
      }
    }
  }

  /** One reading: read every source, confirm or suspect each cycle, cancel confirmed victims. */
  private async poll(): Promise<void> {
    const atMs = this.runtime.clock.monotonicMs();
    const edges = await this.read();
    if (this.halt.signal.aborted) return;
    this.readings++;
    let found: FoundDeadlock[];
    try {
      found = findDeadlocks(edges, this.victimOf ? { victimOf: this.victimOf } : {});
    } catch (error) {
      this.emit({ kind: 'reading-failed', error });
      return;
    }
    const next = new Map<string, number>();
    const confirmed: { deadlock: FoundDeadlock; seenMs: number }[] = [];
    for (const deadlock of found) {
      const key = canonicalCycle(deadlock.cycle).join('\u0000');
      const since = this.suspects.get(key);
      if (since === undefined) {
        next.set(key, atMs);
        this.emit({ kind: 'suspected', cycle: deadlock.cycle, atMs });
      } else if (atMs - since >= this.confirmMs) {
        confirmed.push({ deadlock, seenMs: atMs - since });
      } else {
        next.set(key, since);
      }
    }
    // Only the latest reading's cycles are kept: a cycle missing from one reading starts over.
    this.suspects = next;
    for (const c of confirmed) await this.breakOne(c.deadlock, c.seenMs);
  }

  private async read(): Promise<WaitForEdge[]> {
    const results = await Promise.allSettled(
      this.sources.map((source, i) => this.bounded(`sources[${i}]`, source)),
    );
    const edges: WaitForEdge[] = [];
    results.forEach((r, source) => {
      if (r.status === 'rejected') {
        if (!this.halt.signal.aborted)
          this.emit({ kind: 'source-failed', source, error: r.reason });
        return;
      }
      try {
        for (const e of r.value) {
          if (edges.length >= this.maxEdges)
            throw rangeError('edges of one reading', `at most ${this.maxEdges}`, edges.length + 1);
          edges.push(checkEdge(source, e));
        }
      } catch (error) {
        this.emit({ kind: 'source-failed', source, error });
      }
    });
    return edges;
  }

  private async breakOne(deadlock: FoundDeadlock, seenMs: number): Promise<void> {
    if (this.halt.signal.aborted) return;
    try {
      await this.bounded('cancel', (s) => this.cancel(deadlock, s));
    } catch (error) {
      if (!this.halt.signal.aborted) this.emit({ kind: 'cancel-failed', deadlock, error });
      return;
    }
    this.broken++;
    this.emit({ kind: 'broken', deadlock, seenMs });
  }

  /** Runs `fn` with a deadline; rejects at the deadline or on close even if `fn` ignores its signal. */
  private async bounded<T>(what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const cancelTimer = this.runtime.timers.setTimer(this.callTimeoutMs, () =>
      controller.abort(new DeadlockMonitorTimeoutError(what, this.callTimeoutMs)),
    );
    const onHalt = (): void => controller.abort(this.halt.signal.reason);
    this.halt.signal.addEventListener('abort', onHalt, { once: true });
    try {
      return await raceAbort(
        Promise.resolve().then(() => fn(controller.signal)),
        controller.signal,
      );
    } finally {
      cancelTimer();
      this.halt.signal.removeEventListener('abort', onHalt);
    }
  }

  private emit(event: DeadlockMonitorEvent): void {
    try {
      this.events.emit(event);
    } catch {
      // A failing listener must not stop the monitor.
    }
  }

  /** Stops polling and waits for the reading in progress (its calls are aborted). Idempotent. */
  async close(): Promise<void> {
    this.halt.abort();
    await this.loop;
    this.loop = undefined;
    this.suspects.clear();
    this.events.clear();
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

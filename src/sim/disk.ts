/**
 * A simulated node's durable storage. Writes land in a volatile view at once; `sync()` makes the
 * writes issued before it durable (after an optional fsync latency). A crash keeps only what was
 * synced, so code that acknowledges before syncing loses data in simulation as it would for real.
 *
 * @module
 */
import { integerIn, nonNegative, rangeError } from '../core/validate.js';
import type { Scheduler } from './scheduler.js';

/** Options of a {@link SimDisk}. */
export interface SimDiskOptions {
  /**
   * Virtual ms an fsync takes (default 0: `sync()` completes at once). A latency makes the window
   * between a write and its durability visible to crashes.
   */
  syncLatencyMs?: number;
  /** Upper bound on stored keys (default 100,000); a write beyond it throws a RangeError. */
  maxKeys?: number;
}

const TOMBSTONE: unique symbol = Symbol('deleted');
type Pending = Map<string, unknown>;

/**
 * A key-value disk with fsync semantics. Values are stored by reference: store immutable values
 * (strings, numbers, frozen objects, copies of buffers).
 *
 * @example
 * disk.write('term', 3);
 * await disk.sync(); // 'term' now survives a crash
 */
export class SimDisk {
  private readonly scheduler: Scheduler;
  private readonly gate: (fn: () => void) => void;
  private readonly latencyMs: number;
  private readonly maxKeys: number;
  private durable = new Map<string, unknown>();
  private current = new Map<string, unknown>();
  private dirty: Pending = new Map();
  private epoch = 0;
  private syncs = 0;

  /**
   * @param scheduler the simulation's scheduler.
   * @param gate runs a completion on the owning node (deferred while it is paused, dropped once it
   *   crashed).
   */
  constructor(scheduler: Scheduler, gate: (fn: () => void) => void, options: SimDiskOptions = {}) {
    this.scheduler = scheduler;
    this.gate = gate;
    this.latencyMs = nonNegative('syncLatencyMs', options.syncLatencyMs ?? 0);
    this.maxKeys = integerIn('maxKeys', options.maxKeys ?? 100_000, 1, 2 ** 30);
  }

  /** Number of keys in the current (volatile) view. */
  get size(): number {
    return this.current.size;
  }

  /** Completed syncs so far. */
  get syncCount(): number {
    return this.syncs;
  }

  /** Reads a key from the current view (unsynced writes included). */
  read(key: string): unknown {
    return this.current.get(key);
  }

  /** True when the current view holds `key`. */
  has(key: string): boolean {
    return this.current.has(key);
  }

  /** Keys of the current view, in insertion order. */
  keys(): string[] {
    return [...this.current.keys()];
  }

  /** Writes `value` under `key`; volatile until the next completed {@link SimDisk.sync}. */
  write(key: string, value: unknown): void {
    if (!this.current.has(key) && this.current.size >= this.maxKeys) {
      throw rangeError('disk keys', `at most ${this.maxKeys}`, this.current.size + 1);
    }
    this.current.set(key, value);
    this.dirty.set(key, value);
  }

  /** Deletes `key`; the deletion is volatile until the next completed sync. */
  delete(key: string): void {
    this.current.delete(key);
    this.dirty.set(key, TOMBSTONE);
  }

  /**
   * Makes every write issued so far durable. Resolves (on the owning node) once it is; if the
   * node crashes first, those writes are lost and the promise never settles, like the process.
   */
  sync(): Promise<void> {
    const batch = this.dirty;
    this.dirty = new Map();
    if (this.latencyMs === 0) {
      this.apply(batch);
      return Promise.resolve();
    }
    const epoch = this.epoch;
    return new Promise<void>((resolve) => {
      this.scheduler.after(this.latencyMs, () => {
        if (epoch !== this.epoch) return;
        this.apply(batch);
        this.gate(resolve);
      });
    });
  }

  /** A crash: the volatile view reverts to the durable one and syncs in progress are lost. */
  crash(): void {
    this.epoch++;
    this.dirty = new Map();
    this.current = new Map(this.durable);
  }

  /** Reads `key` from the durable view: what a crash now would keep (no copy of the view). */
  readDurable(key: string): unknown {
    return this.durable.get(key);
  }

  /** The durable contents (what a crash right now would keep), for tests and checkers. */
  durableSnapshot(): ReadonlyMap<string, unknown> {
    return new Map(this.durable);
  }

  private apply(batch: Pending): void {
    for (const [key, value] of batch) {
      if (value === TOMBSTONE) this.durable.delete(key);
      else this.durable.set(key, value);
    }
    this.syncs++;
  }
}

/**
 * Replicated registers that show why last-writer-wins by wall clock loses data, and two fixes.
 * Each register is one replica's state; replicas exchange the snapshots `state()` returns and
 * `merge` them (state-based replication).
 *
 * - {@link WallClockLwwRegister}: the seed's bug. Under clock skew a write that really came later
 *   can carry a smaller wall timestamp and be discarded by every replica.
 * - {@link HlcLwwRegister}: stamps writes with a hybrid logical clock, so a write made after
 *   seeing another always wins over it.
 * - {@link MultiValueRegister}: tracks causality with vector clocks and keeps concurrent writes as
 *   siblings for the application to resolve.
 *
 * @module
 */
import type { Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { integerIn, nonEmptyString, rangeError } from '../core/validate.js';
import type { HlcTimestamp } from './hlc.js';
import { compareHlc } from './hlc.js';
import type { HybridLogicalClock } from './hlc.js';
import { VectorClock } from './vector.js';

/** A wall-clock stamp: Unix ms as the writer's clock read it, and the writer's id as tie-breaker. */
export interface WallStamp {
  readonly wallMs: number;
  readonly node: string;
}

/** A last-writer-wins register's state: the current value and the stamp of the write that set it. */
export interface LwwState<V, S> {
  readonly value: V;
  readonly stamp: S;
}

/** Options of a {@link WallClockLwwRegister}. */
export interface WallClockLwwRegisterOptions {
  /** This replica's id (the tie-breaker on equal wall times). */
  nodeId: string;
  /** Source of wall time. Default: the system runtime. */
  runtime?: Runtime;
}

/**
 * Last-writer-wins by the writer's wall clock. **Unsafe under clock skew** — kept to demonstrate
 * the data loss: a replica whose clock runs behind writes "in the past".
 *
 * @example
 * const a = new WallClockLwwRegister<string>({ nodeId: 'a' });
 * const b = new WallClockLwwRegister<string>({ nodeId: 'b', runtime: fiveSecondsBehind });
 * a.set('first');
 * b.merge(a.state());
 * b.set('second');  // stamped 5 s before 'first': dropped at once
 * b.get();          // 'first'
 */
export class WallClockLwwRegister<V> {
  /** This replica's id. */
  readonly nodeId: string;
  private readonly runtime: Runtime;
  private current: LwwState<V, WallStamp> | undefined;

  constructor(options: WallClockLwwRegisterOptions) {
    this.nodeId = nonEmptyString('nodeId', options.nodeId);
    this.runtime = options.runtime ?? systemRuntime();
  }

  /**
   * Writes `value` stamped with this replica's wall clock. Like a Cassandra cell, the write is
   * reconciled with what the replica holds: if the held write has a larger stamp, the new write
   * is silently lost, even locally. Returns the write that wins.
   */
  set(value: V): LwwState<V, WallStamp> {
    this.merge({ value, stamp: { wallMs: this.runtime.clock.wallMs(), node: this.nodeId } });
    return this.current as LwwState<V, WallStamp>;
  }

  /** The current value (undefined before any write). */
  get(): V | undefined {
    return this.current?.value;
  }

  /** The state to ship to other replicas. */
  state(): LwwState<V, WallStamp> | undefined {
    return this.current;
  }

  /** Keeps whichever write has the larger `(wallMs, node)`. */
  merge(remote: LwwState<V, WallStamp> | undefined): void {
    if (remote === undefined) return;
    const mine = this.current?.stamp;
    if (mine === undefined || compareWall(remote.stamp, mine) > 0) this.current = remote;
  }
}

function compareWall(a: WallStamp, b: WallStamp): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/**
 * Last-writer-wins by hybrid logical clock. Because `merge` feeds the remote stamp to the clock,
 * a write issued after merging another write gets a larger stamp, whatever the wall clocks say.
 * Truly concurrent writes still lose one of the two (that is what LWW means).
 *
 * @example
 * const b = new HlcLwwRegister<string>(new HybridLogicalClock({ nodeId: 'b', maxOffsetMs: 10_000 }));
 * b.merge(a.state());  // observes a's stamp
 * b.set('second');     // stamped after it, even if b's wall clock is behind
 * b.get();             // 'second'
 */
export class HlcLwwRegister<V> {
  private readonly clock: HybridLogicalClock;
  private current: LwwState<V, HlcTimestamp> | undefined;

  /** @param clock this replica's clock, shared with whatever else the node stamps. */
  constructor(clock: HybridLogicalClock) {
    this.clock = clock;
  }

  /** Writes `value` stamped with a fresh HLC timestamp. */
  set(value: V): LwwState<V, HlcTimestamp> {
    this.current = { value, stamp: this.clock.now() };
    return this.current;
  }

  /** The current value (undefined before any write). */
  get(): V | undefined {
    return this.current?.value;
  }

  /** The state to ship to other replicas. */
  state(): LwwState<V, HlcTimestamp> | undefined {
    return this.current;
  }

  /**
   * Observes the remote stamp (may throw `ClockOffsetError`, leaving the register unchanged) and
   * keeps the write with the larger HLC timestamp.
   */
  merge(remote: LwwState<V, HlcTimestamp> | undefined): void {
    if (remote === undefined) return;
    this.clock.receive(remote.stamp);
    const mine = this.current?.stamp;
    if (mine === undefined || compareHlc(remote.stamp, mine) > 0) this.current = remote;
  }
}

/** One sibling of a {@link MultiValueRegister}: a value and the version vector of its write. */
export interface Sibling<V> {
  readonly value: V;
  readonly clock: VectorClock;
}

/** Options of a {@link MultiValueRegister}. */
export interface MultiValueRegisterOptions {
  /** This replica's id: its entry in the version vectors (required, non-empty). */
  nodeId: string;
  /**
   * Most siblings kept (default 64). Beyond it `merge` throws a `RangeError`: sibling explosion
   * is a bug to surface, not to hide by dropping data.
   */
  maxSiblings?: number;
}

/**
 * A multi-value register (as in Dynamo and Riak): a write supersedes exactly the siblings it has
 * seen; concurrent writes are all kept until a later write (which has seen them) replaces them.
 *
 * @example
 * const a = new MultiValueRegister<string>({ nodeId: 'a' });
 * const b = new MultiValueRegister<string>({ nodeId: 'b' });
 * a.set('x');
 * b.set('y');          // concurrent with 'x'
 * a.merge(b.state());
 * a.get();             // ['x', 'y']: both kept for the application to resolve
 * a.set('z');          // has seen both: supersedes them
 */
export class MultiValueRegister<V> {
  /** This replica's id. */
  readonly nodeId: string;
  private readonly maxSiblings: number;
  private siblings: readonly Sibling<V>[] = [];

  constructor(options: MultiValueRegisterOptions) {
    this.nodeId = nonEmptyString('nodeId', options.nodeId);
    this.maxSiblings = integerIn('maxSiblings', options.maxSiblings ?? 64, 1, 1_000_000);
  }

  /** Writes `value`, superseding every sibling this replica holds now. */
  set(value: V): Sibling<V> {
    const seen = this.siblings.reduce((acc, s) => acc.merge(s.clock), VectorClock.empty());
    const sibling = { value, clock: seen.increment(this.nodeId) };
    this.siblings = [sibling];
    return sibling;
  }

  /** The current values: one, or several when writes were concurrent. */
  get(): V[] {
    return this.siblings.map((s) => s.value);
  }

  /** The state to ship to other replicas. */
  state(): readonly Sibling<V>[] {
    return this.siblings;
  }

  /** Adds remote siblings and drops every sibling another one dominates. */
  merge(remote: readonly Sibling<V>[]): void {
    const all = [...this.siblings, ...remote];
    const kept: Sibling<V>[] = [];
    for (const s of all) {
      if (all.some((t) => t.clock.dominates(s.clock))) continue;
      if (kept.some((k) => k.clock.equals(s.clock))) continue;
      kept.push(s);
    }
    if (kept.length > this.maxSiblings) {
      throw rangeError('siblings', `at most maxSiblings (${this.maxSiblings})`, kept.length);
    }
    this.siblings = kept;
  }
}

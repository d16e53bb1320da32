/**
 * The searches behind the checker, over one partition of a history.
 *
 * {@link LinearizabilitySearch} is the Wing–Gong algorithm with Lowe's memoisation, laid out as
 * Porcupine lays it out (Wing and Gong 1993; Lowe 2017; Athalye, Porcupine): the call and return
 * entries of the operations sit in a doubly linked list in time order; the search walks it,
 * linearizing ("lifting") any call that precedes the first return still in the list, and
 * backtracks when it reaches a return whose call is still there. Visited (linearized set, state)
 * pairs are cached so no configuration is explored twice.
 *
 * {@link SequentialSearch} is the same search without real-time order: any process's next
 * operation may come next, which checks sequential consistency.
 *
 * Both are resumable: `run(budget)` does at most `budget` steps, so the checker can interleave the
 * partitions (the first illegal one ends the check) and read its clock between slices.
 *
 * @module
 */
import type { Operation } from './history.js';
import type { Model, ModelInput, ModelOutput } from './model.js';
import { ConfigurationCache } from './cache.js';
import type { CacheBudget } from './cache.js';
import { inputOf, outputOf } from './describe.js';
import { deepEqual, hashValue, mix32 } from './model.js';

/** Where a search is after a slice of work. */
export type SearchStatus = 'running' | 'legal' | 'illegal' | 'full';

/** The deepest point a search reached, in the partition's operation indices. */
export interface PartialResult {
  /** The longest sequence of operations the search could order legally. */
  readonly linearized: readonly number[];
  /** The operation that could not be placed after it (its return came first), if any. */
  readonly failing: number | undefined;
  /** Operations that were candidates at that point and could not be placed either. */
  readonly pending: readonly number[];
}

/** A resumable search over one partition. */
export interface Search {
  run(budget: number): SearchStatus;
  /** Configurations cached so far. */
  readonly visited: number;
  /** The longest partial order found (meaningful after `illegal`). */
  partial(): PartialResult;
  /** Frees the cache once the search is over (`visited` keeps its value); do not run it again. */
  release(): void;
  /** Charges each cached configuration `entryBytes` against a budget shared with other searches. */
  share(budget: CacheBudget, entryBytes: number): void;
}

/** The pieces both searches share: model plumbing, bitset, Zobrist hash and the cache. */
abstract class SearchBase<S> implements Search {
  protected readonly inputs: ModelInput[];
  protected readonly outputs: ModelOutput[];
  protected readonly info: Uint8Array;
  protected readonly keys: Int32Array;
  protected readonly bits: Uint32Array;
  protected readonly cache: ConfigurationCache<S>;
  protected readonly hash: (state: S) => number;
  protected zobrist = 0;
  protected best: PartialResult = { linearized: [], failing: undefined, pending: [] };
  protected bestDepth = -1;

  constructor(
    protected readonly ops: readonly Operation[],
    protected readonly model: Model<S>,
    maxEntries: number,
  ) {
    const n = ops.length;
    this.inputs = ops.map(inputOf);
    this.outputs = ops.map(outputOf);
    this.info = new Uint8Array(n);
    // Zobrist keys: the bitset's hash is the xor of its members' keys, updated in O(1).
    this.keys = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      this.info[i] = (ops[i] as Operation).status === 'info' ? 1 : 0;
      this.keys[i] = mix32(Math.imul(i + 1, 0x9e3779b9) ^ 0x5bd1e995);
    }
    const words = Math.max(1, Math.ceil(n / 32));
    this.bits = new Uint32Array(words);
    const equal = model.equal?.bind(model) ?? deepEqual;
    this.hash = model.hash?.bind(model) ?? hashValue;
    this.cache = new ConfigurationCache<S>(words, equal, maxEntries, 4 * n);
  }

  get visited(): number {
    return this.cache.size;
  }

  partial(): PartialResult {
    return this.best;
  }

  release(): void {
    this.cache.release();
  }

  share(budget: CacheBudget, entryBytes: number): void {
    this.cache.share(budget, entryBytes);
  }

  abstract run(budget: number): SearchStatus;

  /** Marks `op` linearized with `next` and caches it; returns 1 new, 0 seen, -1 cache full. */
  protected visit(op: number, next: S): number {
    const w = op >>> 5;
    const bit = 1 << (op & 31);
    this.bits[w] = (this.bits[w] as number) | bit;
    this.zobrist ^= this.keys[op] as number;
    const added = this.cache.add(this.bits, next, this.zobrist ^ mix32(this.hash(next)));
    if (added !== 1) this.unmark(op);
    return added;
  }

  protected unmark(op: number): void {
    const w = op >>> 5;
    this.bits[w] = (this.bits[w] as number) & ~(1 << (op & 31));
    this.zobrist ^= this.keys[op] as number;
  }

  protected nonInfoCount(): number {
    let remaining = 0;
    for (const flag of this.info) if (flag === 0) remaining++;
    return remaining;
  }
}

const NIL = -1;

/** Wing–Gong–Lowe search for linearizability over one partition. */
export class LinearizabilitySearch<S> extends SearchBase<S> {
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly opOf: Int32Array;
  private readonly match: Int32Array;
  private readonly head: number;
  private readonly stackEntry: Int32Array;
  private readonly stackState: S[] = [];
  private depth = 0;
  private entry: number;
  private state: S;
  /** Non-indeterminate operations not yet linearized; the search succeeds when none is left. */
  private remaining: number;
  private legal = false;

  constructor(ops: readonly Operation[], model: Model<S>, maxEntries: number) {
    super(ops, model, maxEntries);
    const n = ops.length;
    const order = sortedEntries(ops);
    this.head = 2 * n;
    this.next = new Int32Array(2 * n + 1);
    this.prev = new Int32Array(2 * n + 1);
    this.opOf = new Int32Array(2 * n);
    this.match = new Int32Array(2 * n).fill(NIL);
    const callAt = new Int32Array(n);
    for (let i = 0; i < order.length; i++) {
      const code = order[i] as number;
      const op = code >> 1;
      this.opOf[i] = op;
      if ((code & 1) === 0) callAt[op] = i;
      else this.match[callAt[op] as number] = i;
      this.next[i] = i + 1 < order.length ? i + 1 : NIL;
      this.prev[i] = i === 0 ? this.head : i - 1;
    }
    this.next[this.head] = order.length > 0 ? 0 : NIL;
    this.prev[this.head] = NIL;
    this.stackEntry = new Int32Array(n);
    this.entry = this.next[this.head] as number;
    this.state = model.init();
    this.remaining = this.nonInfoCount();
  }

  run(budget: number): SearchStatus {
    const { next, opOf, match, inputs, outputs, info, model } = this;
    let entry = this.entry;
    let state = this.state;
    for (let steps = 0; this.remaining > 0; steps++) {
      if (steps >= budget) {
        this.entry = entry;
        this.state = state;
        return 'running';
      }
      const op = opOf[entry] as number;
      if (match[entry] !== NIL) {
        const result = model.step(state, inputs[op] as ModelInput, outputs[op] as ModelOutput);
        if (result.ok) {
          const added = this.visit(op, result.next);
          if (added < 0) return 'full';
          if (added === 1) {
            this.stackEntry[this.depth] = entry;
            this.stackState[this.depth++] = state;
            state = result.next;
            this.lift(entry);
            if (info[op] === 0) this.remaining--;
            entry = next[this.head] as number;
            continue;
          }
        }
        entry = next[entry] as number;
      } else {
        // A return whose call is still in the list: nothing before it fits here; backtrack.
        if (this.depth === 0) {
          if (this.bestDepth < 0) this.recordBest(entry);
          return 'illegal';
        }
        if (this.depth > this.bestDepth) this.recordBest(entry);
        entry = this.stackEntry[--this.depth] as number;
        state = this.stackState[this.depth] as S;
        const lifted = opOf[entry] as number;
        this.unmark(lifted);
        this.unlift(entry);
        if (info[lifted] === 0) this.remaining++;
        entry = next[entry] as number;
      }
    }
    this.entry = entry;
    this.state = state;
    this.legal = true;
    return 'legal';
  }

  /** Removes a call entry and its return from the list. */
  private lift(entry: number): void {
    const { next, prev } = this;
    unlink(next, prev, entry);
    unlink(next, prev, this.match[entry] as number);
  }

  /** Puts them back, in the reverse order of {@link lift}. */
  private unlift(entry: number): void {
    const { next, prev } = this;
    relink(next, prev, this.match[entry] as number);
    relink(next, prev, entry);
  }

  private recordBest(returnEntry: number): void {
    this.bestDepth = this.depth;
    const linearized = Array.from(
      this.stackEntry.subarray(0, this.depth),
      (e) => this.opOf[e] as number,
    );
    const pending: number[] = [];
    for (
      let e = this.next[this.head] as number;
      e !== returnEntry && e !== NIL;
      e = this.next[e] as number
    ) {
      if (this.match[e] !== NIL && this.opOf[e] !== this.opOf[returnEntry])
        pending.push(this.opOf[e] as number);
    }
    this.best = { linearized, failing: this.opOf[returnEntry], pending };
  }

  override partial(): PartialResult {
    if (!this.legal) return this.best;
    // After success the stack holds a whole linearization; build it only when asked.
    const linearized: number[] = [];
    for (let d = 0; d < this.depth; d++)
      linearized.push(this.opOf[this.stackEntry[d] as number] as number);
    return { linearized, failing: undefined, pending: [] };
  }
}

function unlink(next: Int32Array, prev: Int32Array, e: number): void {
  const p = prev[e] as number;
  const n = next[e] as number;
  next[p] = n;
  if (n !== NIL) prev[n] = p;
}

function relink(next: Int32Array, prev: Int32Array, e: number): void {
  const p = prev[e] as number;
  const n = next[e] as number;
  next[p] = e;
  if (n !== NIL) prev[n] = e;
}

/**
 * The entries in time order, encoded `op * 2` (call) or `op * 2 + 1` (return). At equal times
 * calls come first, so operations that touch at an instant count as concurrent.
 */
function sortedEntries(ops: readonly Operation[]): number[] {
  const codes: number[] = [];
  const times = new Float64Array(ops.length * 2);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as Operation;
    codes.push(i * 2, i * 2 + 1);
    times[i * 2] = op.call;
    times[i * 2 + 1] = op.ret;
  }
  const compare = (a: number, b: number): number => {
    const ta = times[a] as number;
    const tb = times[b] as number;
    if (ta !== tb) return ta < tb ? -1 : 1;
    return (a & 1) - (b & 1) || a - b;
  };
  return codes.sort(compare);
}

/**
 * The same search without real-time order: checks sequential consistency. The next operation may
 * be any operation whose process has no earlier *completed* operation still unplaced (an
 * indeterminate operation never completes, so, as in the real-time search, it orders nothing after
 * it and may be left out). Candidates are tried in invocation order.
 */
export class SequentialSearch<S> extends SearchBase<S> {
  /** Per operation: its process (dense index) and its rank within that process. */
  private readonly processOf: Int32Array;
  private readonly rankOf: Int32Array;
  /** Per operation: the rank of the next determinate operation of its process after it. */
  private readonly nextDeterminate: Int32Array;
  /** Operation indices in invocation order. */
  private readonly order: Int32Array;
  /** Per process: the rank of its first unplaced determinate operation. */
  private readonly frontier: Int32Array;
  private readonly stackCursor: Int32Array;
  private readonly stackState: S[] = [];
  private depth = 0;
  /** Next choice at this level: a rank in `order`. */
  private cursor = 0;
  private state: S;
  private remaining: number;

  /**
   * @param beforeStep called with the operation's index before each model step (the product of
   *   partition models uses it to route the step to the operation's component).
   */
  constructor(
    ops: readonly Operation[],
    model: Model<S>,
    maxEntries: number,
    private readonly beforeStep?: (op: number) => void,
  ) {
    super(ops, model, maxEntries);
    const n = ops.length;
    const sorted = ops
      .map((_, i) => i)
      .sort((a, b) => (ops[a] as Operation).call - (ops[b] as Operation).call || a - b);
    this.order = Int32Array.from(sorted);
    const byProcess = new Map<unknown, number[]>();
    for (const op of sorted) {
      const p = (ops[op] as Operation).process;
      const list = byProcess.get(p);
      if (list === undefined) byProcess.set(p, [op]);
      else list.push(op);
    }
    this.processOf = new Int32Array(n);
    this.rankOf = new Int32Array(n);
    this.nextDeterminate = new Int32Array(n);
    this.frontier = new Int32Array(byProcess.size);
    [...byProcess.values()].forEach((list, p) => this.indexProcess(p, list));
    this.stackCursor = new Int32Array(n);
    this.state = model.init();
    this.remaining = this.nonInfoCount();
  }

  private indexProcess(p: number, list: readonly number[]): void {
    let next = list.length;
    for (let r = list.length - 1; r >= 0; r--) {
      const op = list[r] as number;
      this.processOf[op] = p;
      this.rankOf[op] = r;
      this.nextDeterminate[op] = next;
      if (this.info[op] === 0) next = r;
    }
    this.frontier[p] = next;
  }

  run(budget: number): SearchStatus {
    const n = this.order.length;
    for (let steps = 0; this.remaining > 0; steps++) {
      if (steps >= budget) return 'running';
      if (this.cursor >= n) {
        if (this.depth === 0) {
          if (this.bestDepth < 0) this.recordBest();
          return 'illegal';
        }
        if (this.depth > this.bestDepth) this.recordBest();
        this.pop();
        continue;
      }
      if (this.tryCursor() < 0) return 'full';
    }
    this.recordBest();
    this.best = { ...this.best, failing: undefined, pending: [] };
    return 'legal';
  }

  /** True when `op` may come next: unplaced, and no completed operation of its process is pending before it. */
  private eligible(op: number): boolean {
    if (((this.bits[op >>> 5] as number) & (1 << (op & 31))) !== 0) return false;
    return (this.rankOf[op] as number) <= (this.frontier[this.processOf[op] as number] as number);
  }

  /** Tries the operation under the cursor; returns -1 when the cache is full. */
  private tryCursor(): number {
    const op = this.order[this.cursor] as number;
    if (!this.eligible(op)) {
      this.cursor++;
      return 0;
    }
    this.beforeStep?.(op);
    const result = this.model.step(
      this.state,
      this.inputs[op] as ModelInput,
      this.outputs[op] as ModelOutput,
    );
    const added = result.ok ? this.visit(op, result.next) : 0;
    if (added !== 1 || !result.ok) {
      this.cursor++;
      return added;
    }
    this.stackCursor[this.depth] = this.cursor;
    this.stackState[this.depth++] = this.state;
    this.state = result.next;
    if (this.info[op] === 0) {
      this.remaining--;
      this.frontier[this.processOf[op] as number] = this.nextDeterminate[op] as number;
    }
    this.cursor = 0;
    return 1;
  }

  private pop(): void {
    this.cursor = this.stackCursor[--this.depth] as number;
    this.state = this.stackState[this.depth] as S;
    const op = this.order[this.cursor] as number;
    this.unmark(op);
    if (this.info[op] === 0) {
      this.remaining++;
      this.frontier[this.processOf[op] as number] = this.rankOf[op] as number;
    }
    this.cursor++;
  }

  private recordBest(): void {
    this.bestDepth = this.depth;
    const linearized: number[] = [];
    for (let d = 0; d < this.depth; d++)
      linearized.push(this.order[this.stackCursor[d] as number] as number);
    const pending: number[] = [];
    for (const op of this.order) if (this.info[op] === 0 && this.eligible(op)) pending.push(op);
    this.best = { linearized, failing: pending[0], pending: pending.slice(1) };
  }
}

/**
 * The checker: splits a history into the model's partitions, searches each one, and returns a
 * verdict. Partitions are searched in interleaved slices, as if in parallel, so the first illegal
 * partition ends the whole check even when another partition is slow; the clock is read between
 * slices only, so an optional timeout costs nothing on the hot path.
 *
 * @module
 */
import type { Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { integerIn, rangeError } from '../core/validate.js';
import type { HistoryEvent, Operation } from './history.js';
import { HistoryError, toOperations, validateOperation } from './history.js';
import { CacheBudget } from './cache.js';
import { inputOf, outputOf } from './describe.js';
import type { Model } from './model.js';
import { productModel } from './product.js';
import type { PartialResult, Search } from './search.js';
import { LinearizabilitySearch, SequentialSearch } from './search.js';

/** The consistency criterion to check. */
export type Criterion = 'linearizable' | 'sequential';

/** Options of {@link check}. */
export interface CheckOptions {
  /**
   * `linearizable` (default): every operation takes effect at one instant between its invocation
   * and its completion. `sequential`: operations take effect in some order that respects each
   * process's own order but not real time (sequential consistency), a weaker guarantee.
   */
  readonly criterion?: Criterion;
  /**
   * Give up after this many milliseconds of the runtime's monotonic clock and return `unknown`.
   * Default: no timeout. The clock is read between slices of the search (see `sliceSteps`) and
   * between operations while they are validated, so the check may run over by about a
   * millisecond, or one model step when a single step takes longer.
   */
  readonly timeoutMs?: number;
  /** Supplies the clock for the timeout. Default: the system runtime. */
  readonly runtime?: Runtime;
  /**
   * Upper bound on cached configurations per partition (default 2^24, about 16.7 million). The
   * cache is what keeps the search polynomial in practice; past the bound the verdict is
   * `unknown` (reason `cache-limit`) instead of running out of memory.
   */
  readonly maxCacheEntries?: number;
  /**
   * Upper bound on the memory of the caches of all partitions together, in bytes (default 2^30,
   * 1 GiB). An entry stores a bitset of its partition's operations and costs an estimated
   * `4 * ceil(n / 32) + 24` bytes for `n` operations; a partition's cache gives its bytes back when
   * the partition is decided. Past the bound the verdict is `unknown` (reason `cache-limit`).
   */
  readonly maxCacheBytes?: number;
  /**
   * Search steps per slice at most (default 20000): each partition runs this many steps before
   * the next one gets a turn. With a timeout the slices adapt: they start at one step and grow or
   * shrink so that one slice takes about a millisecond, so the timeout holds even when single
   * steps are expensive (the clock is read between slices).
   */
  readonly sliceSteps?: number;
  /**
   * Called between slices of the search with how far it got, for a progress display (the command
   * line draws one on a terminal). It must not throw; throttle expensive work, since it may be
   * called thousands of times a second.
   */
  readonly onProgress?: (progress: CheckProgress) => void;
}

/** How far a check got, for {@link CheckOptions.onProgress}. */
export interface CheckProgress {
  /** Which search runs: linearizability first, sequential consistency after it when asked. */
  readonly phase: Criterion;
  /** Partitions searched in this phase. */
  readonly partitions: number;
  /** Of them, those not decided yet. */
  readonly undecided: number;
  /** Configurations cached so far in this phase, over its partitions. */
  readonly visited: number;
}

/** Why an illegal history is illegal: the deepest point the search reached in one partition. */
export interface Counterexample {
  /** Index of the illegal partition. */
  readonly partition: number;
  /** The partition's operations. */
  readonly operations: readonly Operation[];
  /** The longest legal order of operations found (a partial linearization). */
  readonly linearized: readonly Operation[];
  /** The operation that could not be placed after it. */
  readonly failing: Operation | undefined;
  /** Other operations that could have come next and could not be placed either. */
  readonly pending: readonly Operation[];
}

/** The fields every {@link CheckResult} has, whatever its verdict. */
export interface ResultBase {
  readonly criterion: Criterion;
  /** Operations in the history. */
  readonly operations: number;
  /** Partitions the model split the history into. */
  readonly partitions: number;
  /** Configurations the search cached, over all partitions it ran. */
  readonly visited: number;
}

/** The verdict. `legal` means linearizable (or sequentially consistent), `illegal` means not. */
export type CheckResult =
  | (ResultBase & { readonly kind: 'legal' })
  | (ResultBase & { readonly kind: 'illegal'; readonly counterexample: Counterexample })
  | (ResultBase & { readonly kind: 'unknown'; readonly reason: 'timeout' | 'cache-limit' });

interface Options {
  criterion: Criterion;
  deadline: number;
  runtime: Runtime | undefined;
  maxCacheEntries: number;
  maxCacheBytes: number;
  sliceSteps: number;
  budget: CacheBudget;
  onProgress: ((progress: CheckProgress) => void) | undefined;
}

function validate(options: CheckOptions): Options {
  if (typeof options !== 'object' || options === null)
    throw rangeError('options', 'an object', options);
  const criterion = options.criterion ?? 'linearizable';
  if (criterion !== 'linearizable' && criterion !== 'sequential') {
    throw rangeError('criterion', '"linearizable" or "sequential"', criterion);
  }
  const timeoutMs = options.timeoutMs;
  if (
    timeoutMs !== undefined &&
    (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0)
  ) {
    throw rangeError('timeoutMs', 'a number >= 0', timeoutMs);
  }
  const maxCacheEntries = integerIn(
    'maxCacheEntries',
    options.maxCacheEntries ?? 2 ** 24,
    1,
    2 ** 30,
  );
  const maxCacheBytes = integerIn('maxCacheBytes', options.maxCacheBytes ?? 2 ** 30, 1, 2 ** 40);
  const sliceSteps = integerIn('sliceSteps', options.sliceSteps ?? 20000, 1, 2 ** 30);
  const runtime = timeoutMs === undefined ? undefined : (options.runtime ?? systemRuntime());
  const deadline =
    runtime === undefined ? Infinity : runtime.clock.monotonicMs() + (timeoutMs as number);
  const budget = new CacheBudget(maxCacheBytes);
  const onProgress = options.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function')
    throw rangeError('onProgress', 'a function', onProgress);
  return {
    criterion,
    deadline,
    runtime,
    maxCacheEntries,
    maxCacheBytes,
    sliceSteps,
    budget,
    onProgress,
  };
}

/**
 * Checks a history against a model. Accepts raw events (paired with {@link toOperations}) or
 * operations already paired.
 *
 * @example
 * import { check, casRegister } from 'faultline/check';
 * const result = check(
 *   [
 *     { process: 0, type: 'invoke', f: 'write', value: 1 },
 *     { process: 1, type: 'invoke', f: 'read', value: null },
 *     { process: 0, type: 'ok', f: 'write', value: 1 },
 *     { process: 1, type: 'ok', f: 'read', value: 1 },
 *   ],
 *   casRegister(),
 * );
 * result.kind; // 'legal'
 */
export function check<S>(
  history: readonly HistoryEvent[] | readonly Operation[],
  model: Model<S>,
  options: CheckOptions = {},
): CheckResult {
  const opts = validate(options);
  validateModel(model);
  const ops = operationsOf(history);
  const checked = dryRun(model, ops, opts);
  const parts = partitionOf(model, ops)
    .map((part) => simplified(model, withoutIndeterminateReads(model, part)))
    .filter((part) => part.length > 0);
  const base = { criterion: opts.criterion, operations: ops.length, partitions: parts.length };
  if (!checked || passed(opts)) return { ...base, visited: 0, kind: 'unknown', reason: 'timeout' };
  const linear = parts.map((part) =>
    shared(new LinearizabilitySearch(part, model, cacheEntries(part.length, opts)), part, opts),
  );
  const outcome = interleave(linear, opts, 'linearizable');
  let visited = linear.reduce((sum, s) => sum + s.visited, 0);
  // The sequential search below needs none of these caches (the counterexample is its own).
  if (opts.criterion === 'sequential' && outcome.kind !== 'legal')
    linear.forEach((s) => s.release());
  if (opts.criterion === 'linearizable' || outcome.kind === 'legal')
    return verdict(base, visited, outcome, parts, linear);
  // Not linearizable (or undecided): search for a sequentially consistent order. Linearizable
  // histories never get here, since a linearization is a sequentially consistent order too.
  const whole = sequentialSearch(model, parts, opts);
  shared(whole.search, whole.ops, opts);
  const second = interleave([whole.search], opts, 'sequential');
  visited += whole.search.visited;
  return verdict(base, visited, second, [whole.ops], [whole.search]);
}

/** Checks that `model` has at least the two methods every model has. */
function validateModel(model: unknown): void {
  const m = model as Partial<Model<unknown>> | null;
  if (
    typeof m !== 'object' ||
    m === null ||
    typeof m.init !== 'function' ||
    typeof m.step !== 'function'
  ) {
    throw rangeError('model', 'a model with init() and step()', model);
  }
}

/** The history's operations: paired from events, or validated when already paired. */
function operationsOf(history: unknown): readonly Operation[] {
  if (!Array.isArray(history)) {
    throw new HistoryError(
      `a history must be an array of events or operations (got ${history === null ? 'null' : typeof history})`,
    );
  }
  if (!isOperations(history)) return toOperations(history as HistoryEvent[]);
  history.forEach((op: unknown, index) => validateOperation(op, index));
  return history as readonly Operation[];
}

/** True when the timeout has passed. */
function passed(opts: Options): boolean {
  return opts.runtime !== undefined && opts.runtime.clock.monotonicMs() > opts.deadline;
}

/** Makes `search` charge its cache against the check's memory budget. */
function shared(search: Search, ops: readonly Operation[], opts: Options): Search {
  search.share(opts.budget, bytesPerEntry(ops.length));
  return search;
}

/**
 * Steps every operation once from the initial state, so that an operation the model cannot read
 * (an unknown `f`, a malformed argument) fails before the search, with its line. False when the
 * timeout passed first.
 */
function dryRun<S>(model: Model<S>, ops: readonly Operation[], opts: Options): boolean {
  const init = model.init();
  for (const op of ops) {
    if (passed(opts)) return false;
    try {
      model.step(init, inputOf(op), outputOf(op));
    } catch (error) {
      if (error instanceof HistoryError && error.line === undefined && op.line !== undefined) {
        throw new HistoryError(error.message, op.line);
      }
      throw error;
    }
  }
  return true;
}

/**
 * Leaves out indeterminate operations the model calls read-only. Such an operation is optional,
 * accepts any result and changes no state, so every order with it is an order without it: dropping
 * it is exact for both criteria. Kept in, each one doubles the configurations the search may visit
 * (a run with a few dozen timed-out reads would not finish).
 */
function withoutIndeterminateReads<S>(model: Model<S>, ops: Operation[]): Operation[] {
  const readOnly = model.readOnly;
  if (readOnly === undefined) return ops;
  return ops.filter((op) => op.status !== 'info' || !readOnly.call(model, inputOf(op)));
}

/** Applies the model's `simplify`, checking that it removed only indeterminate operations. */
function simplified<S>(model: Model<S>, ops: Operation[]): Operation[] {
  if (model.simplify === undefined) return ops;
  const kept = model.simplify(ops);
  const given = new Set(ops);
  const keptSet = new Set(kept);
  const bad =
    keptSet.size !== kept.length ||
    kept.some((op) => !given.has(op)) ||
    ops.some((op) => op.status !== 'info' && !keptSet.has(op));
  if (bad) {
    throw rangeError(
      `${model.name}.simplify`,
      'a subset of the operations keeping every determinate one',
      `${kept.length} of ${ops.length} operations`,
    );
  }
  return reindex(kept);
}

/**
 * The sequential-consistency search. Sequential consistency is not compositional (each key being
 * sequentially consistent does not make the whole history so), so a partitioned model is searched
 * as the product of its partitions.
 */
function sequentialSearch<S>(
  model: Model<S>,
  parts: readonly Operation[][],
  opts: Options,
): { ops: Operation[]; search: Search } {
  if (parts.length <= 1) {
    const ops = parts[0] ?? [];
    return { ops, search: new SequentialSearch(ops, model, cacheEntries(ops.length, opts)) };
  }
  const ops = reindex(parts.flat());
  const product = productModel(model, ops, parts);
  return {
    ops,
    search: new SequentialSearch(ops, product.model, cacheEntries(ops.length, opts), product.route),
  };
}

/**
 * The entry bound of a cache over `n` operations: `maxCacheEntries`, lowered so that the cache
 * stays within `maxCacheBytes` (per entry: the bitset, two 4-byte slots at a load factor of at
 * most one half, and the state reference).
 */
function cacheEntries(n: number, opts: Options): number {
  return Math.max(
    1,
    Math.min(opts.maxCacheEntries, Math.floor(opts.maxCacheBytes / bytesPerEntry(n))),
  );
}

/** The estimated bytes of one cache entry over `n` operations. */
function bytesPerEntry(n: number): number {
  return 4 * Math.max(1, Math.ceil(n / 32)) + 24;
}

function verdict(
  base: Omit<ResultBase, 'visited'>,
  visited: number,
  outcome: Outcome,
  parts: readonly Operation[][],
  searches: readonly Search[],
): CheckResult {
  if (outcome.kind === 'legal') return { ...base, visited, kind: 'legal' };
  if (outcome.kind === 'unknown')
    return { ...base, visited, kind: 'unknown', reason: outcome.reason };
  const index = outcome.partition;
  const counterexample = toCounterexample(
    index,
    parts[index] ?? [],
    (searches[index] as Search).partial(),
  );
  return { ...base, visited, kind: 'illegal', counterexample };
}

type Outcome =
  | { kind: 'legal' }
  | { kind: 'illegal'; partition: number }
  | { kind: 'unknown'; reason: 'timeout' | 'cache-limit' };

/** About how long one slice of a timed search takes, in milliseconds. */
const sliceTargetMs = 1;

/**
 * Runs the searches round-robin, one slice each, until one is illegal or all are legal. With a
 * timeout, slices start at one step and double or halve towards {@link sliceTargetMs}.
 */
function interleave(searches: readonly Search[], opts: Options, phase: Criterion): Outcome {
  let active = searches.map((_, i) => i);
  // A partition that fills its cache is undecided, but another one may still prove illegality.
  let full = false;
  const clock = opts.runtime?.clock;
  let steps = clock === undefined ? opts.sliceSteps : 1;
  while (active.length > 0) {
    if (opts.onProgress !== undefined) {
      const visited = searches.reduce((sum, search) => sum + search.visited, 0);
      opts.onProgress({ phase, partitions: searches.length, undecided: active.length, visited });
    }
    const still: number[] = [];
    for (const i of active) {
      const before = clock?.monotonicMs() ?? 0;
      if (before > opts.deadline) return { kind: 'unknown', reason: 'timeout' };
      const status = (searches[i] as Search).run(steps);
      if (status === 'illegal') return { kind: 'illegal', partition: i };
      if (status === 'full') full = true;
      // A decided partition's cache is no longer needed: memory is held by undecided ones only.
      if (status !== 'running') (searches[i] as Search).release();
      if (status === 'running') still.push(i);
      if (clock !== undefined) {
        const ms = clock.monotonicMs() - before;
        if (before + ms > opts.deadline) return { kind: 'unknown', reason: 'timeout' };
        if (ms < sliceTargetMs / 2) steps = Math.min(opts.sliceSteps, steps * 2);
        else if (ms > sliceTargetMs * 2) steps = Math.max(1, Math.floor(steps / 2));
      }
    }
    active = still;
  }
  return full ? { kind: 'unknown', reason: 'cache-limit' } : { kind: 'legal' };
}

function partitionOf<S>(model: Model<S>, ops: readonly Operation[]): Operation[][] {
  if (model.partition === undefined) return ops.length === 0 ? [] : [reindex(ops)];
  const parts = model.partition(ops).filter((part) => part.length > 0);
  // A partition that loses or repeats operations would make any verdict meaningless.
  const seen = new Set<Operation>();
  for (const part of parts) for (const op of part) seen.add(op);
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  if (seen.size !== ops.length || total !== ops.length) {
    throw rangeError(
      `${model.name}.partition`,
      `a split of the ${ops.length} operations into disjoint parts`,
      `${total} operations`,
    );
  }
  return parts.map(reindex);
}

/** Partitions number their operations 0..n-1 for the bitsets; the original ids stay reachable. */
function reindex(ops: readonly Operation[]): Operation[] {
  return [...ops].sort((a, b) => a.call - b.call || a.id - b.id);
}

function isOperations(
  history: readonly HistoryEvent[] | readonly Operation[],
): history is readonly Operation[] {
  const first: unknown = history[0];
  return typeof first === 'object' && first !== null && 'status' in first && 'call' in first;
}

function toCounterexample(
  partition: number,
  ops: readonly Operation[],
  partial: PartialResult,
): Counterexample {
  const at = (i: number): Operation => ops[i] as Operation;
  return {
    partition,
    operations: ops,
    linearized: partial.linearized.map(at),
    failing: partial.failing === undefined ? undefined : at(partial.failing),
    pending: partial.pending.map(at),
  };
}

/**
 * The model contract: a sequential specification of an object, which the checker replays
 * operations against. Models are pure: `step` never mutates the state it is given.
 *
 * @module
 */
import type { Operation, ProcessId, Status } from './history.js';

/** What an operation asked for: its function, key and argument. */
export interface ModelInput {
  readonly f: string;
  /** The process that invoked the operation (the owner, for a mutex). */
  readonly process: ProcessId;
  readonly key?: string;
  /** The invocation's value. */
  readonly value: unknown;
}

/**
 * How an operation ended. `info` means the result is unknown: the model must accept any result
 * (the checker itself also considers that the operation never took effect).
 */
export interface ModelOutput {
  readonly status: Status;
  /** The completion's value; `null` for `info`. */
  readonly value: unknown;
}

/** The result of applying one operation: legal with a next state, or illegal. */
export type StepResult<S> = { readonly ok: true; readonly next: S } | { readonly ok: false };

/** The shared illegal result; models may return it instead of allocating. */
export const illegal: StepResult<never> = Object.freeze({ ok: false });

/**
 * A sequential specification. Implement `init` and `step`; the rest is optional.
 *
 * @example
 * const counter: Model<number> = {
 *   name: 'counter',
 *   init: () => 0,
 *   step: (state, input, output) => {
 *     if (input.f === 'incr') return { ok: true, next: state + 1 };
 *     if (output.status !== 'ok') return { ok: true, next: state };
 *     return output.value === state ? { ok: true, next: state } : illegal;
 *   },
 *   hash: (state) => state,
 * };
 */
export interface Model<S> {
  /** A short name for reports. */
  readonly name: string;
  /** The initial state. */
  init(): S;
  /**
   * Applies `input` with the observed `output` to `state`. Returns `{ ok: false }` when the output
   * is impossible in that state. Must not mutate `state`.
   */
  step(state: S, input: ModelInput, output: ModelOutput): StepResult<S>;
  /**
   * True when the operation never changes the state, whatever its result (a read). The checker
   * drops such an operation when it is indeterminate (`info`, or never completed): it returns
   * nothing and changes nothing, so it constrains no order, and leaving it in would make the search
   * consider every subset of timed-out reads (exponential in their number). Default: none are.
   * Answering true for an operation that can change the state makes verdicts wrong.
   */
  readOnly?(input: ModelInput): boolean;
  /**
   * Removes indeterminate (`info`) operations that cannot change the verdict, before the search:
   * each one the search keeps may be placed anywhere after its invocation, or nowhere, which is
   * what makes histories with many timeouts slow. Called once per partition. It must only remove
   * `info` operations, and only ones such that every legal order with them has a legal order
   * without them (e.g. a register write whose value no completed read returned). Default: none.
   */
  simplify?(operations: readonly Operation[]): Operation[];
  /**
   * Splits the operations into independent sub-histories checked separately
   * (P-compositionality), such as one per key. Default: one partition.
   */
  partition?(operations: readonly Operation[]): Operation[][];
  /**
   * A 32-bit hash of a state, equal for equal states. Default: {@link hashValue}, a structural
   * hash. Supplying a cheap one speeds up the search, whose cache hashes every state it visits.
   */
  hash?(state: S): number;
  /** State equality. Default: {@link deepEqual}. */
  equal?(a: S, b: S): boolean;
  /** Text for reports and the HTML visualisation. */
  readonly describe?: {
    operation?(input: ModelInput, output: ModelOutput): string;
    state?(state: S): string;
  };
}

/** A model whose state type is not known statically (what the CLI and formats deal in). */
export type AnyModel = Model<unknown>;

/** Mixes a 32-bit integer (murmur3 finaliser); spreads nearby values over the table. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** FNV-1a over a string's UTF-16 code units, continuing from `seed`; appends can be hashed incrementally. */
export function hashStringFrom(seed: number, text: string): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** The FNV-1a offset basis, the seed of {@link hashStringFrom} for a whole string. */
export const fnvSeed = 0x811c9dc5 | 0;

/**
 * A structural 32-bit hash of a JSON-like value (null, booleans, numbers, strings, arrays, plain
 * objects, Sets and Maps). Object key order does not matter; Set and Map order does not matter.
 */
export function hashValue(value: unknown): number {
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value) && Math.abs(value) < 2 ** 31
        ? mix32(value)
        : hashStringFrom(fnvSeed, `n${value}`);
    case 'string':
      return hashStringFrom(0x1234567, value);
    case 'boolean':
      return value ? 0x51ed27 : 0x2f0b3c;
    case 'undefined':
      return 0x3c6ef372;
    case 'bigint':
      return hashStringFrom(fnvSeed, `b${value}`);
    case 'object':
      return hashObject(value);
    default:
      return 0x7f4a7c15;
  }
}

function hashObject(value: object | null): number {
  if (value === null) return 0x6a09e667;
  if (Array.isArray(value)) {
    let h = 0x243f6a88;
    for (const item of value) h = Math.imul(h ^ hashValue(item), 0x01000193);
    return h | 0;
  }
  if (value instanceof Set) {
    let h = 0x13198a2e;
    for (const item of value) h ^= mix32(hashValue(item));
    return h | 0;
  }
  if (value instanceof Map) {
    let h = 0x03707344;
    for (const [k, v] of value) h ^= mix32(hashValue(k) + Math.imul(hashValue(v), 31));
    return h | 0;
  }
  let h = 0x299f31d0;
  for (const [k, v] of Object.entries(value))
    h ^= mix32(hashValue(k) + Math.imul(hashValue(v), 31));
  return h | 0;
}

/** Structural equality for the values {@link hashValue} hashes. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  if (a instanceof Set)
    return b instanceof Set && a.size === b.size && [...a].every((x) => b.has(x));
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !deepEqual(v, b.get(k))) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const bo = b as Record<string, unknown>;
  return ka.every(
    (k) => Object.hasOwn(bo, k) && deepEqual((a as Record<string, unknown>)[k], bo[k]),
  );
}

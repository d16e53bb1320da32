/**
 * Built-in models: register, compare-and-set register, key-value store, mutex, set, FIFO queue.
 *
 * Conventions shared by all of them: an `ok` operation took effect with the recorded result; a
 * `fail` operation did not take effect (the CAS register gives `fail` on `cas` the meaning
 * "executed and returned false", as Jepsen's etcd tests and Porcupine do); an `info` operation may
 * have taken effect with any result (the checker also tries leaving it out).
 *
 * @module
 */
import { HistoryError } from './history.js';
import { showValue } from './describe.js';
import type { Operation, ProcessId } from './history.js';
import type { Model, ModelInput, ModelOutput, StepResult } from './model.js';
import { deepEqual, fnvSeed, hashStringFrom, hashValue, illegal, mix32 } from './model.js';

function legal<S>(next: S): StepResult<S> {
  return { ok: true, next };
}

/** The operations each built-in model understands, for error messages. */
const operationsOf: Readonly<Record<string, readonly string[]>> = {
  register: ['read', 'write'],
  'cas-register': ['read', 'write', 'cas'],
  kv: ['get', 'put', 'append'],
  mutex: ['acquire', 'release', 'owner'],
  set: ['add', 'read', 'contains'],
  queue: ['enqueue', 'dequeue'],
};

function unknownFunction(model: string, input: ModelInput): never {
  const known = operationsOf[model] ?? [];
  throw new HistoryError(
    `the ${model} model has no operation ${JSON.stringify(input.f)} (it has ${known.join(', ')}; is it the right model?)`,
  );
}

function show(value: unknown): string {
  return value === null || value === undefined ? 'nil' : showValue(value);
}

function describeOperation(input: ModelInput, output: ModelOutput): string {
  const key = input.key === undefined ? '' : ` ${JSON.stringify(input.key)}`;
  const arg = input.value === null ? '' : ` ${show(input.value)}`;
  const echo = input.value !== null && deepEqual(output.value, input.value);
  const result =
    output.status === 'info'
      ? ' → ?'
      : output.status === 'fail'
        ? ' ✗'
        : echo
          ? ''
          : ` → ${show(output.value)}`;
  return `${input.f}${key}${arg}${result}`;
}

/** A register's value: any JSON-like value; `null` means absent. */
export type RegisterValue = unknown;

/** Options of {@link register} and {@link casRegister}. */
export interface RegisterOptions {
  /** The value before any write. Default `null` (absent, Jepsen's `nil`). */
  readonly initial?: RegisterValue;
}

function stepRead(state: RegisterValue, output: ModelOutput): StepResult<RegisterValue> {
  if (output.status !== 'ok') return legal(state);
  return deepEqual(output.value, state) ? legal(state) : illegal;
}

/** Reads `from` (index 0) or `to` (index 1) of a cas argument, `[from, to]` or `{from, to}`. */
function casArgument(value: unknown, index: 0 | 1): unknown {
  if (Array.isArray(value) && value.length === 2) return value[index];
  if (typeof value === 'object' && value !== null && 'from' in value && 'to' in value) {
    return index === 0 ? (value as { from: unknown }).from : (value as { to: unknown }).to;
  }
  throw new HistoryError(`cas needs [from, to] or {from, to} (got ${showValue(value)})`);
}

function stepCas(
  state: RegisterValue,
  input: ModelInput,
  output: ModelOutput,
): StepResult<RegisterValue> {
  // Read the arguments without allocating: this runs once per search step.
  const from = casArgument(input.value, 0);
  const to = casArgument(input.value, 1);
  const matches = state === from || deepEqual(state, from);
  switch (output.status) {
    case 'ok':
      return matches ? legal(to) : illegal;
    case 'fail':
      // The cas ran and returned false: the register did not hold `from`.
      return matches ? illegal : legal(state);
    case 'info':
      return legal(matches ? to : state);
  }
}

/**
 * Drops indeterminate writes whose value no completed read returned. Such a write can only help a
 * linearization by making the register hold its value for a completed read, and none reads it:
 * remove it from any legal order, and the states it set up to the next write become the previous
 * value, which only indeterminate or failed reads (which accept anything) saw. A `cas` can observe
 * a value without returning it (a failed one depends on the value not being `from`), so a history
 * with any `cas` is left as it is.
 */
function withoutUnobservedWrites(ops: readonly Operation[]): Operation[] {
  if (ops.some((op) => op.f === 'cas')) return [...ops];
  const read = new Map<number, unknown[]>();
  for (const op of ops) {
    if (op.f !== 'read' || op.status !== 'ok') continue;
    const value = op.output ?? null;
    const h = hashValue(value);
    const bucket = read.get(h);
    if (bucket === undefined) read.set(h, [value]);
    else bucket.push(value);
  }
  const wasRead = (value: unknown): boolean =>
    read.get(hashValue(value))?.some((v) => deepEqual(v, value)) ?? false;
  return ops.filter((op) => op.status !== 'info' || op.f !== 'write' || wasRead(op.input ?? null));
}

function registerModel(
  name: string,
  withCas: boolean,
  options: RegisterOptions,
): Model<RegisterValue> {
  const initial = options.initial ?? null;
  return {
    name,
    init: () => initial,
    step(state, input, output) {
      switch (input.f) {
        case 'read':
          return stepRead(state, output);
        case 'write':
          return output.status === 'fail' ? legal(state) : legal(input.value ?? null);
        case 'cas':
          if (withCas) return stepCas(state, input, output);
          return unknownFunction(name, input);
        default:
          return unknownFunction(name, input);
      }
    },
    readOnly: (input) => input.f === 'read',
    simplify: withoutUnobservedWrites,
    hash: (state) =>
      typeof state === 'number' && (state | 0) === state ? mix32(state) : hashValue(state),
    equal: (a, b) => a === b || deepEqual(a, b),
    describe: { operation: describeOperation, state: show },
  };
}

/**
 * A read/write register. Operations: `read` (result: the value), `write` (argument: the value).
 *
 * @example
 * check(history, register({ initial: 0 }));
 */
export function register(options: RegisterOptions = {}): Model<RegisterValue> {
  return registerModel('register', false, options);
}

/**
 * A compare-and-set register, initially `nil` (absent): `read`, `write`, and `cas` with argument
 * `[from, to]` (or `{from, to}`). `ok` cas: the register held `from` and now holds `to`; `fail`
 * cas: it did not hold `from`; a `fail` read (a timed-out read) matches any value. These are the
 * semantics of Jepsen's etcd histories as Porcupine checks them.
 *
 * @example
 * check(parseJepsen(text), casRegister());
 */
export function casRegister(options: RegisterOptions = {}): Model<RegisterValue> {
  return registerModel('cas-register', true, options);
}

/** The state of one key of {@link kv}: its value and the value's running FNV-1a hash. */
export interface KvState {
  readonly value: string;
  readonly hash: number;
}

function partitionByKey(model: string, ops: readonly Operation[]): Operation[][] {
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    if (op.key === undefined)
      throw new HistoryError(`the ${model} model needs a key on every operation`, op.line);
    const list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, [op]);
    else list.push(op);
  }
  return [...byKey.values()];
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'string')
    throw new HistoryError(`kv values must be strings (got ${showValue(value)})`);
  return value;
}

/**
 * A key-value store of strings, every key initially `""`: `get` (result: the value), `put`
 * (argument: the value), `append` (argument: the suffix). Operations on different keys are
 * independent, so the history is always checked per key, which is exact for this model.
 */
export function kv(): Model<KvState> {
  return {
    name: 'kv',
    init: () => ({ value: '', hash: fnvSeed }),
    step(state, input, output) {
      switch (input.f) {
        case 'get':
          if (output.status !== 'ok') return legal(state);
          return text(output.value) === state.value ? legal(state) : illegal;
        case 'put': {
          if (output.status === 'fail') return legal(state);
          const value = text(input.value);
          return legal({ value, hash: hashStringFrom(fnvSeed, value) });
        }
        case 'append': {
          if (output.status === 'fail') return legal(state);
          const suffix = text(input.value);
          return legal({ value: state.value + suffix, hash: hashStringFrom(state.hash, suffix) });
        }
        default:
          return unknownFunction('kv', input);
      }
    },
    readOnly: (input) => input.f === 'get',
    partition: (ops) => partitionByKey('kv', ops),
    hash: (state) => state.hash,
    equal: (a, b) => a.hash === b.hash && a.value === b.value,
    describe: { operation: describeOperation, state: (s) => JSON.stringify(s.value) },
  };
}

/** Who holds a {@link mutex}: a process or owner id, or `null` when free. */
export type MutexState = ProcessId | null;

/**
 * A mutex or lease: `acquire` and `release` (argument: the owner id, or `null` for the invoking
 * process), and `owner` (result: the holder, `null` when free). A lease that expires must be
 * recorded as a `release` by its holder, since the model has no notion of time.
 */
export function mutex(): Model<MutexState> {
  const ownerOf = (input: ModelInput): ProcessId => (input.value ?? input.process) as ProcessId;
  return {
    name: 'mutex',
    init: () => null,
    step(state, input, output) {
      if (output.status === 'fail') return legal(state);
      const known = output.status === 'ok';
      switch (input.f) {
        case 'acquire':
          if (state === null) return legal(ownerOf(input));
          return known ? illegal : legal(state);
        case 'release':
          if (state === ownerOf(input)) return legal(null);
          return known ? illegal : legal(state);
        case 'owner':
          return !known || (output.value ?? null) === state ? legal(state) : illegal;
        default:
          return unknownFunction('mutex', input);
      }
    },
    readOnly: (input) => input.f === 'owner',
    hash: hashValue,
    equal: (a, b) => a === b,
    describe: { operation: describeOperation, state: show },
  };
}

/** The state of a {@link set}: its members and the xor of their hashes. */
export interface SetState {
  readonly items: ReadonlySet<unknown>;
  readonly hash: number;
}

function setRead(state: SetState, value: unknown): boolean {
  if (!Array.isArray(value))
    throw new HistoryError(`a set read returns an array (got ${showValue(value)})`);
  const seen = new Set(value);
  return seen.size === state.items.size && value.every((x) => state.items.has(x));
}

/**
 * A set of primitive values: `add` (argument: the element), `read` (result: every element, as an
 * array in any order), `contains` (argument: the element; result: a boolean).
 */
export function set(): Model<SetState> {
  return {
    name: 'set',
    init: () => ({ items: new Set(), hash: 0 }),
    step(state, input, output) {
      switch (input.f) {
        case 'add': {
          if (output.status === 'fail' || state.items.has(input.value)) return legal(state);
          const items = new Set(state.items).add(input.value);
          return legal({ items, hash: state.hash ^ mix32(hashValue(input.value)) });
        }
        case 'read':
          return output.status !== 'ok' || setRead(state, output.value) ? legal(state) : illegal;
        case 'contains':
          return output.status !== 'ok' || output.value === state.items.has(input.value)
            ? legal(state)
            : illegal;
        default:
          return unknownFunction('set', input);
      }
    },
    readOnly: (input) => input.f === 'read' || input.f === 'contains',
    hash: (state) => state.hash,
    equal: (a, b) =>
      a.hash === b.hash &&
      a.items.size === b.items.size &&
      [...a.items].every((x) => b.items.has(x)),
    describe: {
      operation: describeOperation,
      state: (s) => `{${[...s.items].map(show).join(', ')}}`,
    },
  };
}

/**
 * A FIFO queue: `enqueue` (argument: the element) and `dequeue` (result: the head, `null` when the
 * queue is empty).
 */
export function queue(): Model<readonly unknown[]> {
  return {
    name: 'queue',
    init: () => [],
    step(state, input, output) {
      switch (input.f) {
        case 'enqueue':
          return output.status === 'fail' ? legal(state) : legal([...state, input.value]);
        case 'dequeue':
          if (output.status === 'fail') return legal(state);
          if (output.status === 'info') return legal(state.length === 0 ? state : state.slice(1));
          if (state.length === 0) return output.value === null ? legal(state) : illegal;
          return deepEqual(output.value, state[0]) ? legal(state.slice(1)) : illegal;
        default:
          return unknownFunction('queue', input);
      }
    },
    hash: hashValue,
    equal: deepEqual,
    describe: { operation: describeOperation, state: (s) => `[${s.map(show).join(', ')}]` },
  };
}

/** The names the CLI accepts for the built-in models. */
export type ModelName = 'register' | 'cas-register' | 'kv' | 'mutex' | 'set' | 'queue';

/** Every built-in model name. */
export const modelNames: readonly ModelName[] = [
  'cas-register',
  'kv',
  'register',
  'mutex',
  'set',
  'queue',
];

/** A fresh built-in model by name. */
export function modelByName(name: ModelName): Model<unknown> {
  switch (name) {
    case 'register':
      return register();
    case 'cas-register':
      return casRegister();
    case 'kv':
      return kv() as Model<unknown>;
    case 'mutex':
      return mutex() as Model<unknown>;
    case 'set':
      return set() as Model<unknown>;
    case 'queue':
      return queue() as Model<unknown>;
  }
}

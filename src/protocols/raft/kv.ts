/**
 * The replicated key-value store on top of Raft: commands, the deterministic state machine every
 * member applies them to (with client sessions so that a retried command applies once, thesis
 * §6.3), and the linearizability model its histories are checked against.
 *
 * @module
 */
import { HistoryError } from '../../check/history.js';
import type { Model, ModelInput, StepResult } from '../../check/model.js';
import { fnvSeed, hashStringFrom, illegal } from '../../check/model.js';

/** An operation of the store. Values are strings; a missing key reads as `""`. */
export type KvOp =
  | { readonly f: 'get'; readonly key: string }
  | { readonly f: 'put'; readonly key: string; readonly value: string }
  | { readonly f: 'append'; readonly key: string; readonly value: string }
  | { readonly f: 'cas'; readonly key: string; readonly from: string; readonly to: string };

/** A write as it travels through the log: who sent it and its sequence number in that session. */
export interface KvCommand {
  readonly client: string;
  readonly seq: number;
  readonly op: Exclude<KvOp, { f: 'get' }>;
}

/** The result of applying a command: the value after it (`swapped` for a cas). */
export interface KvResult {
  readonly value: string;
  readonly swapped?: boolean;
}

/** The serialisable state of a {@link KvStateMachine} (what a snapshot holds). */
export interface KvImage {
  readonly data: readonly (readonly [string, string])[];
  readonly sessions: readonly (readonly [string, number, KvResult])[];
}

const MAX_SESSIONS = 100_000;

/** True when `data` looks like a {@link KvCommand} (entries from elsewhere are hostile). */
export function isKvCommand(data: unknown): data is KvCommand {
  if (typeof data !== 'object' || data === null) return false;
  const c = data as Partial<KvCommand>;
  return (
    typeof c.client === 'string' &&
    Number.isSafeInteger(c.seq) &&
    typeof c.op === 'object' &&
    c.op !== null &&
    typeof c.op.key === 'string'
  );
}

/**
 * The store every member applies committed commands to, in log order. Deterministic: the same
 * commands give the same state and results on every member.
 */
export class KvStateMachine {
  private readonly data = new Map<string, string>();
  private readonly sessions = new Map<string, { seq: number; result: KvResult }>();

  /** The value of `key` (`""` when absent). */
  get(key: string): string {
    return this.data.get(key) ?? '';
  }

  /**
   * Applies `command` once per (client, seq): a duplicate returns the first result, an older one
   * returns undefined (its client gave up on it long ago).
   */
  apply(command: KvCommand): KvResult | undefined {
    const session = this.sessions.get(command.client);
    if (session !== undefined && command.seq <= session.seq)
      return command.seq === session.seq ? session.result : undefined;
    const result = this.execute(command.op);
    if (session === undefined && this.sessions.size >= MAX_SESSIONS) {
      // Evict the oldest session (insertion order); its client's retries then apply again.
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    this.sessions.set(command.client, { seq: command.seq, result });
    return result;
  }

  private execute(op: KvCommand['op']): KvResult {
    const current = this.get(op.key);
    switch (op.f) {
      case 'put':
        this.data.set(op.key, op.value);
        return { value: op.value };
      case 'append':
        this.data.set(op.key, current + op.value);
        return { value: current + op.value };
      case 'cas':
        if (current !== op.from) return { value: current, swapped: false };
        this.data.set(op.key, op.to);
        return { value: op.to, swapped: true };
    }
  }

  /** The state, for a snapshot. */
  image(): KvImage {
    return {
      data: [...this.data],
      sessions: [...this.sessions].map(([c, s]) => [c, s.seq, s.result] as const),
    };
  }

  /** Replaces the state by a snapshot's. */
  restore(image: KvImage): void {
    this.data.clear();
    this.sessions.clear();
    for (const [k, v] of image.data) this.data.set(k, v);
    for (const [c, seq, result] of image.sessions) this.sessions.set(c, { seq, result });
  }
}

/** The state of one key in {@link raftKvModel}: its value and a hash of the writes that made it. */
export interface KeyState {
  readonly value: string;
  readonly hash: number;
}

function str(value: unknown, what: string): string {
  if (typeof value !== 'string')
    throw new HistoryError(`${what} must be a string (got ${JSON.stringify(value)})`);
  return value;
}

function casArgs(value: unknown): [string, string] {
  if (!Array.isArray(value) || value.length !== 2)
    throw new HistoryError(`cas needs [from, to] (got ${JSON.stringify(value)})`);
  return [str(value[0], 'cas from'), str(value[1], 'cas to')];
}

function next(value: string): StepResult<KeyState> {
  return { ok: true, next: { value, hash: hashStringFrom(fnvSeed, value) } };
}

function stepKv(
  state: KeyState,
  input: ModelInput,
  output: { status: string; value: unknown },
): StepResult<KeyState> {
  switch (input.f) {
    case 'get':
      if (output.status !== 'ok') return { ok: true, next: state };
      return output.value === state.value ? { ok: true, next: state } : illegal;
    case 'put':
      if (output.status === 'fail') return { ok: true, next: state };
      return next(str(input.value, 'put value'));
    case 'append':
      if (output.status === 'fail') return { ok: true, next: state };
      return next(state.value + str(input.value, 'append value'));
    case 'cas': {
      const [from, to] = casArgs(input.value);
      // `fail`: executed and found another value; `info`: may have swapped or not.
      if (output.status === 'fail')
        return from === state.value ? illegal : { ok: true, next: state };
      if (from !== state.value) return illegal;
      return next(to);
    }
    default:
      throw new HistoryError(`the raft-kv model has no operation ${JSON.stringify(input.f)}`);
  }
}

/**
 * The model of the store for the linearizability checker: per key (checked independently), `get`
 * returns the value, `put` sets it, `append` appends to it, `cas` with `[from, to]` swaps when the
 * value is `from` (`ok`) or leaves it (`fail`). Every key starts as `""`.
 *
 * @example
 * check(history, raftKvModel());
 */
export function raftKvModel(): Model<KeyState> {
  return {
    name: 'raft-kv',
    init: () => ({ value: '', hash: fnvSeed }),
    step: stepKv,
    readOnly: (input) => input.f === 'get',
    partition(ops) {
      const byKey = new Map<string, (typeof ops)[number][]>();
      for (const op of ops) {
        const key = op.key ?? '';
        const list = byKey.get(key);
        if (list === undefined) byKey.set(key, [op]);
        else list.push(op);
      }
      return [...byKey.values()];
    },
    hash: (s) => s.hash,
    equal: (a, b) => a.value === b.value,
    describe: {
      operation: (input, output) =>
        `${input.f} ${input.key ?? ''} ${JSON.stringify(input.value)}${output.status === 'ok' ? ` → ${JSON.stringify(output.value)}` : ` (${output.status})`}`,
      state: (s) => JSON.stringify(s.value),
    },
  };
}

/**
 * The simulation trace: what happened, where and when, in virtual time. It feeds checkers, the
 * lab's space-time diagrams and determinism tests (through {@link Trace.hash}).
 *
 * @module
 */
import { hashString32 } from '../core/random.js';
import { integerIn } from '../core/validate.js';

/** What a trace event records. */
export type TraceKind =
  | 'send'
  | 'deliver'
  | 'drop'
  | 'duplicate'
  | 'timer'
  | 'pause'
  | 'resume'
  | 'crash'
  | 'restart'
  | 'fault'
  | 'op'
  | 'buggify'
  | 'note';

const KIND_CODES: Readonly<Record<TraceKind, number>> = {
  send: 1,
  deliver: 2,
  drop: 3,
  duplicate: 4,
  timer: 5,
  pause: 6,
  resume: 7,
  crash: 8,
  restart: 9,
  fault: 10,
  op: 11,
  buggify: 12,
  note: 13,
};

/** One recorded event. Message events carry `from`, `to` and the message id `msg`. */
export interface TraceEvent {
  /** Position in the trace (0-based, counting events not stored once the trace is full). */
  readonly index: number;
  /** Virtual time in ms since the start of the run. */
  readonly timeMs: number;
  readonly kind: TraceKind;
  /** The node the event happened on (the sender for `send`, the receiver for `deliver`). */
  readonly node?: string;
  readonly from?: string;
  readonly to?: string;
  /** Message id, unique per run; a duplicate keeps the id of its original. */
  readonly msg?: number;
  /** Free-form detail: the drop reason, the fault, the operation. Kept JSON-friendly. */
  readonly detail?: unknown;
}

/** Options of a {@link Trace}. */
export interface TraceOptions {
  /**
   * Store events in memory (default true). Turn off for long runs and benchmarks; the hash can
   * stay on for determinism checks at a small cost.
   */
  record?: boolean;
  /** Maintain the running {@link Trace.hash} (default true). */
  hash?: boolean;
  /** Also record timer firings (default false: they dominate traces and cost speed). */
  timers?: boolean;
  /**
   * Upper bound on stored events (default 1,000,000). Past it, events are still hashed and
   * counted but no longer stored, and `truncated` becomes true.
   */
  maxEvents?: number;
}

/** The JSON form of a trace, for files and the lab's space-time diagrams. */
export interface TraceJson {
  readonly version: 1;
  readonly seed: number | string;
  readonly hash: string;
  readonly count: number;
  readonly truncated: boolean;
  readonly nodes: readonly string[];
  readonly events: readonly TraceEvent[];
}

const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);

/**
 * An append-only event log with a running 64-bit hash made of two independent 32-bit lanes (an
 * FNV-1a-style lane and a multiply-rotate lane), cheap enough to stay on in every run.
 *
 * @example
 * const trace = new Trace({ seed: 1 });
 * trace.add(0, 'note', 'n1', undefined, undefined, undefined, 'hello');
 * trace.hash(); // 16 hex digits, equal for equal event sequences
 */
export class Trace {
  /** True when events are stored or hashed; callers skip building events when false. */
  readonly active: boolean;
  /** True when timer firings should be recorded. */
  readonly timers: boolean;
  readonly seed: number | string;
  private readonly record: boolean;
  private readonly hashing: boolean;
  private readonly maxEvents: number;
  private readonly stored: TraceEvent[] = [];
  private readonly nodeNames: string[] = [];
  private readonly nameHashes = new Map<string, number>();
  private count = 0;
  private h1 = 0x811c9dc5;
  private h2 = 0x2545f491;

  constructor(options: TraceOptions & { seed: number | string }) {
    this.seed = options.seed;
    this.record = options.record ?? true;
    this.hashing = options.hash ?? true;
    this.timers = options.timers ?? false;
    this.maxEvents = integerIn('trace.maxEvents', options.maxEvents ?? 1_000_000, 0, 2 ** 31);
    this.active = this.record || this.hashing;
  }

  /** Events added so far (stored or not). */
  get size(): number {
    return this.count;
  }

  /** True when events were dropped from storage because `maxEvents` was reached. */
  get truncated(): boolean {
    return this.record && this.count > this.stored.length;
  }

  /** The stored events. */
  get events(): readonly TraceEvent[] {
    return this.stored;
  }

  /** Registers a node name so that the JSON lists every node, even silent ones. */
  addNode(name: string): void {
    this.nodeNames.push(name);
  }

  /** Appends an event and returns its index; a no-op (undefined) when the trace is inactive. */
  add(
    timeMs: number,
    kind: TraceKind,
    node: string | undefined,
    from?: string,
    to?: string,
    msg?: number,
    detail?: unknown,
  ): number | undefined {
    if (!this.active) return undefined;
    const index = this.count++;
    if (this.hashing) this.mix(timeMs, kind, node, from, to, msg, detail);
    if (!this.record || this.stored.length >= this.maxEvents) return index;
    const event: { -readonly [K in keyof TraceEvent]: TraceEvent[K] } = { index, timeMs, kind };
    if (node !== undefined) event.node = node;
    if (from !== undefined) event.from = from;
    if (to !== undefined) event.to = to;
    if (msg !== undefined) event.msg = msg;
    if (detail !== undefined) event.detail = detail;
    this.stored.push(event);
    return index;
  }

  /** The running hash of every event added, as 16 hex digits. */
  hash(): string {
    return (
      (this.h1 >>> 0).toString(16).padStart(8, '0') + (this.h2 >>> 0).toString(16).padStart(8, '0')
    );
  }

  /** The trace as plain JSON data. */
  toJSON(): TraceJson {
    return {
      version: 1,
      seed: this.seed,
      hash: this.hash(),
      count: this.count,
      truncated: this.truncated,
      nodes: [...this.nodeNames],
      events: this.stored,
    };
  }

  private mix(
    timeMs: number,
    kind: TraceKind,
    node: string | undefined,
    from: string | undefined,
    to: string | undefined,
    msg: number | undefined,
    detail: unknown,
  ): void {
    scratch[0] = timeMs;
    this.word(KIND_CODES[kind]);
    this.word(scratchWords[0] as number);
    this.word(scratchWords[1] as number);
    if (node !== undefined) this.word(this.nameHash(node));
    if (from !== undefined) this.word(this.nameHash(from));
    if (to !== undefined) this.word(this.nameHash(to));
    if (msg !== undefined) this.word(msg | 0);
    if (detail !== undefined) this.word(hashString32(stableText(detail)));
  }

  private nameHash(name: string): number {
    let h = this.nameHashes.get(name);
    if (h === undefined) {
      h = hashString32(name);
      // Names are node names; the bound only guards against callers passing arbitrary strings.
      if (this.nameHashes.size < 65_536) this.nameHashes.set(name, h);
    }
    return h;
  }

  private word(w: number): void {
    this.h1 = Math.imul(this.h1 ^ w, 0x01000193);
    let x = Math.imul(this.h2 ^ w, 0x9e3779b1);
    x = (x << 13) | (x >>> 19);
    this.h2 = Math.imul(x, 5) + 0xe6546b64;
  }
}

/** A deterministic text form of a detail value for hashing (JSON, or String() when not JSON-able). */
function stableText(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

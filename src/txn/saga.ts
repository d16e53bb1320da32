/**
 * A saga orchestrator with a durable log: a long transaction as a sequence of local steps, each
 * with a compensation registered in the log before the step runs. A failing step (after retries)
 * runs the compensations of every started step in reverse order; a crash is resumed from the log.
 *
 * @module
 */
import { assert } from '../core/assert.js';
import { Emitter } from '../core/events.js';
import type { Disposable, Listener } from '../core/events.js';
import type { Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { nonEmptyString, rangeError } from '../core/validate.js';
import { Retry } from '../resilience/retry.js';
import type { RetryOptions } from '../resilience/retry.js';
import { publish } from './diagnostics.js';
import { SagaCompensatedError, SagaStuckError } from './errors.js';
import { coordinatorId, gidPrefix, newGid } from './gid.js';

/** What a step's action and compensation receive. */
export interface SagaStepContext<I> {
  readonly sagaId: string;
  /** The step's name. */
  readonly step: string;
  /**
   * `<sagaId>:<step index>`: the idempotency key of this step. An action may run more than once
   * (a retry, a resume after a crash) and must apply once per key; a compensation too, and it
   * must also succeed when the action never ran.
   */
  readonly key: string;
  /** The saga's input, as stored in the log (JSON). */
  readonly input: I;
  readonly signal: AbortSignal;
}

/** One step: an action and the compensation that undoes it. */
export interface SagaStepDefinition<I> {
  readonly name: string;
  run(context: SagaStepContext<I>): Promise<void>;
  compensate(context: SagaStepContext<I>): Promise<void>;
}

/** A named saga: what {@link SagaOrchestrator.run} runs and what the log refers to on resume. */
export interface SagaDefinition<I> {
  readonly name: string;
  readonly steps: readonly SagaStepDefinition<I>[];
}

/** A saga's durable state. */
export interface SagaRecord {
  readonly sagaId: string;
  /** The definition's name. */
  readonly name: string;
  /** The input, as JSON text. */
  readonly input: string;
  /** `forward` while steps run; `compensating` once a step failed. */
  readonly phase: 'forward' | 'compensating';
  /**
   * Steps whose compensation is registered: steps `0 .. started - 1` may have taken effect. While
   * compensating, the steps still to compensate.
   */
  readonly started: number;
}

/** Where sagas are remembered across crashes (e.g. `PostgresSagaLog`). */
export interface SagaLog {
  /** Durably writes (inserts or replaces) `record`; resolves once it survives a crash. */
  save(record: SagaRecord, signal: AbortSignal): Promise<void>;
  /** Removes a finished saga (idempotent). */
  remove(sagaId: string, signal: AbortSignal): Promise<void>;
  /** The unfinished sagas whose id starts with `prefix`. */
  list(prefix: string, signal: AbortSignal): Promise<SagaRecord[]>;
}

/** What the orchestrator reports as it goes (also on `faultline:txn:saga`). */
export type SagaEvent =
  | {
      readonly kind: 'started' | 'done' | 'failed' | 'compensated';
      readonly sagaId: string;
      readonly step: string;
      readonly index: number;
    }
  | { readonly kind: 'compensating'; readonly sagaId: string }
  | {
      readonly kind: 'finished';
      readonly sagaId: string;
      readonly outcome: 'completed' | 'compensated';
    };

/** Options of a {@link SagaOrchestrator}. */
export interface SagaOrchestratorOptions {
  /** This orchestrator's id, 1 to 31 of `[A-Za-z0-9_-]`, stable across restarts; saga ids start with it. */
  orchestratorId: string;
  log: SagaLog;
  /** Every saga this orchestrator runs or resumes, by unique name. */
  definitions: readonly SagaDefinition<never>[];
  /** Retries of each action and compensation (default 5 attempts, exponential backoff from 100 ms). */
  retry?: Omit<RetryOptions, 'runtime'>;
  /**
   * What {@link SagaOrchestrator.resume} does with a saga a crash interrupted while its steps ran
   * forward: `continue` (default) retries the interrupted step and goes on, as a durable workflow
   * does; `compensate` undoes every started step.
   */
  recovery?: 'continue' | 'compensate';
  runtime?: Runtime;
}

/** What one {@link SagaOrchestrator.resume} pass did. */
export interface SagaResumeReport {
  readonly completed: number;
  readonly compensated: number;
  /** Sagas whose compensation keeps failing; they stay in the log for the next pass. */
  readonly stuck: number;
}

const MAX_STEPS = 1000;

/**
 * Runs sagas. Every step's compensation is registered in the log before the step runs; a step
 * that still fails after its retries starts compensation of every started step, in reverse order.
 * A saga never blocks other work the way a prepared 2PC branch does, but its intermediate state is
 * visible to others while it runs: that is the trade.
 *
 * @example
 * const orchestrator = new SagaOrchestrator({ orchestratorId: 'trips-1', log, definitions: [bookTrip] });
 * await orchestrator.resume(); // at start-up
 * await orchestrator.run('book-trip', { tripId: 42 });
 */
export class SagaOrchestrator {
  readonly orchestratorId: string;
  private readonly log: SagaLog;
  private readonly definitions = new Map<string, SagaDefinition<unknown>>();
  private readonly retry: Retry;
  private readonly recovery: 'continue' | 'compensate';
  private readonly runtime: Runtime;
  private readonly events = new Emitter<SagaEvent>();
  private readonly active = new Set<string>();

  constructor(options: SagaOrchestratorOptions) {
    this.orchestratorId = coordinatorId('orchestratorId', options.orchestratorId);
    if (typeof options.log?.save !== 'function') throw rangeError('log', 'a SagaLog', options.log);
    this.log = options.log;
    for (const d of options.definitions ?? []) {
      nonEmptyString('definitions[].name', d?.name);
      if (this.definitions.has(d.name)) throw rangeError('definitions', 'unique names', d.name);
      if (!Array.isArray(d.steps) || d.steps.length === 0 || d.steps.length > MAX_STEPS)
        throw rangeError(`steps of ${d.name}`, `1 to ${MAX_STEPS} steps`, d.steps?.length);
      this.definitions.set(d.name, d as SagaDefinition<unknown>);
    }
    const recovery = options.recovery ?? 'continue';
    if (recovery !== 'continue' && recovery !== 'compensate')
      throw rangeError('recovery', "'continue' or 'compensate'", recovery);
    this.recovery = recovery;
    this.runtime = options.runtime ?? systemRuntime();
    this.retry = new Retry({
      maxAttempts: 5,
      backoff: { kind: 'exponential', baseMs: 100, capMs: 5000, jitter: 'full' },
      ...options.retry,
      runtime: this.runtime,
    });
  }

  /** Calls `listener` at every step (synchronously). */
  onEvent(listener: Listener<SagaEvent>): Disposable {
    return this.events.on(listener);
  }

  /**
   * Runs saga `name` with `input` (JSON-serialisable) to its end. Resolves with the saga id when
   * every step ran; rejects with {@link SagaCompensatedError} when a step failed and every
   * started step was compensated, or {@link SagaStuckError} when a compensation keeps failing.
   */
  async run(name: string, input: unknown, signal?: AbortSignal): Promise<string> {
    if (!this.definitions.has(name)) throw rangeError('name', 'a defined saga', name);
    const json = JSON.stringify(input);
    if (typeof json !== 'string') throw rangeError('input', 'JSON-serialisable', input);
    const sagaId = newGid(this.orchestratorId, this.runtime.random);
    return this.drive({ sagaId, name, input: json, phase: 'forward', started: 0 }, signal);
  }

  /**
   * Finishes the sagas a crash interrupted (this orchestrator's prefix only, skipping those in
   * flight here): forward ones continue or compensate (see `recovery`), compensating ones go on
   * compensating. Run it at start-up and periodically.
   */
  async resume(signal?: AbortSignal): Promise<SagaResumeReport> {
    const s = signal ?? new AbortController().signal;
    const records = await this.log.list(gidPrefix(this.orchestratorId), s);
    let completed = 0;
    let compensated = 0;
    let stuck = 0;
    for (const record of records) {
      if (this.active.has(record.sagaId) || !this.definitions.has(record.name)) continue;
      const resumed: SagaRecord =
        record.phase === 'forward' && this.recovery === 'compensate'
          ? { ...record, phase: 'compensating' }
          : record;
      try {
        await this.drive(resumed, signal);
        completed++;
      } catch (error) {
        if (error instanceof SagaCompensatedError) compensated++;
        else stuck++;
      }
    }
    return { completed, compensated, stuck };
  }

  private async drive(record: SagaRecord, signal: AbortSignal | undefined): Promise<string> {
    const { sagaId } = record;
    const definition = this.definitions.get(record.name);
    assert(definition !== undefined, 'the saga is defined');
    this.active.add(sagaId);
    try {
      const input = JSON.parse(record.input) as unknown;
      const failedAt =
        record.phase === 'forward'
          ? await this.forward(definition, record, input, signal)
          : { index: record.started, cause: new Error('resumed while compensating') };
      if (failedAt === undefined) {
        await this.log.remove(sagaId, signal ?? new AbortController().signal);
        this.emit({ kind: 'finished', sagaId, outcome: 'completed' });
        return sagaId;
      }
      const started = record.phase === 'forward' ? failedAt.index + 1 : record.started;
      await this.backward(definition, { ...record, phase: 'compensating', started }, input, signal);
      const stepName =
        definition.steps[Math.min(failedAt.index, definition.steps.length - 1)]?.name;
      throw new SagaCompensatedError(sagaId, stepName ?? '?', { cause: failedAt.cause });
    } finally {
      this.active.delete(sagaId);
    }
  }

  /** Runs the steps from where `record` left off; returns the failing step, if any. */
  private async forward(
    definition: SagaDefinition<unknown>,
    record: SagaRecord,
    input: unknown,
    signal: AbortSignal | undefined,
  ): Promise<{ index: number; cause: unknown } | undefined> {
    const { sagaId } = record;
    const s = signal ?? new AbortController().signal;
    // A step that was started before a crash is run again (its action is idempotent by key).
    for (let index = Math.max(0, record.started - 1); index < definition.steps.length; index++) {
      const step = definition.steps[index];
      assert(step !== undefined, 'step index in range');
      if (index + 1 > record.started) await this.log.save({ ...record, started: index + 1 }, s);
      this.emit({ kind: 'started', sagaId, step: step.name, index });
      try {
        await this.retry.execute(
          (ctx) => step.run(this.context(sagaId, step.name, index, input, ctx.signal ?? s)),
          s,
        );
      } catch (cause) {
        this.emit({ kind: 'failed', sagaId, step: step.name, index });
        return { index, cause };
      }
      this.emit({ kind: 'done', sagaId, step: step.name, index });
    }
    return undefined;
  }

  /** Compensates steps `started - 1 .. 0`, recording progress after each. */
  private async backward(
    definition: SagaDefinition<unknown>,
    record: SagaRecord,
    input: unknown,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { sagaId } = record;
    const s = signal ?? new AbortController().signal;
    await this.log.save(record, s);
    this.emit({ kind: 'compensating', sagaId });
    for (let index = record.started - 1; index >= 0; index--) {
      const step = definition.steps[index];
      assert(step !== undefined, 'step index in range');
      try {
        await this.retry.execute(
          (ctx) => step.compensate(this.context(sagaId, step.name, index, input, ctx.signal ?? s)),
          s,
        );
      } catch (cause) {
        throw new SagaStuckError(sagaId, step.name, { cause });
      }
      this.emit({ kind: 'compensated', sagaId, step: step.name, index });
      if (index > 0) await this.log.save({ ...record, started: index }, s);
    }
    await this.log.remove(sagaId, s);
    this.emit({ kind: 'finished', sagaId, outcome: 'compensated' });
  }

  private context(
    sagaId: string,
    step: string,
    index: number,
    input: unknown,
    signal: AbortSignal,
  ): SagaStepContext<unknown> {
    return { sagaId, step, key: `${sagaId}:${index}`, input, signal };
  }

  private emit(event: SagaEvent): void {
    publish('saga', event);
    try {
      this.events.emit(event);
    } catch {
      // A failing listener must not change the saga's course.
    }
  }
}

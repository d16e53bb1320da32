/**
 * Request hedging (Dean and Barroso, "The Tail at Scale", CACM 2013): when a call has not answered
 * after a high quantile of recent latencies, send the same request again; the first success wins
 * and the others are aborted. A cap on hedges per call and a shared budget bound the extra load.
 *
 * @module
 */
import { abortReason } from '../core/abort.js';
import { AbortedError } from '../core/errors.js';
import { Emitter } from '../core/events.js';
import type { Disposable, Listener } from '../core/events.js';
import type { Cancel, Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { integerIn, nonNegative, numberIn, rangeError } from '../core/validate.js';
import { LatencyQuantiles } from '../detect/quantile.js';
import { RetryBudget } from './budget.js';
import { callCallee, contextOf, invoke } from './policy.js';
import type { CallOptions, Callee, ExecuteContext, Policy, Step } from './policy.js';
import { callChannel, eventChannel, traced } from '../core/diagnostics.js';
import { CallEvents } from './events.js';
import type { CallFailureEvent, CallSuccessEvent } from './events.js';

/** `faultline:hedge:execute`: a TracingChannel around every `execute`. */
const executeChannel = callChannel('faultline:hedge:execute');

/** The latency estimator hedging reads its delay from (`LatencyQuantiles` fits). */
export interface LatencyEstimator {
  /** Records one latency sample, in ms. */
  record(ms: number): void;
  /** The q-quantile of recent latencies in ms, or undefined before any sample. */
  quantile(q: number): number | undefined;
}

/** Options of a {@link Hedge} policy. */
export interface HedgeOptions {
  /** Extra attempts per call beyond the first (default 1, in [0, 10]). Each one is more load. */
  maxHedges?: number;
  /** Latency quantile that triggers a hedge (default 0.95): lower cuts more tail but sends more hedges. */
  quantile?: number;
  /** Where latencies are recorded and read (default: a `LatencyQuantiles` over 1024 samples). */
  estimator?: LatencyEstimator;
  /** Hedge delay before the estimator has samples, in ms (default 100). */
  initialDelayMs?: number;
  /** Lower bound on the hedge delay, in ms (default 0). */
  minDelayMs?: number;
  /** Upper bound on the hedge delay, in ms (default 10,000). */
  maxDelayMs?: number;
  /** Budget each hedge withdraws from and each success deposits to (default: unlimited). */
  budget?: RetryBudget;
  /**
   * Whether the operations this policy runs may run twice (default true). A hedge is a duplicate
   * request, so when false a call is hedged only if it carries an idempotency key; a call can also
   * mark itself non-idempotent with `CallOptions`, as with `Retry`.
   */
  idempotent?: boolean;
  /** Time and timers (default: the system runtime). */
  runtime?: Runtime;
}

/** Emitted when a hedged call launches an extra attempt. */
export interface HedgeEvent {
  /** The attempt launched: 1 is the first hedge (0, the original call, is never reported). */
  readonly attempt: number;
  /** `delay`: the hedge delay passed without a result; `failure`: an attempt failed first. */
  readonly trigger: 'delay' | 'failure';
}

/**
 * Sends backup requests for slow calls.
 *
 * @example
 * const hedge = new Hedge({ maxHedges: 1, quantile: 0.95, budget: new RetryBudget({ ratio: 0.05 }) });
 * const value = await hedge.execute(({ signal }) => replica.get(key, { signal }));
 */
export class Hedge implements Policy {
  /** Extra attempts per call. */
  readonly maxHedges: number;
  /** Quantile that sets the delay. */
  readonly quantile: number;
  /** The latency estimator. */
  readonly estimator: LatencyEstimator;
  private readonly initialDelayMs: number;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  /** Whether calls may be duplicated when they carry no idempotency key. */
  readonly idempotent: boolean;
  /** @internal */
  readonly budget: RetryBudget | undefined;
  /** @internal */
  readonly runtime: Runtime;
  private readonly events = new CallEvents('hedge');
  private readonly hedged = new Emitter<HedgeEvent>(1000, eventChannel('faultline:hedge:hedge'));

  constructor(options: HedgeOptions = {}) {
    this.maxHedges = integerIn('maxHedges', options.maxHedges ?? 1, 0, 10);
    this.quantile = numberIn('quantile', options.quantile ?? 0.95, 0, 1);
    const estimator = options.estimator ?? new LatencyQuantiles();
    if (typeof estimator.record !== 'function' || typeof estimator.quantile !== 'function') {
      throw rangeError('estimator', 'an object with record() and quantile()', estimator);
    }
    this.estimator = estimator;
    this.initialDelayMs = nonNegative('initialDelayMs', options.initialDelayMs ?? 100);
    this.minDelayMs = nonNegative('minDelayMs', options.minDelayMs ?? 0);
    this.maxDelayMs = nonNegative('maxDelayMs', options.maxDelayMs ?? 10_000);
    if (this.maxDelayMs < this.minDelayMs)
      throw rangeError('maxDelayMs', `>= minDelayMs (${this.minDelayMs})`, this.maxDelayMs);
    if (options.budget !== undefined && !(options.budget instanceof RetryBudget)) {
      throw rangeError('budget', 'a RetryBudget', options.budget);
    }
    this.budget = options.budget;
    this.idempotent = options.idempotent ?? true;
    if (typeof this.idempotent !== 'boolean') {
      throw rangeError('idempotent', 'a boolean', this.idempotent);
    }
    this.runtime = options.runtime ?? systemRuntime();
  }

  /** Calls `listener` after each call that succeeded (by whichever attempt won). */
  onSuccess(listener: Listener<CallSuccessEvent>): Disposable {
    return this.events.onSuccess(listener);
  }

  /** Calls `listener` after each call whose every attempt failed (the last error is reported). */
  onFailure(listener: Listener<CallFailureEvent>): Disposable {
    return this.events.onFailure(listener);
  }

  /** Calls `listener` each time a call launches an extra attempt. */
  onHedge(listener: Listener<HedgeEvent>): Disposable {
    return this.hedged.on(listener);
  }

  /** @internal Reports a hedge to the `onHedge` listeners. */
  reportHedge(attempt: number, trigger: HedgeEvent['trigger']): void {
    if (this.hedged.active) this.hedged.notify({ attempt, trigger });
  }

  /** Hedges allowed for a call: none for a non-idempotent call without an idempotency key. */
  hedgesFor(context: ExecuteContext): number {
    const idempotent = context.idempotent ?? this.idempotent;
    return idempotent || context.idempotencyKey !== undefined ? this.maxHedges : 0;
  }

  /** The current hedge delay in ms: the configured quantile of recent latencies, clamped. */
  delayMs(): number {
    const q = this.estimator.quantile(this.quantile) ?? this.initialDelayMs;
    return Math.min(this.maxDelayMs, Math.max(this.minDelayMs, q));
  }

  execute<T>(fn: Callee<T>, options?: AbortSignal | CallOptions): Promise<T> {
    const context = contextOf(options);
    if (executeChannel === undefined || !executeChannel.hasSubscribers)
      return this.run(callCallee<T>, fn, context);
    return traced(
      executeChannel,
      () => ({ policy: this }),
      () => this.run(callCallee<T>, fn, context),
    );
  }

  run<A, T>(step: Step<A, T>, arg: A, context: ExecuteContext): Promise<T> {
    if (!this.events.active) return this.runPlain(step, arg, context);
    return this.events.observe(this.runtime.clock, () => this.runPlain(step, arg, context));
  }

  private runPlain<A, T>(step: Step<A, T>, arg: A, context: ExecuteContext): Promise<T> {
    const signal = context.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<T>((resolve, reject) => {
      new HedgeRace(this, step, arg, context, resolve, reject).start();
    });
  }
}

/** One hedged call: its attempts, its hedge timer and its outcome. */
class HedgeRace<A, T> {
  private readonly controllers: AbortController[] = [];
  private pending = 0;
  private settled = false;
  private cancelTimer: Cancel | undefined;
  private readonly maxHedges: number;

  constructor(
    private readonly hedge: Hedge,
    private readonly step: Step<A, T>,
    private readonly arg: A,
    private readonly context: ExecuteContext,
    private readonly resolve: (value: T) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    this.maxHedges = hedge.hedgesFor(context);
  }

  start(): void {
    this.context.signal?.addEventListener('abort', this.onParentAbort, { once: true });
    this.launch('delay');
  }

  private readonly onParentAbort = (): void => {
    this.finish(abortReason(this.context.signal as AbortSignal), undefined);
    this.reject(abortReason(this.context.signal as AbortSignal));
  };

  private launch(trigger: HedgeEvent['trigger']): void {
    const controller = new AbortController();
    this.controllers.push(controller);
    if (this.controllers.length > 1) this.hedge.reportHedge(this.controllers.length - 1, trigger);
    this.pending++;
    const ctx: ExecuteContext = {
      signal: controller.signal,
      idempotencyKey: this.context.idempotencyKey,
      idempotent: this.context.idempotent,
    };
    const clock = this.hedge.runtime.clock;
    const startMs = clock.monotonicMs();
    Promise.resolve(invoke(this.step, this.arg, ctx)).then(
      (value) => this.succeeded(controller, value, clock.monotonicMs() - startMs),
      (error: unknown) => this.failed(error),
    );
    if (this.controllers.length <= this.maxHedges) {
      this.cancelTimer = this.hedge.runtime.timers.setTimer(
        this.hedge.delayMs(),
        this.onHedgeTimer,
      );
    }
  }

  private readonly onHedgeTimer = (): void => {
    this.cancelTimer = undefined;
    if (this.settled) return;
    if (this.hedge.budget === undefined || this.hedge.budget.tryWithdraw()) this.launch('delay');
  };

  private succeeded(winner: AbortController, value: T, latencyMs: number): void {
    this.pending--;
    if (this.settled) return;
    this.hedge.estimator.record(latencyMs);
    this.hedge.budget?.deposit();
    // Only a call that actually hedged has losers to abort: an un-hedged success (most calls)
    // allocates no error.
    const losers = this.controllers.length > 1;
    this.finish(losers ? new AbortedError('another hedged attempt won') : undefined, winner);
    this.resolve(value);
  }

  private failed(error: unknown): void {
    this.pending--;
    if (this.settled) return;
    // A failed attempt triggers the next hedge at once (when allowed) instead of waiting.
    const canHedge = this.controllers.length <= this.maxHedges;
    if (canHedge && (this.hedge.budget === undefined || this.hedge.budget.tryWithdraw())) {
      this.cancelTimer?.();
      this.cancelTimer = undefined;
      this.launch('failure');
      return;
    }
    if (this.pending > 0) return;
    this.finish(undefined, undefined);
    this.reject(error);
  }

  /** Settles the race; aborts every attempt but `winner` with `abortLosers` when it is given. */
  private finish(abortLosers: unknown, winner: AbortController | undefined): void {
    this.settled = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.context.signal?.removeEventListener('abort', this.onParentAbort);
    if (abortLosers === undefined) return;
    for (const c of this.controllers) if (c !== winner && !c.signal.aborted) c.abort(abortLosers);
  }
}

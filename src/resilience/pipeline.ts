/**
 * Composition of policies, outermost first: `pipeline(retry, breaker, timeout)` retries calls that
 * go through the breaker, each attempt under the timeout.
 *
 * @module
 */
import type { Disposable, Listener } from '../core/events.js';
import type { Clock, Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { rangeError } from '../core/validate.js';
import { CallEvents } from './events.js';
import type { CallFailureEvent, CallSuccessEvent } from './events.js';
import { callCallee, contextOf } from './policy.js';
import type { CallOptions, Callee, ExecuteContext, Policy, Step } from './policy.js';
import { callChannel, traced } from '../core/diagnostics.js';

/** `faultline:pipeline:execute`: a TracingChannel around every `execute`. */
const executeChannel = callChannel('faultline:pipeline:execute');

/** One layer of a call through a pipeline: which policy comes next and the user's step. */
class Frame<A, T> {
  constructor(
    readonly policies: readonly Policy[],
    readonly index: number,
    readonly step: Step<A, T>,
    readonly arg: A,
  ) {}
}

function enter<A, T>(frame: Frame<A, T>, context: ExecuteContext): T | PromiseLike<T> {
  const next = frame.index + 1;
  const policies = frame.policies;
  if (next === policies.length) return frame.step(frame.arg, context);
  return (policies[next] as Policy).run<Frame<A, T>, T>(
    enter,
    new Frame(policies, next, frame.step, frame.arg),
    context,
  );
}

/** Options of a {@link Pipeline}. */
export interface PipelineOptions {
  /** The clock that times calls for `onSuccess` / `onFailure` (default: the system runtime). */
  runtime?: Runtime;
}

/** Policies applied in order, outermost first; itself a {@link Policy}, so pipelines nest. */
export class Pipeline<P extends readonly Policy[] = readonly Policy[]> implements Policy {
  /** The policies, outermost first. */
  readonly policies: P;
  private readonly clock: Clock;
  private readonly events = new CallEvents('pipeline');

  constructor(policies: P, options: PipelineOptions = {}) {
    if (policies.length === 0) throw rangeError('policies.length', '>= 1', 0);
    for (const [i, p] of policies.entries()) {
      if (typeof (p as Partial<Policy>).run !== 'function')
        throw rangeError(`policies[${i}]`, 'a Policy', p);
    }
    this.policies = Object.freeze([...policies]) as unknown as P;
    this.clock = (options.runtime ?? systemRuntime()).clock;
  }

  /** Calls `listener` after each call that came out of every layer with a value. */
  onSuccess(listener: Listener<CallSuccessEvent>): Disposable {
    return this.events.onSuccess(listener);
  }

  /**
   * Calls `listener` after each call that failed, with the error the outermost policy rejected
   * with (a breaker's rejection or a bulkhead's included: each layer's own events tell them apart).
   */
  onFailure(listener: Listener<CallFailureEvent>): Disposable {
    return this.events.onFailure(listener);
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
    return this.events.observe(this.clock, () => this.runPlain(step, arg, context));
  }

  private runPlain<A, T>(step: Step<A, T>, arg: A, context: ExecuteContext): Promise<T> {
    return (this.policies[0] as Policy).run<Frame<A, T>, T>(
      enter,
      new Frame(this.policies, 0, step, arg),
      context,
    );
  }
}

/**
 * Composes policies, outermost first.
 *
 * @example
 * const policy = pipeline(
 *   new Retry({ maxAttempts: 3 }),
 *   new CircuitBreaker({ policy: { kind: 'consecutive', threshold: 5 } }),
 *   new Timeout({ timeoutMs: 1000 }),
 * );
 * await policy.execute(({ signal }) => fetch(url, { signal }));
 */
export function pipeline<const P extends readonly [Policy, ...Policy[]]>(
  ...policies: P
): Pipeline<P> {
  return new Pipeline<P>(policies);
}

/**
 * The `onSuccess` / `onFailure` events every resilience policy shares, modelled on the circuit
 * breaker's: listeners return a {@link Disposable}, a listener that throws is isolated (reported
 * on `faultline:events:listener-error`), and a call pays nothing but one check while nobody
 * listens.
 *
 * @module
 */
import type { EventChannel, EventChannelName } from '../core/diagnostics.js';
import { eventChannel } from '../core/diagnostics.js';
import { Emitter } from '../core/events.js';
import type { Disposable, Listener } from '../core/events.js';
import type { Clock } from '../core/runtime.js';

/** A call that a policy completed successfully. */
export interface CallSuccessEvent {
  /** Time from entering the policy to the result, in ms (retries, queueing and hedges included). */
  readonly durationMs: number;
}

/** A call that a policy completed with an error. */
export interface CallFailureEvent {
  /** What the call rejected with. */
  readonly error: unknown;
  /** Time from entering the policy to the error, in ms. */
  readonly durationMs: number;
}

/**
 * The success and failure emitters of one policy, on the channels `faultline:<module>:success`
 * and `faultline:<module>:failure`.
 */
export class CallEvents {
  private readonly succeeded: Emitter<CallSuccessEvent>;
  private readonly failed: Emitter<CallFailureEvent>;

  constructor(module: 'retry' | 'timeout' | 'bulkhead' | 'hedge' | 'pipeline') {
    this.succeeded = new Emitter(1000, eventChannel(`faultline:${module}:success`));
    this.failed = new Emitter(1000, eventChannel(`faultline:${module}:failure`));
  }

  /** True when an outcome would reach someone: only then does a call pay for measuring it. */
  get active(): boolean {
    return this.succeeded.active || this.failed.active;
  }

  onSuccess(listener: Listener<CallSuccessEvent>): Disposable {
    return this.succeeded.on(listener);
  }

  onFailure(listener: Listener<CallFailureEvent>): Disposable {
    return this.failed.on(listener);
  }

  /** Runs `call`, timing it on `clock`, and reports its outcome; the outcome itself is unchanged. */
  observe<T>(clock: Clock, call: () => Promise<T>): Promise<T> {
    const startMs = clock.monotonicMs();
    let result: Promise<T>;
    try {
      result = call();
    } catch (error) {
      result = Promise.reject(error);
    }
    return result.then(
      (value) => {
        if (this.succeeded.active)
          this.succeeded.notify({ durationMs: clock.monotonicMs() - startMs });
        return value;
      },
      (error: unknown) => {
        if (this.failed.active)
          this.failed.notify({ error, durationMs: clock.monotonicMs() - startMs });
        throw error;
      },
    );
  }
}

/** An emitter of a policy-specific event on channel `name` (`faultline:<module>:<event>`). */
export function policyEmitter<T>(name: EventChannelName): Emitter<T> {
  return new Emitter<T>(1000, eventChannel(name) as EventChannel<T> | undefined);
}

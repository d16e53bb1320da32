/**
 * The events of the lock and semaphore clients (`onAcquired`, `onReleased`, `onLost`,
 * `onFailure`), modelled on the circuit breaker's: listeners return a {@link Disposable}, a listener
 * that throws is isolated (reported on `faultline:events:listener-error`), and nothing is built
 * while nobody listens.
 *
 * @module
 */
import { eventChannel } from '../core/diagnostics.js';
import { Emitter } from '../core/events.js';
import type { Disposable, Listener } from '../core/events.js';
import type { LockLostError } from './errors.js';
import type { LeaseEnding, LeaseHandle } from './lease.js';

/** A lease (or permit) a client obtained, or gave back with `release()`. */
export interface LeaseEvent {
  readonly key: string;
  /** The lease's fencing token. */
  readonly token: bigint;
}

/** A lease (or permit) that ended by loss rather than release. */
export interface LeaseLostEvent extends LeaseEvent {
  /** Why: its `reason` is `expired`, `stolen` or `unreachable`. */
  readonly error: LockLostError;
}

/** An `acquire` that rejected: wait timeout, waiter bound, abort, backend error or bad input. */
export interface AcquireFailureEvent {
  /** The key as the caller passed it. */
  readonly key: unknown;
  readonly error: unknown;
}

/**
 * The emitters of one client, on `faultline:<module>:acquired`, `:released` and
 * `:acquire-failure` (losses already publish on `faultline:<module>:lost`).
 */
export class LeaseEvents {
  private readonly acquired: Emitter<LeaseEvent>;
  private readonly released: Emitter<LeaseEvent>;
  private readonly lost = new Emitter<LeaseLostEvent>(1000);
  private readonly failed: Emitter<AcquireFailureEvent>;

  constructor(module: 'lock' | 'semaphore') {
    this.acquired = new Emitter(1000, eventChannel(`faultline:${module}:acquired`));
    this.released = new Emitter(1000, eventChannel(`faultline:${module}:released`));
    this.failed = new Emitter(1000, eventChannel(`faultline:${module}:acquire-failure`));
  }

  onAcquired(listener: Listener<LeaseEvent>): Disposable {
    return this.acquired.on(listener);
  }

  onReleased(listener: Listener<LeaseEvent>): Disposable {
    return this.released.on(listener);
  }

  onLost(listener: Listener<LeaseLostEvent>): Disposable {
    return this.lost.on(listener);
  }

  onFailure(listener: Listener<AcquireFailureEvent>): Disposable {
    return this.failed.on(listener);
  }

  /** Reports a lease the client just obtained; watches its deadline when someone awaits losses. */
  obtained(lease: LeaseHandle): void {
    if (this.lost.active) lease.observe();
    if (this.acquired.active) this.acquired.notify({ key: lease.key, token: lease.token });
  }

  /** Reports an `acquire` that rejected with `error`. */
  failure(key: unknown, error: unknown): void {
    if (this.failed.active) this.failed.notify({ key, error });
  }

  /** The end hook of every lease the client tracks: one pre-bound function, no closure per lease. */
  readonly ended = (lease: LeaseHandle, ending: LeaseEnding): void => {
    if (ending.kind === 'released') {
      if (this.released.active) this.released.notify({ key: lease.key, token: lease.token });
    } else if (this.lost.active) {
      this.lost.notify({ key: lease.key, token: lease.token, error: ending.error });
    }
  };
}

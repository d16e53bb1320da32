/**
 * Listener registration that returns a {@link Disposable}, and a small bounded emitter.
 *
 * @module
 */
import type { EventChannel } from './diagnostics.js';
import { eventChannel } from './diagnostics.js';
import { rangeError } from './validate.js';

/** Something that can be undone once: a subscription, a timer, a resource. */
export interface Disposable {
  dispose(): void;
  [Symbol.dispose](): void;
}

/** Wraps a cleanup function as an idempotent {@link Disposable}. */
export function disposable(cleanup: () => void): Disposable {
  let done = false;
  const dispose = (): void => {
    if (done) return;
    done = true;
    cleanup();
  };
  return { dispose, [Symbol.dispose]: dispose };
}

/** A disposable that does nothing. */
export const noopDisposable: Disposable = Object.freeze({
  dispose: () => undefined,
  [Symbol.dispose]: () => undefined,
});

/** A listener function for events of type `T`. */
export type Listener<T> = (event: T) => void;

/** What `faultline:events:listener-error` publishes when a listener throws. */
export interface ListenerErrorMessage {
  /** What the listener threw. */
  readonly error: unknown;
  /** The event it was given. */
  readonly event: unknown;
  /** The listener itself, to tell listeners apart. */
  readonly listener: Listener<never>;
}

/**
 * `faultline:events:listener-error`: every error thrown by an event listener of a policy or a
 * coordination resource. Subscribe to it to log broken listeners; it is free while nobody does.
 */
const listenerErrorChannel = eventChannel<ListenerErrorMessage>('faultline:events:listener-error');

/**
 * A typed event emitter with a bound on listeners. A listener that throws does not stop the others;
 * the first error is rethrown after every listener ran.
 *
 * @example
 * const changed = new Emitter<string>();
 * using sub = changed.on((s) => console.log(s));
 * changed.emit('open');
 */
export class Emitter<T> {
  private listeners: Listener<T>[] = [];
  private readonly maxListeners: number;

  /**
   * @param maxListeners the bound on listeners (default 1000; an `on` past it throws a `RangeError`).
   * @param channel a diagnostics channel (`faultline:<module>:<event>`) that gets every event too.
   */
  constructor(
    maxListeners = 1000,
    private readonly channel?: EventChannel<T>,
  ) {
    if (!Number.isInteger(maxListeners) || maxListeners < 1) {
      throw rangeError('maxListeners', 'an integer >= 1', maxListeners);
    }
    this.maxListeners = maxListeners;
  }

  /** True when an event would reach someone: a listener or a diagnostics channel subscriber. */
  get active(): boolean {
    return this.listeners.length > 0 || this.channel?.hasSubscribers === true;
  }

  /** Number of registered listeners. */
  get size(): number {
    return this.listeners.length;
  }

  /** Registers `listener`; dispose the result to remove it. */
  on(listener: Listener<T>): Disposable {
    if (this.listeners.length >= this.maxListeners) {
      throw rangeError('listeners', `at most ${this.maxListeners}`, this.listeners.length + 1);
    }
    // Copy on write, so an emit in progress is not disturbed by (un)subscription.
    this.listeners = [...this.listeners, listener];
    return disposable(() => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    });
  }

  /** Calls every listener with `event`. */
  emit(event: T): void {
    const channel = this.channel;
    if (channel !== undefined && channel.hasSubscribers) channel.publish(event);
    const current = this.listeners;
    if (current.length === 0) return;
    let failure: { error: unknown } | undefined;
    for (const listener of current) {
      try {
        listener(event);
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }

  /**
   * Calls every listener with `event`, like {@link Emitter.emit}, but never throws: a listener
   * that throws is reported on `faultline:events:listener-error` (see {@link ListenerErrorMessage})
   * and the remaining listeners still run. Policies and resources use this so that a broken
   * listener cannot change the outcome of the call or the state of the resource it observes.
   */
  notify(event: T): void {
    const channel = this.channel;
    if (channel !== undefined && channel.hasSubscribers) channel.publish(event);
    const current = this.listeners;
    for (const listener of current) {
      try {
        listener(event);
      } catch (error) {
        if (listenerErrorChannel?.hasSubscribers === true)
          listenerErrorChannel.publish({ error, event, listener });
      }
    }
  }

  /** Removes every listener. */
  clear(): void {
    this.listeners = [];
  }
}

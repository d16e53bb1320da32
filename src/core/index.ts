/**
 * The runtime seam and the small utilities every module shares.
 *
 * @module
 */
export type { Cancel, Clock, Random, Runtime, TimerOptions, Timers } from './runtime.js';
export { assert, assertNever, AssertionError } from './assert.js';
export { FaultlineError, isFaultlineError, AbortedError, isAbortedError } from './errors.js';
export { Emitter, disposable, noopDisposable } from './events.js';
export type { ListenerErrorMessage } from './events.js';
export type { Disposable, Listener } from './events.js';
export { abortReason, throwIfAborted, onAbort, raceAbort, anySignal, sleepOn } from './abort.js';
export type { Abortable, AbortScopeLike } from './abort.js';
export type { EventChannel } from './diagnostics.js';
export { SeededRandom, RandomBase, hashString32 } from './random.js';
export {
  systemRuntime,
  createSystemRuntime,
  systemClock,
  SystemTimers,
  SystemRandom,
  yieldToEventLoop,
} from './system.js';
export {
  rangeError,
  positive,
  nonNegative,
  integerIn,
  numberIn,
  nonEmptyString,
} from './validate.js';

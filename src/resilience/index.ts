/**
 * Resilience policies: retry with backoff and jitter, retry budgets, circuit breakers, timeouts,
 * bulkheads, hedging, and their composition.
 *
 * @module
 */
export {
  BrokenCircuitError,
  isBrokenCircuitError,
  TimeoutError,
  isTimeoutError,
  BulkheadRejectedError,
  isBulkheadRejectedError,
  RetryBudgetExhaustedError,
  isRetryBudgetExhaustedError,
} from './errors.js';
export { NO_SIGNAL } from './policy.js';
export type { CallOptions, Callee, ExecuteContext, Policy, Step } from './policy.js';
export { Backoff } from './backoff.js';
export type { BackoffKind, BackoffOptions, Jitter } from './backoff.js';
export { RetryBudget } from './budget.js';
export type { RetryBudgetOptions } from './budget.js';
export { parseHttpDate, parseRetryAfter, retryAfterMsOf } from './retry-after.js';
export { Retry } from './retry.js';
export type {
  RetryEvent,
  RetryGiveUpEvent,
  RetryGiveUpReason,
  RetryOptions,
  RetryOutcome,
} from './retry.js';
export type { CallFailureEvent, CallSuccessEvent } from './events.js';
export { CircuitBreaker } from './breaker.js';
export type {
  BreakerFailureEvent,
  BreakerSnapshot,
  BreakerState,
  CircuitBreakerOptions,
} from './breaker.js';
export type { BreakerPolicy, WindowSnapshot } from './windows.js';
export { Timeout } from './timeout.js';
export type {
  TimeoutEvent,
  TimeoutOptions,
  TimeoutSignalMode,
  TimeoutStrategy,
} from './timeout.js';
export { Bulkhead } from './bulkhead.js';
export type { BulkheadOptions, BulkheadRejectedEvent } from './bulkhead.js';
export { Hedge } from './hedge.js';
export type { HedgeEvent, HedgeOptions, LatencyEstimator } from './hedge.js';
export { Pipeline, pipeline } from './pipeline.js';
export type { PipelineOptions } from './pipeline.js';

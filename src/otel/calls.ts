/**
 * The traced calls the OpenTelemetry bridge turns into spans, and the attributes it reads from a
 * call's result or error.
 *
 * @module
 */
import type { Attributes } from '@opentelemetry/api';

/** One TracingChannel `faultline:<module>:<operation>`. */
export interface TracedCall {
  readonly module: string;
  readonly operation: string;
  /** True for calls whose duration is a wait for a lease (recorded in `faultline.lock.wait`). */
  readonly wait: boolean;
}

const call = (module: string, operation: string, wait = false): TracedCall =>
  Object.freeze({ module, operation, wait });

/** Every TracingChannel faultline publishes on (docs/observability.md). */
export const TRACED_CALLS: readonly TracedCall[] = Object.freeze([
  call('retry', 'execute'),
  call('breaker', 'execute'),
  call('timeout', 'execute'),
  call('bulkhead', 'execute'),
  call('hedge', 'execute'),
  call('pipeline', 'execute'),
  call('lock', 'acquire', true),
  call('lock', 'try-acquire', true),
  call('semaphore', 'acquire', true),
  call('semaphore', 'try-acquire', true),
  call('election', 'campaign', true),
]);

/**
 * The `error.type` of a failed call: a faultline error's stable `code`, else the error's name, else
 * the type of what was thrown.
 */
export function errorType(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.length > 0 && code.length <= 100) return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name.length > 0 && name.length <= 100) return name;
  }
  return typeof error;
}

/** Span attributes of a coordination call's result: whether it got a lease, and its token. */
export function attributesOfResult(traced: TracedCall, result: unknown): Attributes {
  if (!traced.wait) return {};
  if (result === null || typeof result !== 'object') return { 'faultline.acquired': false };
  const token = (result as { token?: unknown }).token;
  return typeof token === 'bigint'
    ? { 'faultline.acquired': true, 'faultline.lease.token': token.toString() }
    : { 'faultline.acquired': true };
}

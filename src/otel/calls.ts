/**
 * The traced calls the OpenTelemetry bridge turns into spans, and the attributes it reads from a
 * call's result or error.
 *
 * @module
 */
import type { Attributes } from '@opentelemetry/api';
import { CALL_CHANNELS } from '../core/diagnostics.js';
import type { CallChannelName } from '../core/diagnostics.js';

/** One TracingChannel `faultline:<module>:<operation>`. */
export interface TracedCall {
  readonly channel: CallChannelName;
  readonly module: string;
  readonly operation: string;
  /** True for calls whose duration is a wait for a lease (recorded in `faultline.lock.wait`). */
  readonly wait: boolean;
}

/**
 * Which traced calls are waits for a lease; naming every TracingChannel here (the type requires
 * it) is what makes the bridge trace each one.
 */
const WAITS: Readonly<Record<CallChannelName, boolean>> = {
  'faultline:retry:execute': false,
  'faultline:breaker:execute': false,
  'faultline:timeout:execute': false,
  'faultline:bulkhead:execute': false,
  'faultline:hedge:execute': false,
  'faultline:pipeline:execute': false,
  'faultline:lock:acquire': true,
  'faultline:lock:try-acquire': true,
  'faultline:semaphore:acquire': true,
  'faultline:semaphore:try-acquire': true,
  'faultline:election:campaign': true,
};

/** Every TracingChannel faultline publishes on (docs/observability.md). */
export const TRACED_CALLS: readonly TracedCall[] = Object.freeze(
  CALL_CHANNELS.map((channel) => {
    const [, module = '', operation = ''] = channel.split(':');
    return Object.freeze({ channel, module, operation, wait: WAITS[channel] });
  }),
);

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

/**
 * `node:diagnostics_channel` for every module, named `faultline:<module>:<event>` (docs/
 * observability.md lists them all). Calls with a start and an end publish on a TracingChannel;
 * single events on a plain channel. Nothing is published, and nothing allocated, while nobody
 * subscribes: each site checks `hasSubscribers` first.
 *
 * Every name is in {@link CALL_CHANNELS} or {@link EVENT_CHANNELS}, and a channel can only be made
 * under a name listed there: the OpenTelemetry bridge subscribes to the same lists, and its
 * contract test fails for a name it does not handle.
 *
 * The module is loaded through `process.getBuiltinModule`, so code that runs in a browser (the
 * lab's page bundles the policies) imports no Node built-in: there, every channel is absent.
 *
 * @module
 */
import type * as diagnosticsChannel from 'node:diagnostics_channel';
import { assert } from './assert.js';

type DiagnosticsChannel = typeof diagnosticsChannel;

const dc = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:diagnostics_channel') as DiagnosticsChannel | undefined;

/** Every TracingChannel faultline publishes on. */
export const CALL_CHANNELS = [
  'faultline:retry:execute',
  'faultline:breaker:execute',
  'faultline:timeout:execute',
  'faultline:bulkhead:execute',
  'faultline:hedge:execute',
  'faultline:pipeline:execute',
  'faultline:lock:acquire',
  'faultline:lock:try-acquire',
  'faultline:semaphore:acquire',
  'faultline:semaphore:try-acquire',
  'faultline:election:campaign',
] as const;

/** Every channel of single events faultline publishes on. */
export const EVENT_CHANNELS = [
  'faultline:retry:retry',
  'faultline:retry:give-up',
  'faultline:retry:success',
  'faultline:retry:failure',
  'faultline:breaker:state',
  'faultline:breaker:reject',
  'faultline:breaker:success',
  'faultline:breaker:failure',
  'faultline:timeout:timeout',
  'faultline:timeout:success',
  'faultline:timeout:failure',
  'faultline:bulkhead:reject',
  'faultline:bulkhead:success',
  'faultline:bulkhead:failure',
  'faultline:hedge:hedge',
  'faultline:hedge:success',
  'faultline:hedge:failure',
  'faultline:pipeline:success',
  'faultline:pipeline:failure',
  'faultline:lock:lost',
  'faultline:lock:acquired',
  'faultline:lock:released',
  'faultline:lock:acquire-failure',
  'faultline:semaphore:lost',
  'faultline:semaphore:acquired',
  'faultline:semaphore:released',
  'faultline:semaphore:acquire-failure',
  'faultline:election:lost',
  'faultline:idempotency:started',
  'faultline:idempotency:replayed',
  'faultline:idempotency:waiting',
  'faultline:idempotency:completed',
  'faultline:idempotency:failed',
  'faultline:idempotency:fenced',
  'faultline:cache:hit',
  'faultline:cache:miss',
  'faultline:cache:stale',
  'faultline:cache:load',
  'faultline:cache:evict',
  'faultline:txn:2pc',
  'faultline:txn:saga',
  'faultline:txn:tcc',
  'faultline:deadlock:monitor',
  'faultline:events:listener-error',
] as const;

/** The name of a TracingChannel faultline publishes on. */
export type CallChannelName = (typeof CALL_CHANNELS)[number];
/** The name of a channel of single events faultline publishes on. */
export type EventChannelName = (typeof EVENT_CHANNELS)[number];

const callNames: ReadonlySet<string> = new Set(CALL_CHANNELS);
const eventNames: ReadonlySet<string> = new Set(EVENT_CHANNELS);

/** A channel of single events; `undefined` where diagnostics channels do not exist. */
export interface EventChannel<T> {
  readonly hasSubscribers: boolean;
  publish(message: T): void;
}

/** A channel for calls with a start and an end (a `TracingChannel`). */
export interface CallChannel {
  readonly hasSubscribers: boolean;
  tracePromise<T>(fn: () => Promise<T>, context: object): Promise<T>;
}

/** The channel `name` (one of {@link EVENT_CHANNELS}). */
export function eventChannel<T>(name: EventChannelName): EventChannel<T> | undefined {
  // The type says it already; the check keeps a cast or a computed name from slipping past.
  assert(eventNames.has(name), `${name} is not in EVENT_CHANNELS`);
  return dc?.channel(name) as EventChannel<T> | undefined;
}

/**
 * The TracingChannel `name` (one of {@link CALL_CHANNELS}; its sub-channels are
 * `tracing:<name>:start`, `:end`, `:asyncStart`, `:asyncEnd`, `:error`).
 */
export function callChannel(name: CallChannelName): CallChannel | undefined {
  assert(callNames.has(name), `${name} is not in CALL_CHANNELS`);
  const channel = dc?.tracingChannel(name);
  if (channel === undefined) return undefined;
  // TracingChannel's own `hasSubscribers` is recent (Node 20.13); before it, ask its sub-channels.
  if (typeof (channel as { hasSubscribers?: unknown }).hasSubscribers === 'boolean')
    return channel as unknown as CallChannel;
  const parts = [channel.start, channel.end, channel.asyncStart, channel.asyncEnd, channel.error];
  return {
    get hasSubscribers() {
      return parts.some((c) => c.hasSubscribers);
    },
    tracePromise: <T>(fn: () => Promise<T>, context: object) =>
      channel.tracePromise(fn, context) as Promise<T>,
  };
}

/** Publishes `make()` on `channel` when someone listens; free otherwise. */
export function publish<T>(channel: EventChannel<T> | undefined, make: () => T): void {
  if (channel !== undefined && channel.hasSubscribers) channel.publish(make());
}

/**
 * Runs `call` traced on `channel` with `context` when someone listens (the context gains `result`
 * or `error`), else runs it as it is.
 */
export function traced<T>(
  channel: CallChannel | undefined,
  context: () => object,
  call: () => Promise<T>,
): Promise<T> {
  if (channel === undefined || !channel.hasSubscribers) return call();
  return channel.tracePromise(call, context());
}

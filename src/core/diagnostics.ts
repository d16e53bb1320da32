/**
 * `node:diagnostics_channel` for every module, named `faultline:<module>:<event>` (docs/
 * observability.md lists them all). Calls with a start and an end publish on a TracingChannel;
 * single events on a plain channel. Nothing is published, and nothing allocated, while nobody
 * subscribes: each site checks `hasSubscribers` first.
 *
 * The module is loaded through `process.getBuiltinModule`, so code that runs in a browser (the
 * lab's page bundles the policies) imports no Node built-in: there, every channel is absent.
 *
 * @module
 */
import type * as diagnosticsChannel from 'node:diagnostics_channel';

type DiagnosticsChannel = typeof diagnosticsChannel;

const dc = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:diagnostics_channel') as DiagnosticsChannel | undefined;

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

/** The channel `faultline:<module>:<event>`. */
export function eventChannel<T>(module: string, event: string): EventChannel<T> | undefined {
  return dc?.channel(`faultline:${module}:${event}`) as EventChannel<T> | undefined;
}

/**
 * The TracingChannel `faultline:<module>:<event>` (its sub-channels are
 * `tracing:faultline:<module>:<event>:start`, `:end`, `:asyncStart`, `:asyncEnd`, `:error`).
 */
export function callChannel(module: string, event: string): CallChannel | undefined {
  const channel = dc?.tracingChannel(`faultline:${module}:${event}`);
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

/**
 * `node:diagnostics_channel` without a static import: the lab page bundles the cache for the
 * browser, where Node built-ins do not exist. Under Node (`process.getBuiltinModule`, Node ≥ 20.16)
 * the channels are the real ones; elsewhere they are inert and cost nothing.
 *
 * @module
 */

/** The part of a diagnostics channel the cache uses. */
export interface DiagnosticsChannel {
  readonly hasSubscribers: boolean;
  publish(message: unknown): void;
}

interface ChannelModule {
  channel(name: string): DiagnosticsChannel;
}

const INERT: DiagnosticsChannel = Object.freeze({
  hasSubscribers: false,
  publish: () => undefined,
});

function loadModule(): ChannelModule | undefined {
  const host = globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } };
  const load = host.process?.getBuiltinModule;
  if (typeof load !== 'function') return undefined;
  return load.call(host.process, 'node:diagnostics_channel') as ChannelModule | undefined;
}

const channels = loadModule();

/** The named channel under Node, an inert one elsewhere. */
export function diagnosticsChannel(name: string): DiagnosticsChannel {
  return channels === undefined ? INERT : channels.channel(name);
}

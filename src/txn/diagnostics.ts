/**
 * The transaction module's `node:diagnostics_channel` channels: `faultline:txn:2pc` (every
 * two-phase-commit step) and `faultline:txn:saga` (every saga event). Publishing is free when
 * nobody subscribes. The module is loaded through `process.getBuiltinModule` rather than an
 * import, because the lab's browser page bundles the transaction code too; there the channels are
 * simply absent.
 *
 * @module
 */

interface Channel {
  readonly hasSubscribers: boolean;
  publish(message: unknown): void;
}

interface DiagnosticsChannel {
  channel(name: string): Channel;
}

const builtin = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:diagnostics_channel') as DiagnosticsChannel | undefined;

const names = ['2pc', 'saga'] as const;
const channels = new Map<string, Channel>(
  builtin === undefined ? [] : names.map((n) => [n, builtin.channel(`faultline:txn:${n}`)]),
);

/** Publishes `message` on `faultline:txn:<name>` when someone listens. */
export function publish(name: (typeof names)[number], message: unknown): void {
  const c = channels.get(name);
  if (c?.hasSubscribers === true) c.publish(message);
}

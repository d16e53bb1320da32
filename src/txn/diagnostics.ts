/**
 * The transaction module's `node:diagnostics_channel` channels: `faultline:txn:2pc` (every
 * two-phase-commit step), `faultline:txn:saga` (every saga event) and `faultline:txn:tcc` (every
 * TCC step). Publishing is free when nobody subscribes. The module is loaded through `process.getBuiltinModule` rather than an
 * import, because the lab's browser page bundles the transaction code too; there the channels are
 * simply absent.
 *
 * @module
 */
import { eventChannel } from '../core/diagnostics.js';

const channels = {
  '2pc': eventChannel<unknown>('faultline:txn:2pc'),
  saga: eventChannel<unknown>('faultline:txn:saga'),
  tcc: eventChannel<unknown>('faultline:txn:tcc'),
};

/** Publishes `message` on `faultline:txn:<name>` when someone listens. */
export function publish(name: keyof typeof channels, message: unknown): void {
  const c = channels[name];
  if (c?.hasSubscribers === true) c.publish(message);
}

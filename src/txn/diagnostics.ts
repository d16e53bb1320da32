/**
 * The transaction module's `node:diagnostics_channel` channels: `faultline:txn:2pc` (every
 * {@link TwoPhaseStep}) and `faultline:txn:saga` (every saga step). Publishing is free when
 * nobody subscribes.
 *
 * @module
 */
import { channel } from 'node:diagnostics_channel';
import type { Channel } from 'node:diagnostics_channel';

const channels = {
  '2pc': channel('faultline:txn:2pc'),
  saga: channel('faultline:txn:saga'),
  tcc: channel('faultline:txn:tcc'),
} satisfies Record<string, Channel>;

/** Publishes `message` on `faultline:txn:<name>` when someone listens. */
export function publish(name: keyof typeof channels, message: unknown): void {
  const c = channels[name];
  if (c.hasSubscribers) c.publish(message);
}

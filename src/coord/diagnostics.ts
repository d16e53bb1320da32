/**
 * Diagnostics channels of the coordination resources (docs/observability.md): a TracingChannel
 * around `acquire`, `tryAcquire` and `campaign` (its duration is the wait for the lock), and a
 * `lost` event when a lease (or leadership) obtained while someone listened ends by loss rather
 * than release. `Lock`, `Semaphore` and `Election` call these helpers from their own methods;
 * nothing runs while nobody subscribes.
 *
 * @module
 */
import type { CallChannel, EventChannel } from '../core/diagnostics.js';
import { callChannel, eventChannel } from '../core/diagnostics.js';
import type { LockLostError } from './errors.js';
import type { Lease } from './types.js';

/** What a `faultline:<module>:lost` channel publishes. */
export interface LeaseLostMessage {
  readonly key: string;
  readonly token: bigint;
  readonly error: LockLostError;
}

/** The channels of one kind of resource: its traced calls and its loss event. */
export interface LeaseChannels {
  readonly acquire: CallChannel | undefined;
  readonly tryAcquire: CallChannel | undefined;
  readonly lost: EventChannel<LeaseLostMessage> | undefined;
}

function leaseChannels(module: 'lock' | 'semaphore'): LeaseChannels {
  return {
    acquire: callChannel(`faultline:${module}:acquire`),
    tryAcquire: callChannel(`faultline:${module}:try-acquire`),
    lost: eventChannel<LeaseLostMessage>(`faultline:${module}:lost`),
  };
}

/** `faultline:lock:acquire`, `faultline:lock:try-acquire`, `faultline:lock:lost`. */
export const LOCK_CHANNELS = leaseChannels('lock');
/** `faultline:semaphore:acquire`, `faultline:semaphore:try-acquire`, `faultline:semaphore:lost`. */
export const SEMAPHORE_CHANNELS = leaseChannels('semaphore');
/** `faultline:election:campaign` and `faultline:election:lost`. */
export const ELECTION_CHANNELS = {
  campaign: callChannel('faultline:election:campaign'),
  lost: eventChannel<LeaseLostMessage>('faultline:election:lost'),
} as const;

/** True when someone listens to `call` or to `lost`: only then is a call wrapped at all. */
export function observed(
  call: CallChannel | undefined,
  lost: EventChannel<LeaseLostMessage> | undefined,
): boolean {
  return call?.hasSubscribers === true || lost?.hasSubscribers === true;
}

/** Publishes the loss of `lease` on `lost`, if someone listens there now. */
export function watchLoss(
  lost: EventChannel<LeaseLostMessage> | undefined,
  lease: Lease | null,
): void {
  if (lease === null || lost === undefined || !lost.hasSubscribers) return;
  lease.onLost((error) => lost.publish({ key: lease.key, token: lease.token, error }));
}

/**
 * Runs `acquire` traced on `call` (when someone listens) with the context `{ resource, key }`,
 * and watches the lease it resolves with for loss (when someone listens on `lost`).
 */
export function tracedAcquire<L extends Lease | null>(
  channels: LeaseChannels,
  call: CallChannel | undefined,
  resource: object,
  key: unknown,
  acquire: () => Promise<L>,
): Promise<L> {
  const run = (): Promise<L> =>
    acquire().then((lease) => {
      watchLoss(channels.lost, lease);
      return lease;
    });
  if (call === undefined || !call.hasSubscribers) return run();
  return call.tracePromise(run, { resource, key: typeof key === 'string' ? key : undefined });
}

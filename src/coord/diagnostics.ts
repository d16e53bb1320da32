/**
 * Diagnostics channels of the coordination resources, published at the public API: a
 * TracingChannel around `acquire`, `tryAcquire` and `campaign` (its duration is the wait for the
 * lock), and a `lost` event when a lease (or leadership) obtained while someone listened ends by
 * loss rather than release. Applied to the classes' methods here, so the resources' own code stays
 * as it is; nothing runs while nobody subscribes.
 *
 * @module
 */
import type { CallChannel, EventChannel } from '../core/diagnostics.js';
import { callChannel, eventChannel } from '../core/diagnostics.js';
import type { LockLostError } from './errors.js';
import { Election } from './election.js';
import { Lock } from './lock.js';
import { Semaphore } from './semaphore.js';
import type { Lease } from './types.js';

/** What a `faultline:<module>:lost` channel publishes. */
export interface LeaseLostMessage {
  readonly key: string;
  readonly token: bigint;
  readonly error: LockLostError;
}

type Method = (this: unknown, ...args: unknown[]) => Promise<Lease | null>;

function instrument(
  target: { prototype: object },
  method: string,
  call: CallChannel | undefined,
  lost: EventChannel<LeaseLostMessage> | undefined,
  keyOf: (args: readonly unknown[]) => string | undefined,
): void {
  const proto = target.prototype as Record<string, Method>;
  const original = proto[method];
  if (call === undefined || lost === undefined || original === undefined) return;
  const watch = (lease: Lease | null): Lease | null => {
    if (lease !== null && lost.hasSubscribers) {
      lease.onLost((error) => lost.publish({ key: lease.key, token: lease.token, error }));
    }
    return lease;
  };
  proto[method] = function (this: unknown, ...args: unknown[]): Promise<Lease | null> {
    if (!call.hasSubscribers && !lost.hasSubscribers) return original.apply(this, args);
    const run = (): Promise<Lease | null> => original.apply(this, args).then(watch);
    if (!call.hasSubscribers) return run();
    return call.tracePromise(run, { resource: this, key: keyOf(args) });
  };
}

const firstArgKey = (args: readonly unknown[]): string | undefined =>
  typeof args[0] === 'string' ? args[0] : undefined;

for (const [cls, module] of [
  [Lock, 'lock'],
  [Semaphore, 'semaphore'],
] as const) {
  const lost = eventChannel<LeaseLostMessage>(module, 'lost');
  instrument(cls, 'acquire', callChannel(module, 'acquire'), lost, firstArgKey);
  instrument(cls, 'tryAcquire', callChannel(module, 'try-acquire'), lost, firstArgKey);
}
instrument(
  Election,
  'campaign',
  callChannel('election', 'campaign'),
  eventChannel<LeaseLostMessage>('election', 'lost'),
  () => undefined,
);

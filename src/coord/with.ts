/**
 * The callback form shared by `Lock.with` and `Semaphore.with`: acquire, run, release on return or
 * throw (redlock's `using`, etcd3's `lock().do()`).
 *
 * @module
 */
import type { Holder, HolderInfo, Lease, LeaseCallback } from './types.js';

/** Throws a `TypeError` naming `field` unless `fn` is a function (checked before acquiring). */
export function checkCallback<T>(field: string, fn: LeaseCallback<T>): LeaseCallback<T> {
  if (typeof fn !== 'function') {
    throw new TypeError(`${field} must be a function (got ${fn === null ? 'null' : typeof fn})`);
  }
  return fn;
}

/**
 * Runs `fn` with the lease `acquiring` resolves with and releases it when `fn` returns, rejects or
 * throws; resolves or rejects as `fn` did. `release()` never rejects, so a release failure cannot
 * hide `fn`'s own outcome (the lease then ends by its TTL).
 */
export async function runWithLease<T>(acquiring: Promise<Lease>, fn: LeaseCallback<T>): Promise<T> {
  const lease = await acquiring;
  try {
    return await fn(lease);
  } finally {
    await lease.release();
  }
}

/** What a client reports about a holder: the SPI's answer without the owner id (the holder's secret). */
export function holderInfo(holder: Holder): HolderInfo {
  const info = { token: holder.token, remainingMs: holder.remainingMs };
  return holder.permits === undefined || holder.permits === 1
    ? info
    : { ...info, permits: holder.permits };
}

/**
 * A fenced write to etcd itself: the write lands only when its token is at least the newest token
 * the key has accepted, in one transaction. Answers the shared {@link FenceResult}.
 *
 * @module
 */
import type { Etcd3 } from 'etcd3';
import { rangeError } from '../../core/validate.js';
import { checkFencedKey } from '../../coord/fence.js';
import type { FenceResult } from '../../coord/fence.js';

/** Digits of a zero-padded token: 2^64 has 20 digits, so byte order equals numeric order. */
const TOKEN_DIGITS = 20;

/**
 * The fence key that stores the newest token accepted for `key`. Fence keys and data keys are
 * disjoint by construction: every fence key contains a NUL character, and {@link etcdFencedPut}
 * refuses a data key that contains one (a `RangeError` naming `key`), so no write of a resource,
 * whatever its name, can land on another resource's fence.
 */
export function fenceKeyOf(key: string): string {
  return `${checkFencedKey('key', key)}\u0000fence`;
}

/**
 * Puts `value` at `key` if `token` is not older than the newest token written there, and records
 * `token` as the newest, atomically (one etcd transaction comparing the fence key's value, stored
 * as a zero-padded decimal so that byte order is numeric order). Answers `accepted`, or `stale`
 * with the newest token (`current`) and nothing changed.
 *
 * @example
 * const result = await etcdFencedPut(client, 'config/primary', 'node-2', lease.token);
 * assertAccepted('config/primary', result); // throws StaleTokenError when a newer holder wrote
 */
export async function etcdFencedPut(
  client: Etcd3,
  key: string,
  value: string | Buffer,
  token: bigint,
): Promise<FenceResult> {
  if (typeof token !== 'bigint' || token <= 0n || token >= 10n ** BigInt(TOKEN_DIGITS)) {
    throw rangeError('token', `a bigint in [1, 10^${TOKEN_DIGITS})`, token);
  }
  const fence = Buffer.from(fenceKeyOf(key));
  if (typeof value !== 'string' && !Buffer.isBuffer(value))
    throw rangeError('value', 'a string or a Buffer', value);
  const padded = token.toString().padStart(TOKEN_DIGITS, '0');
  const res = await client.kv.txn({
    // A missing fence key fails every value comparison, so the first write goes through.
    compare: [{ key: fence, target: 'Value', result: 'Greater', value: Buffer.from(padded) }],
    success: [{ request_range: { key: fence } }],
    failure: [
      {
        request_put: {
          key: Buffer.from(key),
          value: typeof value === 'string' ? Buffer.from(value) : value,
        },
      },
      { request_put: { key: fence, value: Buffer.from(padded) } },
    ],
  });
  if (!res.succeeded) return { kind: 'accepted', token };
  const seen = res.responses[0]?.response_range?.kvs[0]?.value.toString() ?? '0';
  return { kind: 'stale', token, current: BigInt(seen) };
}

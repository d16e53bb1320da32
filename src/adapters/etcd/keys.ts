/**
 * Key layout of the etcd backend.
 *
 * A lock `key` lives under `<prefix><encodeURIComponent(key)>/`; each contender (holder or waiter)
 * puts one key `<that><lease id>.<slot>` attached to its session lease, with its owner as the value
 * (see `contenders.ts`). `encodeURIComponent` escapes `/`, so the ranges of two different lock keys
 * never overlap (`a` and `a/b` stay apart).
 *
 * @module
 */

/** The range prefix of one lock key. */
export function lockPrefix(prefix: string, key: string): string {
  return `${prefix}${encodeURIComponent(key)}/`;
}

/** The first key after every key that starts with `prefix` (etcd's `range_end` for a prefix). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    const byte = end[i] as number;
    if (byte < 0xff) {
      end[i] = byte + 1;
      return end.subarray(0, i + 1);
    }
  }
  // Every byte is 0xff: the range runs to the end of the keyspace.
  return Buffer.from([0]);
}

/**
 * Marks a contender value that carries a proclaimed value besides the owner. Owners never start
 * with NUL (the backend refuses them), so a plain owner value never looks like this.
 */
const PROCLAIMED = 0;

/** The value of a contender key whose holder proclaimed `value`: NUL, the owner's byte length (u16), the owner, the value. */
export function proclaimedValue(owner: Buffer, value: string): Buffer {
  const head = Buffer.allocUnsafe(3);
  head[0] = PROCLAIMED;
  head.writeUInt16BE(owner.length, 1);
  return Buffer.concat([head, owner, Buffer.from(value)]);
}

/** The owner and, if any, the proclaimed value stored in a contender key's value. */
export function decodeContenderValue(raw: Buffer): { owner: Buffer; value: string | undefined } {
  if (raw.length < 3 || raw[0] !== PROCLAIMED) return { owner: raw, value: undefined };
  const end = 3 + raw.readUInt16BE(1);
  return { owner: raw.subarray(3, end), value: raw.subarray(end).toString() };
}

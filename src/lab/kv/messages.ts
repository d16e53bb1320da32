/**
 * The messages of the lab's key-value service, shared by the correct server, the lossy server and
 * the client.
 *
 * @module
 */

/** A request to the server. */
export type KvRequest =
  | { readonly type: 'read'; readonly id: number; readonly key: string }
  | { readonly type: 'write'; readonly id: number; readonly key: string; readonly value: number }
  | {
      readonly type: 'cas';
      readonly id: number;
      readonly key: string;
      readonly from: number | null;
      readonly to: number;
    };

/** The server's answer to the request with the same id. */
export interface KvReply {
  readonly type: 'reply';
  readonly id: number;
  /** The value read or written; for a cas, the value it found (`to` when it swapped). */
  readonly value: number | null;
  /** Cas only: whether the register held `from` and now holds `to`. */
  readonly swapped?: boolean;
}

/** Builds a reply; `swapped` only for a cas. */
export function kvReply(id: number, value: number | null, swapped?: boolean): KvReply {
  return swapped === undefined
    ? { type: 'reply', id, value }
    : { type: 'reply', id, value, swapped };
}

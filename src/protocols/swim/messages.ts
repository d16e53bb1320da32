/**
 * SWIM's messages, and their versioned wire encoding. Decoding treats every datagram as hostile:
 * anything malformed (wrong version, wrong types, numbers beyond 2^53, oversized lists or names)
 * decodes to `undefined`, which the transport drops and counts.
 *
 * @module
 */

/** A membership update, piggybacked on protocol messages. `dead` from the node itself is a leave. */
export interface SwimUpdate {
  readonly kind: 'alive' | 'suspect' | 'dead';
  /** The member the update is about. */
  readonly node: string;
  readonly incarnation: number;
  /** The member that originated the update. */
  readonly from: string;
}

/** A member's state in a full state exchange. */
export interface MemberRecord {
  readonly node: string;
  readonly incarnation: number;
  readonly state: 'alive' | 'suspect' | 'dead' | 'left';
}

/** Every SWIM message. */
export type SwimMessage =
  | {
      readonly kind: 'ping';
      readonly seq: number;
      readonly target: string;
      readonly updates: readonly SwimUpdate[];
    }
  | {
      readonly kind: 'ping-req';
      readonly seq: number;
      readonly target: string;
      /** Lifeguard: the asker wants a nack if the target does not answer in time. */
      readonly nack: boolean;
      readonly updates: readonly SwimUpdate[];
    }
  | { readonly kind: 'ack'; readonly seq: number; readonly updates: readonly SwimUpdate[] }
  | { readonly kind: 'nack'; readonly seq: number; readonly updates: readonly SwimUpdate[] }
  | { readonly kind: 'gossip'; readonly updates: readonly SwimUpdate[] }
  | {
      readonly kind: 'push-pull';
      readonly join: boolean;
      readonly reply: boolean;
      readonly members: readonly MemberRecord[];
    };

/** The wire format's version; a datagram of another version is dropped. */
export const SWIM_WIRE_VERSION = 1;
/** Longest member name (an address such as `127.0.0.1:7946` fits easily). */
export const MAX_NAME_LENGTH = 128;
/** Most updates one message may carry. */
export const MAX_UPDATES = 64;
/** Most member records one state exchange may carry. */
export const MAX_MEMBERS = 4096;

/** Encodes `message` as the versioned JSON text sent on the wire. */
export function encodeMessage(message: SwimMessage): string {
  return JSON.stringify({ v: SWIM_WIRE_VERSION, ...message });
}

type Raw = Record<string, unknown>;

function isRecord(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME_LENGTH;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function update(value: unknown): SwimUpdate | undefined {
  if (!isRecord(value)) return undefined;
  const { kind, node, incarnation, from } = value;
  if (kind !== 'alive' && kind !== 'suspect' && kind !== 'dead') return undefined;
  if (!isName(node) || !isName(from) || !isCount(incarnation)) return undefined;
  return { kind, node, incarnation, from };
}

function record(value: unknown): MemberRecord | undefined {
  if (!isRecord(value)) return undefined;
  const { node, incarnation, state } = value;
  if (state !== 'alive' && state !== 'suspect' && state !== 'dead' && state !== 'left')
    return undefined;
  if (!isName(node) || !isCount(incarnation)) return undefined;
  return { node, incarnation, state };
}

function list<T>(
  value: unknown,
  max: number,
  item: (v: unknown) => T | undefined,
): T[] | undefined {
  if (!Array.isArray(value) || value.length > max) return undefined;
  const out: T[] = [];
  for (const v of value) {
    const x = item(v);
    if (x === undefined) return undefined;
    out.push(x);
  }
  return out;
}

/** Validates a decoded JSON value as a message; `undefined` when it is not one. */
export function parseMessage(value: unknown): SwimMessage | undefined {
  if (!isRecord(value) || value['v'] !== SWIM_WIRE_VERSION) return undefined;
  const kind = value['kind'];
  if (kind === 'push-pull') {
    const members = list(value['members'], MAX_MEMBERS, record);
    const { join, reply } = value;
    if (members === undefined || typeof join !== 'boolean' || typeof reply !== 'boolean')
      return undefined;
    return { kind, join, reply, members };
  }
  const updates = list(value['updates'], MAX_UPDATES, update);
  if (updates === undefined) return undefined;
  if (kind === 'gossip') return { kind, updates };
  const seq = value['seq'];
  if (!isCount(seq)) return undefined;
  if (kind === 'ack' || kind === 'nack') return { kind, seq, updates };
  const target = value['target'];
  if (!isName(target)) return undefined;
  if (kind === 'ping') return { kind, seq, target, updates };
  if (kind === 'ping-req' && typeof value['nack'] === 'boolean')
    return { kind, seq, target, nack: value['nack'], updates };
  return undefined;
}

/** Decodes a datagram's bytes; `undefined` for anything that is not a valid message. */
export function decodeMessage(bytes: Uint8Array): SwimMessage | undefined {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return parseMessage(value);
}

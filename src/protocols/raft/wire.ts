/**
 * The Raft service's wire format between members: length-prefixed, versioned frames carrying one
 * JSON document each, and a strict validator that turns a decoded document into a
 * {@link RaftMessage} or refuses it. Everything a peer sends is hostile input: a frame that is too
 * long, of another version, not UTF-8, not JSON, or not a well-formed message is a
 * {@link RaftWireError}, never a crash or a silent misreading.
 *
 * Frame: `u32 length (big-endian) | u8 version | payload`, where `length` counts the version byte
 * and the payload. Payload (version 1): UTF-8 JSON of a {@link WireFrame}.
 *
 * @module
 */
import { FaultlineError, errorGuard } from '../../core/errors.js';
import type { KvCommand, KvImage } from './kv.js';
import type { ConfChange, ConfState, Entry, RaftMessage, Snapshot } from './types.js';

/** The only frame version this code reads and writes. */
export const WIRE_VERSION = 1;
/** The largest frame accepted (version byte and payload), bytes. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** The longest member id accepted, characters. */
export const MAX_ID_LENGTH = 128;

/** A frame that is not a valid message: its connection is closed and the frame counted. */
export class RaftWireError extends FaultlineError {
  override readonly name = 'RaftWireError';
  constructor(message: string) {
    super('FAULTLINE_RAFT_WIRE', message);
  }
}

/** True when `e` is a {@link RaftWireError}. */
export const isRaftWireError = errorGuard(RaftWireError);

/**
 * What travels in a frame: `hello` opens every connection (who is calling, and where its HTTP
 * API listens, so that followers can redirect clients to the leader); `raft` carries a message.
 */
export type WireFrame =
  | { readonly kind: 'hello'; readonly from: string; readonly http: string }
  | { readonly kind: 'raft'; readonly msg: RaftMessage };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Encodes `frame` as one length-prefixed, versioned frame. */
export function encodeFrame(frame: WireFrame): Buffer {
  const payload = Buffer.from(JSON.stringify(frame), 'utf8');
  if (payload.length + 1 > MAX_FRAME_BYTES)
    throw new RaftWireError(`frame of ${payload.length + 1} bytes exceeds ${MAX_FRAME_BYTES}`);
  const out = Buffer.allocUnsafe(5 + payload.length);
  out.writeUInt32BE(payload.length + 1, 0);
  out.writeUInt8(WIRE_VERSION, 4);
  payload.copy(out, 5);
  return out;
}

/**
 * Splits a byte stream into frames. `push` returns the frames completed by a chunk and throws a
 * {@link RaftWireError} on a bad length, version or payload; the caller then closes the stream.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): WireFrame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: WireFrame[] = [];
    for (;;) {
      if (this.buffered < 4) return frames;
      const head = this.peek(4).readUInt32BE(0);
      if (head < 1 || head > MAX_FRAME_BYTES)
        throw new RaftWireError(`frame length ${head} outside [1, ${MAX_FRAME_BYTES}]`);
      if (this.buffered < 4 + head) return frames;
      const body = this.take(4 + head).subarray(4);
      if (body[0] !== WIRE_VERSION)
        throw new RaftWireError(`frame version ${body[0]} (this member speaks ${WIRE_VERSION})`);
      frames.push(parseFrame(body.subarray(1)));
    }
  }

  private peek(n: number): Buffer {
    if ((this.chunks[0]?.length ?? 0) < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  private take(n: number): Buffer {
    const all = this.peek(n);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.buffered -= n;
    return all.subarray(0, n);
  }
}

function parseFrame(payload: Buffer): WireFrame {
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    throw new RaftWireError('frame payload is not valid UTF-8');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new RaftWireError('frame payload is not JSON');
  }
  const o = record(doc, 'frame');
  if (o.kind === 'hello')
    return { kind: 'hello', from: id(o.from, 'hello.from'), http: str(o.http, 'hello.http') };
  if (o.kind === 'raft') return { kind: 'raft', msg: parseMessage(o.msg) };
  throw new RaftWireError(`unknown frame kind ${JSON.stringify(o.kind)}`);
}

// ------------------------------------------------------------------ field validators

type Rec = Record<string, unknown>;

function record(v: unknown, what: string): Rec {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new RaftWireError(`${what} must be an object`);
  return v as Rec;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new RaftWireError(`${what} must be a string`);
  return v;
}

function id(v: unknown, what: string): string {
  const s = str(v, what);
  if (s.length === 0 || s.length > MAX_ID_LENGTH)
    throw new RaftWireError(`${what} must be 1-${MAX_ID_LENGTH} characters`);
  return s;
}

function nat(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new RaftWireError(`${what} must be a safe integer >= 0 (got ${JSON.stringify(v)})`);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new RaftWireError(`${what} must be a boolean`);
  return v;
}

function nullable<T>(v: unknown, parse: (v: unknown) => T): T | null {
  return v === null ? null : parse(v);
}

function array(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new RaftWireError(`${what} must be an array`);
  return v;
}

function confChange(v: unknown): ConfChange {
  const o = record(v, 'change');
  const kind = o.kind;
  if (kind !== 'add-voter' && kind !== 'add-learner' && kind !== 'remove')
    throw new RaftWireError(`change.kind ${JSON.stringify(kind)} is not a conf change`);
  return { kind, id: id(o.id, 'change.id') };
}

function entry(v: unknown, at: number): Entry {
  const o = record(v, `entries[${at}]`);
  const index = nat(o.index, 'entry.index');
  const term = nat(o.term, 'entry.term');
  if (o.kind === 'conf') return { kind: 'conf', index, term, change: confChange(o.change) };
  if (o.kind !== 'normal') throw new RaftWireError(`entry.kind ${JSON.stringify(o.kind)}`);
  return { kind: 'normal', index, term, data: o.data === null ? null : parseKvCommand(o.data) };
}

/** Validates a key-value write command (entries and client requests carry them). */
export function parseKvCommand(v: unknown): KvCommand {
  const o = record(v, 'command');
  const op = record(o.op, 'command.op');
  const key = str(op.key, 'op.key');
  const base = { client: id(o.client, 'command.client'), seq: nat(o.seq, 'command.seq') };
  switch (op.f) {
    case 'put':
    case 'append':
      return { ...base, op: { f: op.f, key, value: str(op.value, 'op.value') } };
    case 'cas':
      return {
        ...base,
        op: { f: 'cas', key, from: str(op.from, 'op.from'), to: str(op.to, 'op.to') },
      };
    default:
      throw new RaftWireError(`op.f ${JSON.stringify(op.f)} is not put, append or cas`);
  }
}

/** Validates entries: well-formed, with contiguous indexes. */
export function parseEntries(v: unknown, what = 'entries'): Entry[] {
  const list = array(v, what).map(entry);
  for (let i = 1; i < list.length; i++)
    if (list[i]!.index !== list[i - 1]!.index + 1)
      throw new RaftWireError(`${what} are not contiguous at ${list[i]!.index}`);
  return list;
}

function ids(v: unknown, what: string): string[] {
  return array(v, what).map((x) => id(x, what));
}

function confState(v: unknown): ConfState {
  const o = record(v, 'conf');
  return { voters: ids(o.voters, 'conf.voters'), learners: ids(o.learners, 'conf.learners') };
}

function kvImage(v: unknown): KvImage {
  const o = record(v, 'snapshot.data');
  const data = array(o.data, 'snapshot.data.data').map((p) => {
    const pair = array(p, 'snapshot.data.data[]');
    return [str(pair[0], 'key'), str(pair[1], 'value')] as const;
  });
  const sessions = array(o.sessions, 'snapshot.data.sessions').map((s) => {
    const t = array(s, 'session');
    const r = record(t[2], 'session.result');
    const result = {
      value: str(r.value, 'session.result.value'),
      ...(r.swapped === undefined ? {} : { swapped: bool(r.swapped, 'session.result.swapped') }),
    };
    return [str(t[0], 'session.client'), nat(t[1], 'session.seq'), result] as const;
  });
  return { data, sessions };
}

/** Validates a snapshot whose data is a key-value image. */
export function parseSnapshot(v: unknown): Snapshot {
  const o = record(v, 'snapshot');
  return {
    index: nat(o.index, 'snapshot.index'),
    term: nat(o.term, 'snapshot.term'),
    conf: confState(o.conf),
    data: kvImage(o.data),
  };
}

/** Validates a decoded document as a {@link RaftMessage}; throws {@link RaftWireError}. */
export function parseMessage(v: unknown): RaftMessage {
  const o = record(v, 'msg');
  const h = { from: id(o.from, 'msg.from'), to: id(o.to, 'msg.to'), term: nat(o.term, 'term') };
  const ctx = (c: unknown) => str(c, 'msg.context');
  switch (o.type) {
    case 'vote':
      return {
        ...h,
        type: 'vote',
        preVote: bool(o.preVote, 'preVote'),
        lastIndex: nat(o.lastIndex, 'lastIndex'),
        lastTerm: nat(o.lastTerm, 'lastTerm'),
        transfer: bool(o.transfer, 'transfer'),
      };
    case 'vote-resp':
      return {
        ...h,
        type: 'vote-resp',
        preVote: bool(o.preVote, 'preVote'),
        reject: bool(o.reject, 'reject'),
      };
    case 'append': {
      const index = nat(o.index, 'index');
      const entries = parseEntries(o.entries);
      if (entries.length > 0 && entries[0]!.index !== index + 1)
        throw new RaftWireError(`append at ${index} starts with entry ${entries[0]!.index}`);
      const logTerm = nat(o.logTerm, 'logTerm');
      return { ...h, type: 'append', index, logTerm, entries, commit: nat(o.commit, 'commit') };
    }
    case 'append-resp':
      return {
        ...h,
        type: 'append-resp',
        index: nat(o.index, 'index'),
        reject: bool(o.reject, 'reject'),
        hint: nat(o.hint, 'hint'),
      };
    case 'heartbeat':
      return {
        ...h,
        type: 'heartbeat',
        commit: nat(o.commit, 'commit'),
        context: nullable(o.context, ctx),
      };
    case 'heartbeat-resp':
      return { ...h, type: 'heartbeat-resp', context: nullable(o.context, ctx) };
    case 'snapshot':
      return { ...h, type: 'snapshot', snapshot: parseSnapshot(o.snapshot) };
    case 'timeout-now':
      return { ...h, type: 'timeout-now' };
    case 'read-index':
      return { ...h, type: 'read-index', context: ctx(o.context) };
    case 'read-index-resp':
      return {
        ...h,
        type: 'read-index-resp',
        context: ctx(o.context),
        index: nat(o.index, 'index'),
        reject: bool(o.reject, 'reject'),
      };
    default:
      throw new RaftWireError(`unknown message type ${JSON.stringify(o.type)}`);
  }
}

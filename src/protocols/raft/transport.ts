/**
 * TCP between Raft members: one outgoing connection per peer (opened lazily, reopened after a
 * pause when it fails), and a listener for the peers' connections. Every connection starts with a
 * `hello` frame; every frame is decoded as hostile input ({@link FrameDecoder}): a malformed one
 * closes its connection and is counted. Messages to an unreachable or overloaded peer are dropped
 * (Raft retransmits), so a stopped peer never makes this member buffer without bound.
 *
 * @module
 */
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Cancel, Runtime } from '../../core/runtime.js';
import { FrameDecoder, encodeFrame } from './wire.js';
import type { WireFrame } from './wire.js';
import type { RaftId, RaftMessage } from './types.js';

/** Where a member listens. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** Bytes queued on one outgoing connection past which further messages are dropped. */
const MAX_QUEUED_BYTES = 32 * 1024 * 1024;
/** Pause before reconnecting to a peer, ms. */
const RECONNECT_MS = 100;
/** A connection that sends no hello within this many ms is closed. */
const HELLO_TIMEOUT_MS = 5000;

/** What the transport counts. */
export interface TransportCounters {
  /** Frames that failed to decode or validate; each closed its connection. */
  malformedFrames: number;
  /** Messages dropped because the peer was unreachable or too far behind. */
  droppedMessages: number;
}

class Outgoing {
  socket: Socket | undefined;
  connected = false;
  private retry: Cancel | undefined;
  private closed = false;

  constructor(
    private readonly t: RaftTransport,
    readonly address: PeerAddress,
  ) {}

  send(bytes: Buffer): boolean {
    if (this.closed) return false;
    if (!this.connected || this.socket === undefined) {
      this.connect();
      return false;
    }
    if (this.socket.writableLength > MAX_QUEUED_BYTES) return false;
    this.socket.write(bytes);
    return true;
  }

  private connect(): void {
    if (this.socket !== undefined || this.retry !== undefined || this.closed) return;
    const socket = createConnection({ host: this.address.host, port: this.address.port });
    socket.setNoDelay(true);
    this.socket = socket;
    socket.on('connect', () => {
      this.connected = true;
      socket.write(this.t.helloBytes);
    });
    // Peers never write on our outgoing connections; anything they do is read and discarded.
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.socket = undefined;
      this.connected = false;
      if (this.closed) return;
      this.retry = this.t.runtime.timers.setTimer(RECONNECT_MS, () => {
        this.retry = undefined;
        this.connect();
      });
    });
  }

  close(): void {
    this.closed = true;
    this.retry?.();
    this.socket?.destroy();
  }
}

/** The member-to-member transport of a Raft server. */
export class RaftTransport {
  readonly counters: TransportCounters = { malformedFrames: 0, droppedMessages: 0 };
  /** Each peer's HTTP address, as its hello announced it. */
  readonly httpOf = new Map<RaftId, string>();
  readonly helloBytes: Buffer;
  private readonly out = new Map<RaftId, Outgoing>();
  private readonly incoming = new Set<Socket>();
  private readonly server: Server;

  constructor(
    readonly id: RaftId,
    peers: ReadonlyMap<RaftId, PeerAddress>,
    http: string,
    readonly runtime: Runtime,
    private readonly onMessage: (m: RaftMessage) => void,
  ) {
    this.helloBytes = encodeFrame({ kind: 'hello', from: id, http });
    for (const [peer, address] of peers)
      if (peer !== id) this.out.set(peer, new Outgoing(this, address));
    this.server = createServer((socket) => this.accept(socket));
  }

  /** Starts listening on `address`. */
  listen(address: PeerAddress): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(address.port, address.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Sends `m` to its recipient, or drops it (counted) when that is not possible now. */
  send(m: RaftMessage): void {
    this.sendAll([m]);
  }

  /**
   * Sends each message to its recipient, or drops it (counted); the frames for one peer go out
   * in one socket write, in order.
   */
  sendAll(messages: readonly RaftMessage[]): void {
    if (messages.length === 0) return;
    const frames = new Map<RaftId, Buffer[]>();
    for (const m of messages) {
      if (!this.out.has(m.to)) {
        this.counters.droppedMessages++;
        continue;
      }
      let list = frames.get(m.to);
      if (list === undefined) frames.set(m.to, (list = []));
      list.push(encodeFrame({ kind: 'raft', msg: m }));
    }
    for (const [to, list] of frames)
      if (!this.out.get(to)!.send(list.length === 1 ? list[0]! : Buffer.concat(list)))
        this.counters.droppedMessages += list.length;
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    this.incoming.add(socket);
    const decoder = new FrameDecoder();
    let from: RaftId | undefined;
    const helloTimer = this.runtime.timers.setTimer(HELLO_TIMEOUT_MS, () => socket.destroy());
    socket.on('error', () => undefined);
    socket.on('close', () => {
      helloTimer();
      this.incoming.delete(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      let frames: WireFrame[];
      try {
        frames = decoder.push(chunk);
        for (const f of frames) from = this.accepted(f, from);
      } catch {
        this.counters.malformedFrames++;
        socket.destroy();
        return;
      }
      if (from !== undefined) helloTimer();
      for (const f of frames) if (f.kind === 'raft') this.onMessage(f.msg);
    });
  }

  /** Checks a frame against its connection (hello first, from a known peer, addressed to us). */
  private accepted(f: WireFrame, from: RaftId | undefined): RaftId {
    if (f.kind === 'hello') {
      if (from !== undefined || !this.out.has(f.from)) throw new Error('unexpected hello');
      this.httpOf.set(f.from, f.http);
      return f.from;
    }
    if (from === undefined || f.msg.from !== from || f.msg.to !== this.id)
      throw new Error('message from an unannounced or wrong sender');
    return from;
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    for (const o of this.out.values()) o.close();
    for (const s of this.incoming) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

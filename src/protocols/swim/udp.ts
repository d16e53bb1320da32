/**
 * SWIM over real sockets: the same {@link SwimNode} state machine, driven by the runtime's timers,
 * with protocol messages as UDP datagrams and full state exchanges (and any message too large for
 * one datagram) over TCP, as memberlist does. A member's name is its `host:port`; UDP and TCP use
 * the same port number. Every datagram and stream is decoded as hostile input: a malformed one is
 * dropped and counted, never thrown.
 *
 * @module
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket as TcpSocket } from 'node:net';
import type { Cancel, Runtime } from '../../core/runtime.js';
import { systemRuntime } from '../../core/system.js';
import { integerIn } from '../../core/validate.js';
import type { SwimOptions, SwimProfile } from './config.js';
import { decodeMessage, encodeMessage, MAX_NAME_LENGTH, parseMessage } from './messages.js';
import type { SwimMessage } from './messages.js';
import { SwimNode } from './node.js';
import type { MemberEvent } from './node.js';

/** Datagrams larger than this go over TCP instead (safe under a 1,500-byte MTU). */
export const MAX_DATAGRAM_BYTES = 1400;
/** A TCP state exchange larger than this is dropped. */
const MAX_STREAM_BYTES = 4 * 1024 * 1024;

/** Options of {@link SwimUdpNode.start}. */
export interface SwimUdpOptions {
  /** Address to bind and advertise (default 127.0.0.1). */
  readonly host?: string;
  /** UDP and TCP port. */
  readonly port: number;
  /** Members to join (`host:port`). */
  readonly seeds?: readonly string[];
  readonly profile?: SwimProfile;
  readonly options?: Partial<SwimOptions>;
  /** Tick length, ms (default 50). */
  readonly tickMs?: number;
  /** Called with each membership event. */
  readonly onEvent?: (event: MemberEvent) => void;
  readonly runtime?: Runtime;
}

function split(address: string): { host: string; port: number } | undefined {
  const i = address.lastIndexOf(':');
  const port = Number(address.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: address.slice(0, i), port };
}

/**
 * A SWIM member on UDP (and TCP for state exchanges).
 *
 * @example
 * await using node = await SwimUdpNode.start({ port: 7946, seeds: ['127.0.0.1:7947'], profile: 'local' });
 * node.swim.stateOf('127.0.0.1:7947');
 */
export class SwimUdpNode {
  /** Datagrams and streams dropped because they did not decode as a valid message. */
  dropped = 0;
  private cancelTick: Cancel | undefined;
  private closed = false;

  private constructor(
    readonly swim: SwimNode,
    private readonly udp: Socket,
    private readonly tcp: Server,
    private readonly runtime: Runtime,
    private readonly onEvent: ((event: MemberEvent) => void) | undefined,
  ) {}

  /** Binds the sockets, joins the seeds and starts ticking. */
  static async start(o: SwimUdpOptions): Promise<SwimUdpNode> {
    const host = o.host ?? '127.0.0.1';
    const port = integerIn('port', o.port, 1, 65535);
    const runtime = o.runtime ?? systemRuntime();
    const swim = new SwimNode({
      name: `${host}:${port}`,
      random: runtime.random.fork('swim'),
      ...(o.profile === undefined ? {} : { profile: o.profile }),
      ...(o.options === undefined ? {} : { options: o.options }),
      ...(o.tickMs === undefined ? {} : { tickMs: o.tickMs }),
    });
    const udp = createSocket('udp4');
    const tcp = createServer();
    const node = new SwimUdpNode(swim, udp, tcp, runtime, o.onEvent);
    udp.on('message', (bytes: Buffer, rinfo: RemoteInfo) => node.onDatagram(bytes, rinfo));
    udp.on('error', () => undefined);
    tcp.on('connection', (socket) => node.onStream(socket));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => resolve());
    });
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, () => resolve());
    });
    swim.join(o.seeds ?? []);
    node.flush();
    node.cancelTick = runtime.timers.setTimer(swim.tickMs, () => node.loop());
    return node;
  }

  /** Leaves gracefully (announces it), then closes the sockets. */
  async leave(): Promise<void> {
    this.swim.leave();
    this.flush();
    await this.runtime.timers.sleep(this.swim.options.gossipIntervalMs * 3);
    await this.close();
  }

  /** Stops ticking and closes the sockets. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cancelTick?.();
    await new Promise<void>((resolve) => this.udp.close(() => resolve()));
    await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private loop(): void {
    if (this.closed) return;
    this.swim.tick();
    this.flush();
    this.cancelTick = this.runtime.timers.setTimer(this.swim.tickMs, () => this.loop());
  }

  private onDatagram(bytes: Buffer, rinfo: RemoteInfo): void {
    const message = decodeMessage(bytes);
    if (message === undefined || this.closed) {
      this.dropped++;
      return;
    }
    this.swim.step(`${rinfo.address}:${rinfo.port}`, message);
    this.flush();
  }

  private onStream(socket: TcpSocket): void {
    const chunks: Buffer[] = [];
    let size = 0;
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_STREAM_BYTES) {
        this.dropped++;
        socket.destroy();
        return;
      }
      chunks.push(chunk);
    });
    socket.on('end', () => {
      const envelope = this.parseEnvelope(Buffer.concat(chunks));
      if (envelope === undefined || this.closed) {
        this.dropped++;
        return;
      }
      this.swim.step(envelope.from, envelope.message);
      this.flush();
    });
  }

  private parseEnvelope(bytes: Buffer): { from: string; message: SwimMessage } | undefined {
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch {
      return undefined;
    }
    if (typeof value !== 'object' || value === null) return undefined;
    const { from, message } = value as { from?: unknown; message?: unknown };
    if (typeof from !== 'string' || from.length > MAX_NAME_LENGTH || split(from) === undefined)
      return undefined;
    const parsed = parseMessage(message);
    return parsed === undefined ? undefined : { from, message: parsed };
  }

  private flush(): void {
    const { messages, events } = this.swim.ready();
    for (const e of events) this.onEvent?.(e);
    if (this.closed) return;
    for (const { to, message } of messages) this.send(to, message);
  }

  private send(to: string, message: SwimMessage): void {
    const address = split(to);
    if (address === undefined) return;
    const text = encodeMessage(message);
    const bytes = Buffer.from(text);
    if (message.kind !== 'push-pull' && bytes.length <= MAX_DATAGRAM_BYTES) {
      this.udp.send(bytes, address.port, address.host, () => undefined);
      return;
    }
    // Full state exchanges, and anything too large for a datagram, go over TCP.
    const socket = createConnection(address.port, address.host);
    socket.on('error', () => undefined);
    socket.setTimeout(5000, () => socket.destroy());
    socket.end(JSON.stringify({ from: this.swim.name, message: JSON.parse(text) as unknown }));
  }
}

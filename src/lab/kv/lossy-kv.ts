/**
 * A deliberately broken key-value server, the negative control of the simulator + checker
 * pipeline: it acknowledges a write as soon as it is in memory and makes it durable later, in a
 * group commit. A crash between the acknowledgement and the next flush loses acknowledged writes,
 * and after the restart reads return an older value than writes that completed: the history is not
 * linearizable. A checker that never finds this bug is itself broken.
 *
 * @module
 */
import { integerIn, positive } from '../../core/validate.js';
import type { Cancel } from '../../core/runtime.js';
import type { Envelope, Node, Transport } from '../../sim/node.js';
import type { KvRequest } from './messages.js';
import { kvReply } from './messages.js';

/** Options of a {@link LossyKvServer}. */
export interface LossyKvServerOptions {
  /**
   * How long an acknowledged write may stay only in memory before the group commit syncs it, in
   * ms of the server's clock (default 50). Longer windows lose more writes on a crash.
   */
  flushIntervalMs?: number;
  /** Keys held in memory at most (default 10,000); a write of a new key beyond it is refused. */
  maxKeys?: number;
}

/**
 * The broken server: same protocol as `KvServer`, but a write is acknowledged before it is
 * durable. Do not copy it: it is here so that tests can prove the checker catches lost writes.
 *
 * @example
 * server.start((node) => void new LossyKvServer(node, { flushIntervalMs: 50 }));
 */
export class LossyKvServer {
  private readonly memory = new Map<string, number>();
  private readonly transport: Transport;
  private readonly node: Node;
  private readonly flushIntervalMs: number;
  private readonly maxKeys: number;
  private flush: Cancel | undefined;

  constructor(node: Node, options: LossyKvServerOptions = {}) {
    this.flushIntervalMs = positive('flushIntervalMs', options.flushIntervalMs ?? 50);
    this.maxKeys = integerIn('maxKeys', options.maxKeys ?? 10_000, 1, 1_000_000_000);
    this.node = node;
    this.transport = node.transport;
    for (const key of node.disk.keys()) this.memory.set(key, node.disk.read(key) as number);
    this.transport.onMessage((m) => this.handle(m as Envelope<KvRequest>));
  }

  private handle(message: Envelope<KvRequest>): void {
    const request = message.payload;
    if (request.type === 'read') {
      this.transport.send(message.from, kvReply(request.id, this.memory.get(request.key) ?? null));
      return;
    }
    // No reply: the client times out and records an indeterminate write.
    if (!this.memory.has(request.key) && this.memory.size >= this.maxKeys) return;
    if (request.type === 'cas') {
      const current = this.memory.get(request.key) ?? null;
      const swapped = current === request.from;
      if (swapped) this.store(request.key, request.to);
      this.transport.send(
        message.from,
        kvReply(request.id, swapped ? request.to : current, swapped),
      );
      return;
    }
    this.store(request.key, request.value);
    this.transport.send(message.from, kvReply(request.id, request.value));
  }

  private store(key: string, value: number): void {
    this.memory.set(key, value);
    this.node.disk.write(key, value);
    // The bug: the caller acknowledges now; the value is durable only at the next group commit.
    this.flush ??= this.node.runtime.timers.setTimer(this.flushIntervalMs, () => {
      this.flush = undefined;
      void this.node.disk.sync();
    });
  }
}

/**
 * Drives a pure {@link StateMachine} on a simulated node: messages from the node's transport go
 * to `step`, a timer of the node's runtime drives `tick`, and after every input the batch is
 * applied — durable state written and synced on the node's disk first, messages sent after. A
 * crash loses the machine; the restart builds a new one from what the disk kept.
 *
 * @module
 */
import { positive } from '../core/validate.js';
import type { Random } from '../core/runtime.js';
import type { Node } from '../sim/node.js';
import type { Outbound, StateMachine } from './machine.js';

/** Options of {@link driveOnNode}. */
export interface DriveOptions<M, S, T extends StateMachine<M, S>> {
  /** Builds the machine of one incarnation from the durable state the disk kept (if any). */
  create(durable: S | undefined, random: Random): T;
  /** Virtual ms between ticks, on the node's clock (default 1). */
  tickMs?: number;
  /** The disk key of the durable state (default `state`). */
  key?: string;
  /** Called with every message before it is sent (checkers watch here, outside the protocol). */
  observe?(from: string, out: Outbound<M>): void;
  /** Called after every applied batch with the current machine. */
  after?(machine: T): void;
  /** Called once per incarnation, after the machine is built (start application work here). */
  started?(machine: T, node: Node): void;
}

/**
 * Starts `node` running the machine that `options.create` builds.
 *
 * @example
 * driveOnNode(sim.node('n1'), { create: (saved, random) => new PaxosNode({ ...options, random }, saved) });
 */
export function driveOnNode<M, S, T extends StateMachine<M, S>>(
  node: Node,
  options: DriveOptions<M, S, T>,
): void {
  const tickMs = positive('tickMs', options.tickMs ?? 1);
  const key = options.key ?? 'state';
  node.start((n) => {
    const machine = options.create(n.disk.read(key) as S | undefined, n.runtime.random);
    const transport = n.transport;
    const flush = (): void => {
      const batch = machine.ready();
      if (batch.persist !== undefined) {
        n.disk.write(key, batch.persist);
        // With no fsync latency the write is durable when sync() returns.
        void n.disk.sync();
      }
      for (const out of batch.messages) {
        options.observe?.(n.name, out);
        transport.send(out.to, out.message);
      }
      machine.advance();
      options.after?.(machine);
    };
    transport.onMessage((envelope) => {
      machine.step(envelope.from, envelope.payload as M);
      flush();
    });
    const loop = (): void => {
      machine.tick();
      flush();
      n.runtime.timers.setTimer(tickMs, loop);
    };
    n.runtime.timers.setTimer(tickMs, loop);
    flush();
    options.started?.(machine, n);
  });
}

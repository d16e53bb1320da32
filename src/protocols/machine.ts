/**
 * The shape every pure protocol state machine shares (after etcd-io/raft): no timers, promises
 * or I/O inside. A driver feeds it `tick()` and `step(from, message)`, then takes a {@link Ready}
 * batch — durable state to persist first, then messages to send — and calls `advance()`.
 *
 * @module
 */
import { assert } from '../core/assert.js';

/** A message for one peer. */
export interface Outbound<M> {
  readonly to: string;
  readonly message: M;
}

/** What a state machine asks its driver to do, in this order: persist, then send. */
export interface Ready<M, S> {
  /** Durable state to make durable (fsync) before any message of this batch leaves. */
  readonly persist: S | undefined;
  readonly messages: readonly Outbound<M>[];
}

/** A protocol node as a pure state machine. */
export interface StateMachine<M, S> {
  /** One logical clock tick: timeouts count in ticks. */
  tick(): void;
  /** Handles a message from `from` (the transport authenticates the sender). */
  step(from: string, message: M): void;
  /** The pending batch (the same batch until {@link StateMachine.advance}). */
  ready(): Ready<M, S>;
  /** Marks the pending batch as done. */
  advance(): void;
}

/** The most messages one batch holds: a bug that loops on sending fails loudly, not slowly. */
const MAX_BATCH = 100_000;

/**
 * The pending batch of a state machine: protocol code calls `send` and `persist`, the driver
 * reads `ready()` and calls `advance()`.
 */
export class Outbox<M, S> {
  private messages: Outbound<M>[] = [];
  private state: S | undefined;

  /** Queues `message` for `to`. */
  send(to: string, message: M): void {
    assert(this.messages.length < MAX_BATCH, `a batch holds at most ${MAX_BATCH} messages`);
    this.messages.push({ to, message });
  }

  /** Queues `message` for every peer in `to`. */
  broadcast(to: readonly string[], message: M): void {
    for (const peer of to) this.send(peer, message);
  }

  /** Asks for `state` to be durable before the batch's messages leave (the last call wins). */
  persist(state: S): void {
    this.state = state;
  }

  ready(): Ready<M, S> {
    return { persist: this.state, messages: this.messages };
  }

  advance(): void {
    this.messages = [];
    this.state = undefined;
  }
}

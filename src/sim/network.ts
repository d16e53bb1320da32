/**
 * The simulated network: per-link latency distributions, loss, duplication, reordering, bounded
 * capacity, symmetric and asymmetric partitions, isolation, etcd-raft-style drop rates, and a
 * Byzantine interception hook. All randomness comes from the run's seed.
 *
 * @module
 */
import { disposable } from '../core/events.js';
import type { Disposable } from '../core/events.js';
import type { Random } from '../core/runtime.js';
import type { SeededRandom } from '../core/random.js';
import { integerIn, numberIn, positive, nonNegative, rangeError } from '../core/validate.js';
import type { Envelope, Node } from './node.js';
import type { Scheduler } from './scheduler.js';
import type { Trace } from './trace.js';

/** How long a message takes on a link, in virtual ms. */
export type LatencyModel =
  | { readonly kind: 'fixed'; readonly ms: number }
  | { readonly kind: 'uniform'; readonly minMs: number; readonly maxMs: number }
  /** `minMs` plus an exponential tail of mean `meanMs`, capped at `maxMs` (default min + 20 × mean). */
  | {
      readonly kind: 'exponential';
      readonly minMs: number;
      readonly meanMs: number;
      readonly maxMs?: number;
    };

/** Behaviour of one directed link (or the default of every link). */
export interface LinkOptions {
  /** Latency distribution (default uniform 1–5 ms). */
  latency?: LatencyModel;
  /** Probability in [0, 1] that a message is lost (default 0). */
  lossProbability?: number;
  /** Probability in [0, 1] that a message is delivered twice (default 0). */
  duplicateProbability?: number;
  /**
   * Probability in [0, 1] that a message is held back by up to two extra latency draws, so later
   * messages overtake it (default 0). At 0 every link is FIFO, like a TCP connection.
   */
  reorderProbability?: number;
  /**
   * Messages in flight on the link at most (default 1,000); a message sent to a full link is
   * dropped (traced as `capacity`), as a full buffer or queue would.
   */
  capacity?: number;
}

/** Options of the {@link Network}: the default link behaviour. */
export type NetworkOptions = LinkOptions;

/** Why a message was not delivered. */
export type DropReason =
  | 'partition'
  | 'loss'
  | 'drop'
  | 'capacity'
  | 'crashed'
  | 'unknown-node'
  | 'inbox-full'
  | 'intercepted';

/** An outgoing message as an interceptor sees it. */
export interface OutgoingMessage {
  readonly from: string;
  readonly to: string;
  readonly payload: unknown;
}

/** What an interceptor may do besides rewriting: forge extra messages. */
export interface InterceptContext {
  /** Sends a forged message, optionally claiming another sender; it skips interception. */
  forge(to: string, payload: unknown, asFrom?: string): void;
  readonly nowMs: number;
  /** The network's seeded random stream. */
  readonly random: Random;
}

/**
 * A Byzantine hook on a node's outgoing messages: return `undefined` to pass the message
 * unchanged, `'drop'` to drop it, or a replacement `to` and/or `payload`.
 */
export type Interceptor = (
  message: OutgoingMessage,
  context: InterceptContext,
) => undefined | 'drop' | { readonly to?: string; readonly payload?: unknown };

interface ResolvedLink {
  latency: LatencyModel;
  loss: number;
  duplicate: number;
  reorder: number;
  capacity: number;
}

class Link {
  cut = false;
  dropProbability = 0;
  inFlight = 0;
  lastDeliveryMs = 0;
  constructor(public options: ResolvedLink) {}
}

class Message implements Envelope {
  constructor(
    readonly id: number,
    readonly from: string,
    readonly to: string,
    readonly payload: unknown,
    readonly sentAtMs: number,
    readonly source: Node,
    readonly target: Node,
    readonly link: Link,
  ) {}
}

function resolve(options: LinkOptions, base?: ResolvedLink): ResolvedLink {
  const latency = options.latency ?? base?.latency ?? { kind: 'uniform', minMs: 1, maxMs: 5 };
  checkLatency(latency);
  return {
    latency,
    loss: numberIn('lossProbability', options.lossProbability ?? base?.loss ?? 0, 0, 1),
    duplicate: numberIn(
      'duplicateProbability',
      options.duplicateProbability ?? base?.duplicate ?? 0,
      0,
      1,
    ),
    reorder: numberIn('reorderProbability', options.reorderProbability ?? base?.reorder ?? 0, 0, 1),
    capacity: integerIn('capacity', options.capacity ?? base?.capacity ?? 1000, 1, 2 ** 30),
  };
}

function checkLatency(latency: LatencyModel): void {
  switch (latency.kind) {
    case 'fixed':
      nonNegative('latency.ms', latency.ms);
      return;
    case 'uniform':
      nonNegative('latency.minMs', latency.minMs);
      if (!(latency.maxMs >= latency.minMs) || !Number.isFinite(latency.maxMs)) {
        throw rangeError(
          'latency.maxMs',
          `a finite number >= minMs (${latency.minMs})`,
          latency.maxMs,
        );
      }
      return;
    case 'exponential':
      nonNegative('latency.minMs', latency.minMs);
      positive('latency.meanMs', latency.meanMs);
      if (latency.maxMs !== undefined && !(latency.maxMs >= latency.minMs)) {
        throw rangeError('latency.maxMs', `>= minMs (${latency.minMs})`, latency.maxMs);
      }
      return;
    default:
      throw rangeError(
        'latency.kind',
        "'fixed', 'uniform' or 'exponential'",
        (latency as { kind: unknown }).kind,
      );
  }
}

/** A node or its name. */
export type NodeRef = Node | string;

/** The network of a simulation; reach it as `sim.network`. */
export class Network {
  private readonly scheduler: Scheduler;
  private readonly trace: Trace;
  private readonly random: SeededRandom;
  private readonly lookup: (ref: NodeRef) => Node | undefined;
  private defaults: ResolvedLink;
  private readonly rows: Link[][] = [];
  private readonly nodes: Node[] = [];
  private nextId = 1;
  private extraLoss = 0;
  private inFlightTotal = 0;
  private readonly deliverFn = (m: Message): void => this.deliver(m);

  /** @internal Created by the simulation. */
  constructor(
    scheduler: Scheduler,
    trace: Trace,
    random: SeededRandom,
    lookup: (ref: NodeRef) => Node | undefined,
    options: NetworkOptions = {},
  ) {
    this.scheduler = scheduler;
    this.trace = trace;
    this.random = random;
    this.lookup = lookup;
    this.defaults = resolve(options);
  }

  /** Messages sent so far (forged ones included, duplicates not). */
  get sent(): number {
    return this.nextId - 1;
  }

  /** Messages currently in flight on every link. */
  get inFlight(): number {
    return this.inFlightTotal;
  }

  /** @internal Adds a node's links (both directions to every existing node, and to itself). */
  addNode(node: Node): void {
    const row: Link[] = [];
    for (const other of this.nodes) {
      row[other.index] = new Link(this.defaults);
      (this.rows[other.index] as Link[])[node.index] = new Link(this.defaults);
    }
    row[node.index] = new Link(this.defaults);
    this.rows[node.index] = row;
    this.nodes.push(node);
  }

  /** Changes the default behaviour of every link (overrides set with `setLink` are replaced). */
  configure(options: LinkOptions): void {
    this.defaults = resolve(options, this.defaults);
    for (const row of this.rows) for (const link of row) link.options = this.defaults;
  }

  /** Overrides the behaviour of the directed link `from → to`. */
  setLink(from: NodeRef, to: NodeRef, options: LinkOptions): void {
    const link = this.link(from, to);
    link.options = resolve(options, link.options);
  }

  /** Cuts both directions between `a` and `b` (a symmetric partition). */
  cut(a: NodeRef, b: NodeRef): void {
    this.link(a, b).cut = true;
    this.link(b, a).cut = true;
  }

  /** Cuts `from → to` only (an asymmetric partition: `to` can still reach `from`). */
  cutOneWay(from: NodeRef, to: NodeRef): void {
    this.link(from, to).cut = true;
  }

  /** Restores both directions between `a` and `b`. */
  uncut(a: NodeRef, b: NodeRef): void {
    this.link(a, b).cut = false;
    this.link(b, a).cut = false;
  }

  /** Cuts every link between nodes of different groups; links inside a group stay up. */
  partition(groups: readonly (readonly NodeRef[])[]): void {
    for (let g = 0; g < groups.length; g++) {
      for (let h = g + 1; h < groups.length; h++) {
        for (const a of groups[g] ?? []) for (const b of groups[h] ?? []) this.cut(a, b);
      }
    }
  }

  /** Cuts `node` off from every node, including nodes added later, until `heal()`. */
  isolate(node: NodeRef): void {
    this.node(node).isolated = true;
  }

  /** Ends the isolation of `node` (cuts made with `cut` stay). */
  unisolate(node: NodeRef): void {
    this.node(node).isolated = false;
  }

  /** Ends every partition and isolation. Drop rates and loss bursts stay (see `recover`). */
  heal(): void {
    for (const row of this.rows) for (const link of row) link.cut = false;
    for (const node of this.nodes) node.isolated = false;
  }

  /** etcd-raft test network style: drop messages `from → to` with `probability` (0 restores). */
  drop(from: NodeRef, to: NodeRef, probability: number): void {
    this.link(from, to).dropProbability = numberIn('probability', probability, 0, 1);
  }

  /** etcd-raft test network style: clears drop rates and loss bursts, and heals every partition. */
  recover(): void {
    for (const row of this.rows) for (const link of row) link.dropProbability = 0;
    this.extraLoss = 0;
    this.heal();
  }

  /** A network-wide extra loss probability on top of each link's (a loss burst); 0 ends it. */
  setLossBurst(probability: number): void {
    this.extraLoss = numberIn('probability', probability, 0, 1);
  }

  /** True when a message `from → to` would be blocked by a partition right now. */
  isBlocked(from: NodeRef, to: NodeRef): boolean {
    const a = this.node(from);
    const b = this.node(to);
    return a.isolated || b.isolated || this.link(a, b).cut;
  }

  /**
   * Installs a Byzantine interceptor on `node`'s outgoing messages (replacing any previous one);
   * dispose the result to remove it.
   */
  intercept(node: NodeRef, fn: Interceptor): Disposable {
    const n = this.node(node);
    n.interceptor = fn;
    return disposable(() => {
      if (n.interceptor === fn) n.interceptor = undefined;
    });
  }

  /** @internal Sends `payload` from `from` to the node named `to`. */
  transmit(from: Node, to: string, payload: unknown): void {
    const interceptor = from.interceptor as Interceptor | undefined;
    if (interceptor !== undefined) {
      this.transmitIntercepted(from, to, payload, interceptor);
      return;
    }
    this.transmitAs(from, from.name, to, payload);
  }

  private transmitIntercepted(from: Node, to: string, payload: unknown, fn: Interceptor): void {
    const context: InterceptContext = {
      forge: (forgedTo, forgedPayload, asFrom) =>
        this.transmitAs(from, asFrom ?? from.name, forgedTo, forgedPayload),
      nowMs: this.scheduler.nowMs,
      random: this.random,
    };
    const verdict = fn({ from: from.name, to, payload }, context);
    if (verdict === 'drop') {
      if (this.trace.active) {
        this.trace.add(
          this.scheduler.nowMs,
          'drop',
          from.name,
          from.name,
          to,
          undefined,
          'intercepted',
        );
      }
      return;
    }
    if (verdict === undefined) this.transmitAs(from, from.name, to, payload);
    else
      this.transmitAs(
        from,
        from.name,
        verdict.to ?? to,
        'payload' in verdict ? verdict.payload : payload,
      );
  }

  private transmitAs(source: Node, fromName: string, to: string, payload: unknown): void {
    const now = this.scheduler.nowMs;
    const id = this.nextId++;
    const trace = this.trace;
    if (trace.active) trace.add(now, 'send', source.name, fromName, to, id);
    const target = this.lookup(to);
    if (target === undefined) {
      this.dropped(source.name, fromName, to, id, 'unknown-node');
      return;
    }
    const link = (this.rows[source.index] as Link[])[target.index] as Link;
    const reason = this.admit(source, target, link);
    if (reason !== undefined) {
      this.dropped(source.name, fromName, to, id, reason);
      return;
    }
    const message = new Message(id, fromName, to, payload, now, source, target, link);
    const deliverAt = this.deliveryTime(link, now);
    this.enqueue(message, deliverAt);
    const dup = link.options.duplicate;
    if (dup > 0 && this.random.next() < dup && link.inFlight < link.options.capacity) {
      if (trace.active) trace.add(now, 'duplicate', source.name, fromName, to, id);
      this.enqueue(message, deliverAt + this.sampleLatency(link.options.latency));
    }
  }

  /** Returns why a new message cannot enter `link`, or undefined when it can. */
  private admit(source: Node, target: Node, link: Link): DropReason | undefined {
    if (link.cut || source.isolated || target.isolated) return 'partition';
    if (link.dropProbability > 0 && this.random.next() < link.dropProbability) return 'drop';
    const loss = link.options.loss;
    if (loss > 0 && this.random.next() < loss) return 'loss';
    if (this.extraLoss > 0 && this.random.next() < this.extraLoss) return 'loss';
    if (link.inFlight >= link.options.capacity) return 'capacity';
    return undefined;
  }

  private deliveryTime(link: Link, now: number): number {
    const options = link.options;
    const at = now + this.sampleLatency(options.latency);
    if (options.reorder > 0 && this.random.next() < options.reorder) {
      // Held back: later messages on the link may overtake this one.
      return at + this.sampleLatency(options.latency) + this.sampleLatency(options.latency);
    }
    // FIFO: never deliver before the previous in-order message of the link.
    const fifo = at > link.lastDeliveryMs ? at : link.lastDeliveryMs;
    link.lastDeliveryMs = fifo;
    return fifo;
  }

  private sampleLatency(latency: LatencyModel): number {
    switch (latency.kind) {
      case 'fixed':
        return latency.ms;
      case 'uniform':
        return latency.minMs + (latency.maxMs - latency.minMs) * this.random.next();
      case 'exponential': {
        const max = latency.maxMs ?? latency.minMs + 20 * latency.meanMs;
        return Math.min(max, latency.minMs + this.random.exponential(latency.meanMs));
      }
    }
  }

  private enqueue(message: Message, at: number): void {
    message.link.inFlight++;
    this.inFlightTotal++;
    this.scheduler.post(at, this.deliverFn, message);
  }

  private deliver(message: Message): void {
    message.link.inFlight--;
    this.inFlightTotal--;
    const { source, target, link } = message;
    // A partition that started while the message was in flight drops it too.
    if (link.cut || source.isolated || target.isolated) {
      this.dropped(target.name, message.from, message.to, message.id, 'partition');
      return;
    }
    if (!target.receive(message)) {
      this.dropped(
        target.name,
        message.from,
        message.to,
        message.id,
        target.state === 'crashed' ? 'crashed' : 'inbox-full',
      );
    }
  }

  private dropped(node: string, from: string, to: string, id: number, reason: DropReason): void {
    if (this.trace.active) this.trace.add(this.scheduler.nowMs, 'drop', node, from, to, id, reason);
  }

  private node(ref: NodeRef): Node {
    const node = this.lookup(ref);
    if (node === undefined)
      throw rangeError(
        'node',
        'the name of a node of this simulation',
        typeof ref === 'string' ? ref : ref.name,
      );
    return node;
  }

  private link(from: NodeRef, to: NodeRef): Link {
    return (this.rows[this.node(from).index] as Link[])[this.node(to).index] as Link;
  }
}

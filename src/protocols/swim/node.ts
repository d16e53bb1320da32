/**
 * A SWIM member with the Lifeguard extensions, as a pure state machine: no timers, no I/O. The
 * driver calls {@link SwimNode.tick} every `tickMs` and {@link SwimNode.step} for each message,
 * then sends what {@link SwimNode.ready} returns. The same machine runs in the simulator and over
 * UDP (see `udp.ts`).
 *
 * @module
 */
import { assert } from '../../core/assert.js';
import type { Random } from '../../core/runtime.js';
import { nonEmptyString, positive, rangeError } from '../../core/validate.js';
import { BroadcastQueue } from './broadcasts.js';
import { suspicionMinMs, suspicionTimeoutMs, swimOptions } from './config.js';
import type { SwimOptions, SwimProfile } from './config.js';
import type { MemberRecord, SwimMessage, SwimUpdate } from './messages.js';

/** A member's state as one member sees it. */
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

/**
 * Deliberate bugs for the simulator's broken variants (never use outside tests):
 * `no-incarnation-check` applies updates whatever their incarnation; `probe-never-times-out` waits
 * for an ack forever; `no-refute` never answers a suspicion about itself.
 */
export type SwimFlaw = 'none' | 'no-incarnation-check' | 'probe-never-times-out' | 'no-refute';

/** What a member observed; the driver forwards these to the application and to checkers. */
export type MemberEvent =
  /** This member's view of `node` changed. */
  | {
      readonly kind: 'change';
      readonly node: string;
      readonly state: MemberState;
      readonly incarnation: number;
    }
  /** This member's suspicion timer about `node` ran out: it declares `node` dead. */
  | { readonly kind: 'declare'; readonly node: string; readonly incarnation: number }
  /** This member refuted a suspicion about itself with a new incarnation. */
  | { readonly kind: 'refute'; readonly incarnation: number }
  /** This member reclaimed (forgot) a dead or departed member. */
  | { readonly kind: 'forget'; readonly node: string };

/** An outgoing message. */
export interface Outgoing {
  readonly to: string;
  readonly message: SwimMessage;
}

/** What the driver must do after a tick or a step. */
export interface SwimReady {
  readonly messages: readonly Outgoing[];
  readonly events: readonly MemberEvent[];
}

/** Options of a {@link SwimNode}. */
export interface SwimNodeOptions {
  /** This member's name (its address on a real transport). */
  readonly name: string;
  /** Randomness (probe order, gossip targets): the simulator's seeded stream or the system one. */
  readonly random: Random;
  /** The profile the options start from (default `lan`). */
  readonly profile?: SwimProfile;
  /** Overrides of the profile's values. */
  readonly options?: Partial<SwimOptions>;
  /** Virtual ms per {@link SwimNode.tick} (default 50); timings round up to whole ticks. */
  readonly tickMs?: number;
  /** @internal A deliberate bug, for the simulator's broken variants. */
  readonly flaw?: SwimFlaw;
}

interface Suspicion {
  readonly startMs: number;
  timeoutMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly expected: number;
  readonly confirmations: Set<string>;
}

interface Member {
  incarnation: number;
  state: MemberState;
  changedMs: number;
  suspicion: Suspicion | undefined;
}

interface Probe {
  readonly target: string;
  readonly seq: number;
  readonly indirectAtMs: number;
  acked: boolean;
  indirectSent: boolean;
  nacksExpected: number;
  nacksGot: number;
}

interface Relay {
  readonly asker: string;
  readonly askerSeq: number;
  readonly wantNack: boolean;
  readonly nackAtMs: number;
  readonly expiresMs: number;
}

/** Upper bound on concurrent indirect probes relayed for others. */
const MAX_RELAYS = 1024;
/** Upper bound on members (the state exchange limit of the wire format). */
const MAX_MEMBERS = 4096;

/**
 * A SWIM member.
 *
 * @example
 * const node = new SwimNode({ name: 'a', random, profile: 'lan' });
 * node.join(['b']);
 * // every 50 ms: node.tick(); for each message m from f: node.step(f, m);
 * for (const { to, message } of node.ready().messages) transport.send(to, message);
 */
export class SwimNode {
  readonly name: string;
  readonly options: Readonly<SwimOptions>;
  readonly tickMs: number;
  private readonly random: Random;
  private readonly flaw: SwimFlaw;
  private readonly members = new Map<string, Member>();
  private readonly broadcasts: BroadcastQueue;
  private readonly relays = new Map<number, Relay>();
  private nowMs = 0;
  private seq = 0;
  private health = 0;
  private probe: Probe | undefined;
  private probeOrder: string[] = [];
  private nextProbeMs = 0;
  private nextGossipMs = 0;
  private nextPushPullMs = 0;
  /** The seeds of the last join, asked again while this member knows nobody else. */
  private joinSeeds: readonly string[] = [];
  private nextJoinMs = 0;
  private leaving = false;
  private outbox: Outgoing[] = [];
  private events: MemberEvent[] = [];

  constructor(options: SwimNodeOptions) {
    this.name = nonEmptyString('name', options.name);
    this.random = options.random;
    this.options = swimOptions(options.options, options.profile);
    this.tickMs = positive('tickMs', options.tickMs ?? 50);
    this.flaw = options.flaw ?? 'none';
    this.broadcasts = new BroadcastQueue(this.options.retransmitMult);
    this.members.set(this.name, member(0, 'alive', 0));
    this.nextProbeMs = this.random.int(Math.ceil(this.options.probeIntervalMs));
    this.nextGossipMs = this.random.int(Math.ceil(this.options.gossipIntervalMs));
    this.nextPushPullMs = this.options.pushPullIntervalMs;
  }

  /** This member's incarnation. */
  get incarnation(): number {
    return this.self().incarnation;
  }

  /** Lifeguard's local health score (0 healthy, up to `awarenessMaxMultiplier − 1`). */
  get healthScore(): number {
    return this.health;
  }

  /** Time on this member's tick counter, ms. */
  get timeMs(): number {
    return this.nowMs;
  }

  /** How this member sees `node` (undefined: unknown or reclaimed). */
  stateOf(node: string): { readonly state: MemberState; readonly incarnation: number } | undefined {
    const m = this.members.get(node);
    return m === undefined ? undefined : { state: m.state, incarnation: m.incarnation };
  }

  /** Every member this one knows, itself included, as records of a state exchange. */
  snapshot(): MemberRecord[] {
    return [...this.members].map(([node, m]) => ({
      node,
      incarnation: m.incarnation,
      state: m.state,
    }));
  }

  /** Members this one counts as alive or suspect (itself included). */
  get liveCount(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.state === 'alive' || m.state === 'suspect') n++;
    return n;
  }

  /** Starts a full state exchange with each of `seeds` (the join of a new or restarted member). */
  join(seeds: readonly string[]): void {
    this.joinSeeds = seeds.filter((seed) => seed !== this.name);
    this.nextJoinMs = this.nowMs + this.options.probeIntervalMs;
    for (const seed of this.joinSeeds) this.send(seed, this.pushPull(true, false));
  }

  /**
   * A join whose seeds were not up yet (or whose messages were lost) is sent again every probe
   * interval until this member knows another; without it, a member started before its seed would
   * stay alone until someone else's push-pull found it.
   */
  private rejoinStep(): void {
    if (this.joinSeeds.length === 0 || this.nowMs < this.nextJoinMs) return;
    if (this.members.size > 1) {
      this.joinSeeds = [];
      return;
    }
    this.nextJoinMs = this.nowMs + this.options.probeIntervalMs;
    for (const seed of this.joinSeeds) this.send(seed, this.pushPull(true, false));
  }

  /**
   * Leaves gracefully: announces `dead` about itself (which the others record as `left`) and stops
   * probing. Keep ticking for a few gossip intervals so that the announcement spreads.
   */
  leave(): void {
    if (this.leaving) return;
    this.leaving = true;
    const me = this.self();
    me.state = 'left';
    this.broadcasts.enqueue({
      kind: 'dead',
      node: this.name,
      incarnation: me.incarnation,
      from: this.name,
    });
    this.gossip();
  }

  /** Advances time by one tick and runs whatever is due. */
  tick(): void {
    this.nowMs += this.tickMs;
    if (!this.leaving) {
      this.probeStep();
      this.relayStep();
      this.suspicionStep();
      this.pushPullStep();
      this.rejoinStep();
    }
    if (this.nowMs >= this.nextGossipMs) {
      this.nextGossipMs = this.nowMs + this.options.gossipIntervalMs;
      this.gossip();
    }
    this.reclaimStep();
  }

  /** Handles one message from `from`. */
  step(from: string, message: SwimMessage): void {
    if (message.kind === 'push-pull') {
      this.merge(from, message.members);
      if (!message.reply && !this.leaving) this.send(from, this.pushPull(false, true));
      return;
    }
    for (const u of message.updates) this.apply(u);
    if (this.leaving) return;
    switch (message.kind) {
      case 'ping':
        if (message.target === this.name)
          this.send(from, this.withUpdates({ kind: 'ack', seq: message.seq }));
        return;
      case 'ping-req':
        return this.relay(from, message.seq, message.target, message.nack);
      case 'ack':
        return this.onAck(message.seq);
      case 'nack':
        if (this.probe?.seq === message.seq) this.probe.nacksGot++;
        return;
      case 'gossip':
        return;
    }
  }

  /** Takes the messages to send and the events observed since the last call. */
  ready(): SwimReady {
    const out = { messages: this.outbox, events: this.events };
    this.outbox = [];
    this.events = [];
    return out;
  }

  // --- probing ---------------------------------------------------------------------------------

  private scale(): number {
    return this.options.lifeguard ? 1 + this.health : 1;
  }

  private probeStep(): void {
    const p = this.probe;
    if (p !== undefined && !p.acked && !p.indirectSent && this.nowMs >= p.indirectAtMs)
      this.indirect(p);
    if (this.nowMs < this.nextProbeMs) return;
    if (p !== undefined && !p.acked && this.flaw === 'probe-never-times-out') return;
    if (p !== undefined) this.finishProbe(p);
    this.probe = undefined;
    this.nextProbeMs = this.nowMs + this.options.probeIntervalMs * this.scale();
    const target = this.nextTarget();
    if (target === undefined) return;
    const seq = ++this.seq;
    this.probe = {
      target,
      seq,
      indirectAtMs: this.nowMs + this.options.probeTimeoutMs * this.scale(),
      acked: false,
      indirectSent: false,
      nacksExpected: 0,
      nacksGot: 0,
    };
    const ping = this.withUpdates({ kind: 'ping', seq, target });
    const t = this.members.get(target);
    // Lifeguard's buddy system: tell a suspected target directly, so that it can refute at once.
    if (t?.state === 'suspect' && this.options.lifeguard && ping.kind === 'ping') {
      const suspect = {
        kind: 'suspect',
        node: target,
        incarnation: t.incarnation,
        from: this.name,
      } as const;
      this.send(target, {
        ...ping,
        updates: [suspect, ...ping.updates].slice(0, this.options.maxPiggyback),
      });
    } else this.send(target, ping);
  }

  private indirect(p: Probe): void {
    p.indirectSent = true;
    const helpers = this.randomMembers(
      this.options.indirectChecks,
      (n, m) => n !== p.target && m.state === 'alive',
    );
    const nack = this.options.lifeguard;
    for (const h of helpers)
      this.send(h, this.withUpdates({ kind: 'ping-req', seq: p.seq, target: p.target, nack }));
    if (nack) p.nacksExpected = helpers.length;
  }

  /** The end of a probe period: suspect an unanswered target, and update local health. */
  private finishProbe(p: Probe): void {
    if (p.acked) {
      this.adjustHealth(-1);
      return;
    }
    // Missing nacks mean the problem may be ours (Lifeguard): our own messages are slow.
    if (p.nacksExpected > 0 && p.nacksGot < p.nacksExpected) this.adjustHealth(1);
    const m = this.members.get(p.target);
    // A target already suspected still gets our own suspicion: an independent confirmation.
    if (m === undefined || (m.state !== 'alive' && m.state !== 'suspect')) return;
    this.apply({ kind: 'suspect', node: p.target, incarnation: m.incarnation, from: this.name });
  }

  private onAck(seq: number): void {
    if (this.probe?.seq === seq) {
      this.probe.acked = true;
      return;
    }
    const r = this.relays.get(seq);
    if (r === undefined) return;
    this.relays.delete(seq);
    this.send(r.asker, this.withUpdates({ kind: 'ack', seq: r.askerSeq }));
  }

  private relay(asker: string, askerSeq: number, target: string, wantNack: boolean): void {
    if (this.relays.size >= MAX_RELAYS || target === this.name) return;
    const seq = ++this.seq;
    this.relays.set(seq, {
      asker,
      askerSeq,
      wantNack,
      nackAtMs: this.nowMs + Math.floor(this.options.probeTimeoutMs * 0.8),
      expiresMs: this.nowMs + this.options.probeIntervalMs,
    });
    this.send(target, this.withUpdates({ kind: 'ping', seq, target }));
  }

  private relayStep(): void {
    for (const [seq, r] of this.relays) {
      if (r.wantNack && this.nowMs >= r.nackAtMs && this.nowMs - this.tickMs < r.nackAtMs)
        this.send(r.asker, this.withUpdates({ kind: 'nack', seq: r.askerSeq }));
      if (this.nowMs >= r.expiresMs) this.relays.delete(seq);
    }
  }

  private nextTarget(): string | undefined {
    for (let attempts = 0; attempts < 2; attempts++) {
      while (this.probeOrder.length > 0) {
        const name = this.probeOrder.pop() as string;
        const m = this.members.get(name);
        if (m !== undefined && (m.state === 'alive' || m.state === 'suspect')) return name;
      }
      const names = [...this.members.keys()].filter((n) => n !== this.name);
      this.probeOrder = this.random.shuffle(names);
    }
    return undefined;
  }

  private adjustHealth(delta: number): void {
    if (!this.options.lifeguard) return;
    this.health = Math.min(
      this.options.awarenessMaxMultiplier - 1,
      Math.max(0, this.health + delta),
    );
  }

  // --- suspicion, gossip, state exchange --------------------------------------------------------

  private suspicionStep(): void {
    for (const [node, m] of this.members) {
      const s = m.suspicion;
      if (m.state !== 'suspect' || s === undefined || this.nowMs < s.startMs + s.timeoutMs)
        continue;
      this.events.push({ kind: 'declare', node, incarnation: m.incarnation });
      this.apply({ kind: 'dead', node, incarnation: m.incarnation, from: this.name });
    }
  }

  private gossip(): void {
    if (this.broadcasts.size === 0) return;
    const targets = this.randomMembers(
      this.options.gossipNodes,
      (_n, m) => m.state === 'alive' || m.state === 'suspect',
    );
    for (const t of targets) {
      const updates = this.broadcasts.take(this.options.maxPiggyback, this.liveCount);
      if (updates.length > 0) this.outbox.push({ to: t, message: { kind: 'gossip', updates } });
    }
  }

  private pushPullStep(): void {
    if (this.options.pushPullIntervalMs === 0 || this.nowMs < this.nextPushPullMs) return;
    this.nextPushPullMs = this.nowMs + this.options.pushPullIntervalMs;
    const [peer] = this.randomMembers(1, (_n, m) => m.state === 'alive');
    if (peer !== undefined) this.send(peer, this.pushPull(false, false));
  }

  private pushPull(join: boolean, reply: boolean): SwimMessage {
    return { kind: 'push-pull', join, reply, members: this.snapshot() };
  }

  /** Merges a peer's full state: dead and suspect records become suspicions we can refute. */
  private merge(from: string, records: readonly MemberRecord[]): void {
    for (const r of records) {
      if (r.state === 'alive')
        this.apply({ kind: 'alive', node: r.node, incarnation: r.incarnation, from });
      else if (r.state === 'left')
        this.apply({ kind: 'dead', node: r.node, incarnation: r.incarnation, from: r.node });
      else this.apply({ kind: 'suspect', node: r.node, incarnation: r.incarnation, from });
    }
  }

  private reclaimStep(): void {
    for (const [node, m] of this.members)
      if (node !== this.name && (m.state === 'dead' || m.state === 'left'))
        if (this.nowMs - m.changedMs >= this.options.deadReclaimMs) {
          this.members.delete(node);
          this.events.push({ kind: 'forget', node });
        }
  }

  // --- applying updates -------------------------------------------------------------------------

  private apply(u: SwimUpdate): void {
    switch (u.kind) {
      case 'alive':
        return this.applyAlive(u);
      case 'suspect':
        return this.applySuspect(u);
      case 'dead':
        return this.applyDead(u);
    }
  }

  private applyAlive(u: SwimUpdate): void {
    if (u.node === this.name) {
      const me = this.self();
      // Someone believes an incarnation of ours we never had (a restart forgot it): move past it.
      if (u.incarnation > me.incarnation && !this.leaving) this.refute(u.incarnation);
      return;
    }
    const m = this.members.get(u.node);
    if (m === undefined) {
      if (this.members.size >= MAX_MEMBERS) return;
      this.members.set(u.node, member(u.incarnation, 'alive', this.nowMs));
      this.changed(u.node, 'alive', u.incarnation);
      this.broadcasts.enqueue(u);
      return;
    }
    const newer =
      this.flaw === 'no-incarnation-check'
        ? u.incarnation !== m.incarnation || m.state !== 'alive'
        : u.incarnation > m.incarnation;
    if (!newer) return;
    this.set(u.node, m, 'alive', u.incarnation);
    this.broadcasts.enqueue(u);
  }

  private applySuspect(u: SwimUpdate): void {
    const m = this.members.get(u.node);
    if (m === undefined) return;
    const check = this.flaw !== 'no-incarnation-check';
    if (check && u.incarnation < m.incarnation) return this.staleAccusation(u);
    if (m.state === 'dead' || m.state === 'left') return;
    if (u.node === this.name) {
      if (this.flaw !== 'no-refute' && !this.leaving) this.refute(u.incarnation);
      return;
    }
    if (m.state === 'suspect' && m.suspicion !== undefined && u.incarnation === m.incarnation) {
      this.confirm(m.suspicion, u);
      return;
    }
    this.set(u.node, m, 'suspect', u.incarnation);
    m.suspicion = this.startSuspicion(u.from);
    this.broadcasts.enqueue(u);
  }

  private applyDead(u: SwimUpdate): void {
    const m = this.members.get(u.node);
    if (m === undefined) return;
    if (this.flaw !== 'no-incarnation-check' && u.incarnation < m.incarnation)
      return this.staleAccusation(u);
    if (m.state === 'dead' || m.state === 'left') return;
    if (u.node === this.name) {
      if (u.from !== this.name && this.flaw !== 'no-refute' && !this.leaving)
        this.refute(u.incarnation);
      return;
    }
    this.set(u.node, m, u.from === u.node ? 'left' : 'dead', u.incarnation);
    this.broadcasts.enqueue(u);
  }

  /**
   * An accusation of ours at an incarnation we already refuted: whoever still repeats it missed the
   * refutation (its retransmissions ran out), so announce the current incarnation again.
   */
  private staleAccusation(u: SwimUpdate): void {
    if (u.node !== this.name || this.leaving || this.flaw === 'no-refute') return;
    const me = this.self();
    this.broadcasts.enqueue({
      kind: 'alive',
      node: this.name,
      incarnation: me.incarnation,
      from: this.name,
    });
  }

  private refute(incarnation: number): void {
    const me = this.self();
    me.incarnation = Math.max(me.incarnation, incarnation) + 1;
    this.adjustHealth(1);
    this.events.push({ kind: 'refute', incarnation: me.incarnation });
    this.broadcasts.enqueue({
      kind: 'alive',
      node: this.name,
      incarnation: me.incarnation,
      from: this.name,
    });
  }

  private startSuspicion(from: string): Suspicion {
    const n = this.liveCount;
    const o = this.options;
    const minMs = suspicionMinMs(o.suspicionMult, n, o.probeIntervalMs);
    const maxMs = o.lifeguard ? minMs * o.suspicionMaxTimeoutMult : minMs;
    let expected = o.lifeguard ? o.suspicionMult - 2 : 0;
    if (n - 2 < expected) expected = 0;
    const confirmations = new Set<string>([from]);
    const timeoutMs = suspicionTimeoutMs(minMs, maxMs, 0, expected);
    return { startMs: this.nowMs, timeoutMs, minMs, maxMs, expected, confirmations };
  }

  /** An independent suspicion of the same incarnation shortens the timeout (Lifeguard). */
  private confirm(s: Suspicion, u: SwimUpdate): void {
    if (s.confirmations.has(u.from) || s.expected === 0) return;
    if (s.confirmations.size > s.expected) return;
    s.confirmations.add(u.from);
    s.timeoutMs = suspicionTimeoutMs(s.minMs, s.maxMs, s.confirmations.size - 1, s.expected);
    this.broadcasts.enqueue(u);
  }

  // --- helpers ----------------------------------------------------------------------------------

  private self(): Member {
    const me = this.members.get(this.name);
    assert(me !== undefined, 'a member always knows itself');
    return me;
  }

  private set(node: string, m: Member, state: MemberState, incarnation: number): void {
    m.state = state;
    m.incarnation = incarnation;
    m.changedMs = this.nowMs;
    if (state !== 'suspect') m.suspicion = undefined;
    this.changed(node, state, incarnation);
  }

  private changed(node: string, state: MemberState, incarnation: number): void {
    this.events.push({ kind: 'change', node, state, incarnation });
  }

  private send(to: string, message: SwimMessage): void {
    this.outbox.push({ to, message });
  }

  private withUpdates<M extends { kind: 'ping' | 'ping-req' | 'ack' | 'nack' }>(m: M): SwimMessage {
    const updates = this.broadcasts.take(this.options.maxPiggyback, this.liveCount);
    return { ...m, updates } as unknown as SwimMessage;
  }

  private randomMembers(k: number, accept: (name: string, m: Member) => boolean): string[] {
    if (k <= 0) return [];
    const names: string[] = [];
    for (const [n, m] of this.members) if (n !== this.name && accept(n, m)) names.push(n);
    return this.random.shuffle(names).slice(0, k);
  }
}

function member(incarnation: number, state: MemberState, changedMs: number): Member {
  if (!Number.isSafeInteger(incarnation) || incarnation < 0)
    throw rangeError('incarnation', 'a safe integer >= 0', incarnation);
  return { incarnation, state, changedMs, suspicion: undefined };
}

/**
 * Epidemic dissemination as a pure state machine: push, pull and push-pull anti-entropy rounds,
 * and flooding, over a replicated map of versioned entries (the shape of Cassandra's gossiped
 * endpoint state). No timers, no I/O: the driver calls {@link GossipNode.tick} once per round and
 * {@link GossipNode.step} per message, and sends what {@link GossipNode.ready} returns.
 *
 * @module
 */
import type { Random } from '../../core/runtime.js';
import { integerIn, nonEmptyString, rangeError } from '../../core/validate.js';

/**
 * How rumours travel: `push` sends what a node knows to `fanout` random peers each round; `pull`
 * asks `fanout` random peers for what it lacks; `push-pull` does both in one exchange; `flood`
 * forwards each new entry once to every peer as soon as it arrives (no rounds, no repair).
 */
export type GossipMode = 'push' | 'pull' | 'push-pull' | 'flood';

/** Every mode. */
export const gossipModes: readonly GossipMode[] = ['push', 'pull', 'push-pull', 'flood'];

/**
 * Deliberate bugs for the simulator's broken variants: `keep-arrival` replaces an entry with
 * whatever arrives last instead of the newer version; `no-relay` only ever sends the entries the
 * node created itself.
 */
export type GossipFlaw = 'none' | 'keep-arrival' | 'no-relay';

/** One versioned entry. Versions order updates of a key; ties break by origin name. */
export interface GossipEntry {
  readonly key: string;
  readonly version: number;
  readonly origin: string;
  readonly value: string;
}

/** Gossip messages. */
export type GossipMessage =
  /** Entries pushed (push, flood) or returned (a pull's answer). */
  | { readonly kind: 'entries'; readonly entries: readonly GossipEntry[] }
  /** A pull request with the sender's digest (key → version); `entries` is the push half of push-pull. */
  | {
      readonly kind: 'digest';
      readonly digest: readonly (readonly [string, number, string])[];
      readonly entries: readonly GossipEntry[];
    };

/** Options of a {@link GossipNode}. */
export interface GossipNodeOptions {
  readonly name: string;
  /** Every other member (gossip targets are drawn from it). */
  readonly peers: readonly string[];
  readonly mode: GossipMode;
  /** Peers contacted per round (default 1; ignored by flood). Higher is faster and costlier. */
  readonly fanout?: number;
  readonly random: Random;
  /** @internal A deliberate bug, for the simulator's broken variants. */
  readonly flaw?: GossipFlaw;
}

/** Upper bound on keys one node holds. */
const MAX_KEYS = 10_000;

/** True when `a` is a newer version than `b`. */
export function newer(a: GossipEntry, b: GossipEntry | undefined): boolean {
  if (b === undefined) return true;
  return a.version > b.version || (a.version === b.version && a.origin > b.origin);
}

/**
 * A gossiping member.
 *
 * @example
 * const node = new GossipNode({ name: 'a', peers: ['b', 'c'], mode: 'push-pull', random });
 * node.update('config', 'v2');
 * // once per round: node.tick(); per message: node.step(from, message)
 * for (const { to, message } of node.ready()) transport.send(to, message);
 */
export class GossipNode {
  readonly name: string;
  readonly mode: GossipMode;
  private readonly peers: readonly string[];
  private readonly fanout: number;
  private readonly random: Random;
  private readonly flaw: GossipFlaw;
  private readonly entries = new Map<string, GossipEntry>();
  private outbox: { to: string; message: GossipMessage }[] = [];

  constructor(options: GossipNodeOptions) {
    this.name = nonEmptyString('name', options.name);
    if (!gossipModes.includes(options.mode))
      throw rangeError('mode', `one of ${gossipModes.join(', ')}`, options.mode);
    this.mode = options.mode;
    this.peers = options.peers.filter((p) => p !== this.name);
    this.fanout = integerIn('fanout', options.fanout ?? 1, 1, 1024);
    this.random = options.random;
    this.flaw = options.flaw ?? 'none';
  }

  /** The entry this node holds for `key`. */
  get(key: string): GossipEntry | undefined {
    return this.entries.get(key);
  }

  /** Creates a new version of `key` here; it spreads from this node. */
  update(key: string, value: string): GossipEntry {
    const current = this.entries.get(key);
    const entry = { key, version: (current?.version ?? 0) + 1, origin: this.name, value };
    this.accept(entry);
    return entry;
  }

  /** One gossip round. */
  tick(): void {
    if (this.mode === 'flood' || this.peers.length === 0) return;
    const targets = this.random.shuffle([...this.peers]).slice(0, this.fanout);
    const entries = this.sendable();
    for (const to of targets) {
      if (this.mode === 'push') {
        if (entries.length > 0) this.outbox.push({ to, message: { kind: 'entries', entries } });
        continue;
      }
      const push = this.mode === 'push-pull' ? entries : [];
      this.outbox.push({ to, message: { kind: 'digest', digest: this.digest(), entries: push } });
    }
  }

  /** Handles one message from `from`. */
  step(from: string, message: GossipMessage): void {
    for (const e of message.entries) this.accept(e);
    if (message.kind !== 'digest') return;
    const theirs = new Map(message.digest.map(([k, v, o]) => [k, { version: v, origin: o }]));
    const answer = this.sendable().filter((e) => {
      const t = theirs.get(e.key);
      return t === undefined || newer(e, { ...e, version: t.version, origin: t.origin });
    });
    if (answer.length > 0)
      this.outbox.push({ to: from, message: { kind: 'entries', entries: answer } });
  }

  /** Takes the messages to send. */
  ready(): { to: string; message: GossipMessage }[] {
    const out = this.outbox;
    this.outbox = [];
    return out;
  }

  private accept(entry: GossipEntry): void {
    const current = this.entries.get(entry.key);
    const take =
      this.flaw === 'keep-arrival'
        ? current?.version !== entry.version || current.origin !== entry.origin
        : newer(entry, current);
    if (!take) return;
    if (current === undefined && this.entries.size >= MAX_KEYS) return;
    this.entries.set(entry.key, entry);
    if (this.mode !== 'flood' || (this.flaw === 'no-relay' && entry.origin !== this.name)) return;
    for (const to of this.peers)
      this.outbox.push({ to, message: { kind: 'entries', entries: [entry] } });
  }

  private sendable(): GossipEntry[] {
    const all = [...this.entries.values()];
    return this.flaw === 'no-relay' ? all.filter((e) => e.origin === this.name) : all;
  }

  private digest(): [string, number, string][] {
    return [...this.entries.values()].map((e) => [e.key, e.version, e.origin]);
  }
}

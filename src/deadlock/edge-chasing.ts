/**
 * Chandy–Misra–Haas edge chasing across sites, as a pure state machine per site. Each site owns
 * some resources (exclusive locks, FIFO queues) and is the home of some transactions. A blocked
 * transaction's home periodically sends a probe along its wait-for edge; each site that receives a
 * probe forwards it along the next edge while the transaction there is still blocked; a probe that
 * comes back to its initiator proves a cycle that exists now, because a blocked transaction
 * releases nothing.
 *
 * Probes only travel toward transactions of lower priority than their initiator, so each cycle is
 * found by exactly one transaction — its highest-priority member — which aborts itself (the
 * "youngest dies" rule when priority is the start order). No site ever sees the global graph.
 *
 * @module
 */
import { integerIn, nonEmptyString, nonNegative } from '../core/validate.js';

/** Messages between sites. */
export type SiteMessage =
  | {
      readonly kind: 'lock';
      readonly txn: string;
      readonly home: string;
      readonly resource: string;
    }
  | { readonly kind: 'granted'; readonly txn: string; readonly resource: string }
  | { readonly kind: 'release'; readonly txn: string; readonly resource: string }
  /** Withdraws a queued request (its transaction was aborted). */
  | { readonly kind: 'cancel'; readonly txn: string; readonly resource: string }
  /** To the site of `resource`: forward along `waiter`'s edge if it still waits there. */
  | {
      readonly kind: 'probe';
      readonly initiator: string;
      /** The initiator's request this probe is about: a report about an older one is stale. */
      readonly round: number;
      /** The edges verified so far, with the grant each was verified at. */
      readonly edges: readonly ProbeBack[];
      readonly path: readonly string[];
      readonly waiter: string;
      readonly resource: string;
    }
  /**
   * To the home of `txn`, which holds what `back.waiter` waits for: if `txn` is blocked, answer
   * the resource site with where it waits.
   */
  | {
      readonly kind: 'probe-home';
      readonly initiator: string;
      readonly round: number;
      readonly edges: readonly ProbeBack[];
      readonly path: readonly string[];
      readonly txn: string;
      readonly back: ProbeBack;
    }
  /**
   * Back at the site of the edge `back.waiter → txn`: forward to `txn`'s wait only if the edge is
   * unchanged (same grant of the resource), so `txn` was blocked while it held the resource.
   */
  | {
      readonly kind: 'probe-check';
      readonly initiator: string;
      readonly round: number;
      readonly edges: readonly ProbeBack[];
      readonly path: readonly string[];
      readonly txn: string;
      readonly waitsFor: string;
      readonly back: ProbeBack;
    }
  /**
   * The probe came back: re-check every edge of the cycle in turn. An edge whose grant changed
   * since the probe passed was broken meanwhile (an abort elsewhere released it); otherwise every
   * edge held from its first check to its second, so all held at the moment the probe came back.
   */
  | {
      readonly kind: 'confirm';
      readonly initiator: string;
      readonly initiatorHome: string;
      readonly round: number;
      readonly cycle: readonly string[];
      readonly edges: readonly ProbeBack[];
      readonly index: number;
    }
  /** To the initiator's home: the probe came back, `cycle` is a deadlock. */
  | {
      readonly kind: 'deadlock';
      readonly txn: string;
      readonly round: number;
      readonly cycle: readonly string[];
    };

/** Where a probe came from: the edge `waiter → holder of resource` as of grant `grant`. */
export interface ProbeBack {
  readonly site: string;
  readonly resource: string;
  readonly waiter: string;
  readonly grant: number;
}

/** What a site reports to the transactions it is home to. */
export type SiteEvent =
  | { readonly kind: 'granted'; readonly txn: string; readonly resource: string }
  | { readonly kind: 'deadlock'; readonly txn: string; readonly cycle: readonly string[] };

/** Options of a {@link DeadlockSite}. */
export interface DeadlockSiteOptions {
  readonly name: string;
  /** The site that owns each resource. */
  readonly siteOf: (resource: string) => string;
  /** Higher wins: the highest-priority transaction of a cycle is its victim. */
  readonly priority: (txn: string) => number;
  /** A blocked transaction first sends a probe after this long, ms (default 50). */
  readonly probeDelayMs?: number;
  /** ...and again every this long while it stays blocked, ms (default 200). */
  readonly probeIntervalMs?: number;
  /** @internal Deliberate bug: drop probes that would cross to another site. */
  readonly flaw?: 'none' | 'drop-remote-probes';
}

interface LockEntry {
  holder: { txn: string; home: string };
  /** Incremented at each change of holder: an unchanged value means an unbroken hold. */
  grant: number;
  readonly queue: { txn: string; home: string }[];
}

interface Blocked {
  readonly resource: string;
  /** Which request of its transaction this is (probes and reports name it). */
  readonly round: number;
  readonly sinceMs: number;
  nextProbeMs: number;
}

/** Upper bound on a probe's path (a longer one is dropped: no cycle is that long here). */
const MAX_PATH = 256;

/** One site of the distributed lock manager. */
export class DeadlockSite {
  readonly name: string;
  /** Probe messages this site sent (the algorithm's cost). */
  probesSent = 0;
  private readonly o: DeadlockSiteOptions;
  private readonly probeDelayMs: number;
  private readonly probeIntervalMs: number;
  private readonly locks = new Map<string, LockEntry>();
  private readonly blocked = new Map<string, Blocked>();
  private outbox: { to: string; message: SiteMessage }[] = [];
  private events: SiteEvent[] = [];
  private nowMs = 0;
  private grants = 0;
  private rounds = 0;

  constructor(options: DeadlockSiteOptions) {
    this.name = nonEmptyString('name', options.name);
    this.o = options;
    this.probeDelayMs = nonNegative('probeDelayMs', options.probeDelayMs ?? 50);
    this.probeIntervalMs = integerIn(
      'probeIntervalMs',
      options.probeIntervalMs ?? 200,
      1,
      3_600_000,
    );
  }

  /** A home transaction asks for `resource`. */
  request(txn: string, resource: string): void {
    this.blocked.set(txn, {
      resource,
      round: ++this.rounds,
      sinceMs: this.nowMs,
      nextProbeMs: this.nowMs + this.probeDelayMs,
    });
    this.send(this.o.siteOf(resource), { kind: 'lock', txn, home: this.name, resource });
  }

  /** A home transaction releases `resource`. */
  release(txn: string, resource: string): void {
    this.send(this.o.siteOf(resource), { kind: 'release', txn, resource });
  }

  /** A home transaction gives up its pending request (it was chosen as a victim). */
  withdraw(txn: string): void {
    const b = this.blocked.get(txn);
    if (b === undefined) return;
    this.blocked.delete(txn);
    this.send(this.o.siteOf(b.resource), { kind: 'cancel', txn, resource: b.resource });
  }

  /** This site's wait-for edges right now, `[waiter, holder]` (for snapshots and checkers). */
  localEdges(): [string, string][] {
    const out: [string, string][] = [];
    for (const l of this.locks.values()) for (const w of l.queue) out.push([w.txn, l.holder.txn]);
    return out;
  }

  /** Advances the site's clock; sends the probes that are due. */
  tick(nowMs: number): void {
    this.nowMs = nowMs;
    for (const [txn, b] of this.blocked) {
      if (nowMs < b.nextProbeMs) continue;
      b.nextProbeMs = nowMs + this.probeIntervalMs;
      this.probe(this.o.siteOf(b.resource), {
        kind: 'probe',
        initiator: txn,
        round: b.round,
        edges: [],
        path: [txn],
        waiter: txn,
        resource: b.resource,
      });
    }
  }

  /** Handles one message. */
  step(message: SiteMessage): void {
    switch (message.kind) {
      case 'lock':
        return this.onLock(message.txn, message.home, message.resource);
      case 'release':
        return this.onRelease(message.txn, message.resource);
      case 'cancel': {
        const l = this.locks.get(message.resource);
        if (l === undefined) return;
        const i = l.queue.findIndex((w) => w.txn === message.txn);
        if (i >= 0) l.queue.splice(i, 1);
        return;
      }
      case 'granted':
        if (this.blocked.get(message.txn)?.resource === message.resource)
          this.blocked.delete(message.txn);
        this.events.push(message);
        return;
      case 'probe':
        return this.onProbe(message);
      case 'probe-home': {
        const b = this.blocked.get(message.txn);
        if (b === undefined) return;
        const { initiator, round, edges, path, txn, back } = message;
        this.probe(back.site, {
          kind: 'probe-check',
          initiator,
          round,
          edges,
          path,
          txn,
          waitsFor: b.resource,
          back,
        });
        return;
      }
      case 'probe-check': {
        const { initiator, round, edges, path, txn, waitsFor, back } = message;
        const l = this.locks.get(back.resource);
        if (l === undefined || l.grant !== back.grant || l.holder.txn !== txn) return;
        if (!l.queue.some((w) => w.txn === back.waiter)) return;
        this.probe(this.o.siteOf(waitsFor), {
          kind: 'probe',
          initiator,
          round,
          edges: [...edges, back],
          path,
          waiter: txn,
          resource: waitsFor,
        });
        return;
      }
      case 'confirm':
        return this.onConfirm(message);
      case 'deadlock':
        // Only about the request still pending: an older one was granted or withdrawn since.
        if (this.blocked.get(message.txn)?.round === message.round)
          this.events.push({ kind: 'deadlock', txn: message.txn, cycle: message.cycle });
        return;
    }
  }

  /** Takes the messages to send and the events for home transactions. */
  ready(): { messages: { to: string; message: SiteMessage }[]; events: SiteEvent[] } {
    const out = { messages: this.outbox, events: this.events };
    this.outbox = [];
    this.events = [];
    return out;
  }

  private onLock(txn: string, home: string, resource: string): void {
    const l = this.locks.get(resource);
    if (l === undefined) {
      this.locks.set(resource, { holder: { txn, home }, grant: ++this.grants, queue: [] });
      this.send(home, { kind: 'granted', txn, resource });
    } else if (l.holder.txn === txn) this.send(home, { kind: 'granted', txn, resource });
    else if (!l.queue.some((w) => w.txn === txn)) l.queue.push({ txn, home });
  }

  private onRelease(txn: string, resource: string): void {
    const l = this.locks.get(resource);
    if (l === undefined || l.holder.txn !== txn) return;
    const next = l.queue.shift();
    if (next === undefined) {
      this.locks.delete(resource);
      return;
    }
    l.holder = next;
    l.grant = ++this.grants;
    this.send(next.home, { kind: 'granted', txn: next.txn, resource });
  }

  /** At the resource's site: follow `waiter → holder` if `waiter` still waits here. */
  private onProbe(message: Extract<SiteMessage, { kind: 'probe' }>): void {
    const { initiator, round, edges, path, waiter, resource } = message;
    const l = this.locks.get(resource);
    if (l === undefined || !l.queue.some((w) => w.txn === waiter)) return;
    const holder = l.holder;
    if (holder.txn === initiator) {
      const all = [...edges, { site: this.name, resource, waiter, grant: l.grant }];
      const first = all[0] as ProbeBack;
      this.probe(first.site, {
        kind: 'confirm',
        initiator,
        initiatorHome: holder.home,
        round,
        cycle: path,
        edges: all,
        index: 0,
      });
      return;
    }
    // Only the cycle's highest-priority member finds it; a lower initiator's probe stops here.
    if (this.o.priority(holder.txn) > this.o.priority(initiator)) return;
    if (path.includes(holder.txn) || path.length >= MAX_PATH) return;
    const back = { site: this.name, resource, waiter, grant: l.grant };
    this.probe(holder.home, {
      kind: 'probe-home',
      initiator,
      round,
      edges,
      path: [...path, holder.txn],
      txn: holder.txn,
      back,
    });
  }

  private onConfirm(message: Extract<SiteMessage, { kind: 'confirm' }>): void {
    const edge = message.edges[message.index];
    if (edge === undefined) return;
    const l = this.locks.get(edge.resource);
    if (l === undefined || l.grant !== edge.grant) return;
    if (!l.queue.some((w) => w.txn === edge.waiter)) return;
    const next = message.edges[message.index + 1];
    if (next !== undefined) {
      this.probe(next.site, { ...message, index: message.index + 1 });
      return;
    }
    const { initiator, round, cycle } = message;
    this.send(message.initiatorHome, { kind: 'deadlock', txn: initiator, round, cycle });
  }

  private probe(to: string, message: SiteMessage): void {
    if (to !== this.name && this.o.flaw === 'drop-remote-probes') return;
    // Even a probe to this site goes through the (FIFO) link, never around it: it must not
    // overtake a release sent before it, or it would see a lock that is already given up.
    if (to !== this.name) this.probesSent++;
    this.send(to, message);
  }

  private send(to: string, message: SiteMessage): void {
    this.outbox.push({ to, message });
  }
}

/**
 * PBFT (Castro & Liskov, OSDI 1999) as a pure state machine: the normal case (pre-prepare,
 * prepare, commit with 2f + 1 quorums among 3f + 1 replicas) and the view change that replaces a
 * faulty primary, with message authentication modelled by MACs from a {@link Keyring}: a message
 * whose MAC does not verify for its claimed sender is dropped. Checkpoints and garbage collection
 * are left out (logs are short in the simulator); a request is executed by a client once f + 1
 * replicas report it committed.
 *
 * @module
 */
import { hashString32 } from '../../core/random.js';
import { integerIn, rangeError } from '../../core/validate.js';
import { Outbox } from '../machine.js';
import type { Ready, StateMachine } from '../machine.js';

/** Ticks between re-sends of a view-change that has not led to a new view yet. */
const RESEND_TICKS = 20;

/** The request a new primary puts in a sequence number nobody prepared. */
export const PBFT_NOOP = '(null request)';

/** The bodies of PBFT messages. */
export type PbftBody =
  | { readonly kind: 'request'; readonly request: string }
  | {
      readonly kind: 'pre-prepare';
      readonly view: number;
      readonly seq: number;
      readonly request: string;
    }
  | {
      readonly kind: 'prepare';
      readonly view: number;
      readonly seq: number;
      readonly request: string;
    }
  | {
      readonly kind: 'commit';
      readonly view: number;
      readonly seq: number;
      readonly request: string;
    }
  | {
      readonly kind: 'view-change';
      readonly view: number;
      readonly prepared: readonly PreparedProof[];
    }
  | { readonly kind: 'new-view'; readonly view: number; readonly proofs: readonly Signed[] };

/** A body with its sender and MAC. */
export interface Signed {
  readonly by: string;
  readonly body: PbftBody;
  readonly mac: string;
}

/** A prepared certificate: the pre-prepare and 2f matching prepares, as signed. */
export interface PreparedProof {
  readonly view: number;
  readonly seq: number;
  readonly request: string;
  readonly messages: readonly Signed[];
}

/**
 * MACs: each replica signs with its own key and can check everybody's (the pairwise session keys
 * of PBFT, collapsed into one table). A Byzantine replica holds only its own key.
 */
export class Keyring {
  private readonly keys: ReadonlyMap<string, string>;

  constructor(keys: ReadonlyMap<string, string>) {
    this.keys = keys;
  }

  /** Signs `body` as `by` (who must hold a key here). */
  sign(by: string, body: PbftBody): Signed {
    const key = this.keys.get(by);
    if (key === undefined) throw rangeError('by', 'a replica with a key', by);
    return { by, body, mac: macOf(key, body) };
  }

  /** True when `signed` carries a valid MAC of its claimed sender. */
  verify(signed: Signed): boolean {
    const key = this.keys.get(signed.by);
    return key !== undefined && signed.mac === macOf(key, signed.body);
  }
}

function macOf(key: string, body: PbftBody): string {
  const text = `${key}|${JSON.stringify(body)}`;
  return `${hashString32(text).toString(16)}${hashString32(`${text}|2`).toString(16)}`;
}

/** Options of a {@link PbftReplica}. */
export interface PbftOptions {
  id: string;
  /** Every replica, in the same order everywhere: the primary of view v is replicas[v mod n]. */
  replicas: readonly string[];
  keyring: Keyring;
  /** Ticks a known request may wait for its commit before this replica asks for a new view (default 60; doubles per failed view). */
  viewTimeoutTicks?: number;
  /** @internal Broken variant: quorums of f + 1 instead of 2f + 1. */
  smallQuorums?: boolean;
  /** @internal Broken variant: never change views. */
  noViewChange?: boolean;
}

interface Slot {
  preprepare?: Signed;
  readonly prepares: Map<string, Signed>;
  readonly commits: Map<string, Signed>;
  committed: boolean;
}

/**
 * One PBFT replica.
 *
 * @example
 * const r = new PbftReplica({ id: 'r1', replicas, keyring });
 * r.step('client', keyring.sign('client', { kind: 'request', request: 'op1' }));
 */
export class PbftReplica implements StateMachine<Signed, never> {
  private readonly id: string;
  private readonly replicas: readonly string[];
  private readonly keyring: Keyring;
  private readonly f: number;
  private readonly quorum: number;
  private readonly baseTimeout: number;
  private readonly noViewChange: boolean;
  private readonly out = new Outbox<Signed, never>();
  private view = 0;
  private changing = false;
  private nextSeq = 1;
  private ticks = 0;
  private timerStart = 0;
  private timeoutTicks: number;
  /** Slots by `${view}/${seq}`. */
  private readonly slots = new Map<string, Slot>();
  private readonly viewChanges = new Map<number, Map<string, Signed>>();
  /** Requests known and not yet committed here. */
  private readonly waiting = new Set<string>();
  private readonly assigned = new Set<string>();
  /** The requests the current view's new-view fixed, by sequence number. */
  private expected = new Map<number, string>();
  /** The last view-change and new-view this replica sent: re-sent while they may be lost. */
  private lastViewChange: Signed | undefined;
  private lastNewView: Signed | undefined;
  /** Committed requests by sequence number (the checker reads this). */
  readonly committedLog = new Map<number, string>();

  constructor(options: PbftOptions) {
    const { id, replicas } = options;
    integerIn('replicas.length', replicas.length, 4, 100);
    if (!replicas.includes(id)) throw rangeError('id', `one of ${replicas.join(', ')}`, id);
    this.id = id;
    this.replicas = [...replicas];
    this.keyring = options.keyring;
    this.f = Math.floor((replicas.length - 1) / 3);
    this.quorum = options.smallQuorums === true ? this.f + 1 : 2 * this.f + 1;
    this.baseTimeout = integerIn('viewTimeoutTicks', options.viewTimeoutTicks ?? 60, 1, 1e6);
    this.timeoutTicks = this.baseTimeout;
    this.noViewChange = options.noViewChange ?? false;
  }

  /** The current view. */
  get currentView(): number {
    return this.view;
  }

  private primaryOf(view: number): string {
    return this.replicas[view % this.replicas.length] as string;
  }

  tick(): void {
    this.ticks++;
    if (this.changing && this.lastViewChange !== undefined && this.ticks % RESEND_TICKS === 0)
      this.out.broadcast(this.others(), this.lastViewChange);
    if (this.noViewChange || this.waiting.size === 0) return;
    // PBFT's rule against running ahead: while changing views, the timer runs only once 2f + 1
    // replicas asked for this view (otherwise replicas with different timeouts never meet).
    if (this.changing && (this.viewChanges.get(this.view)?.size ?? 0) < this.quorum) {
      this.timerStart = this.ticks;
      return;
    }
    if (this.ticks - this.timerStart >= this.timeoutTicks) this.startViewChange(this.view + 1);
  }

  step(from: string, message: Signed): void {
    // Authentication: the link names the sender, and the MAC must be that sender's.
    if (message.by !== from || !this.keyring.verify(message)) return;
    const body = message.body;
    switch (body.kind) {
      case 'request':
        return this.onRequest(body.request);
      case 'pre-prepare':
        return this.onPrePrepare(message, body);
      case 'prepare':
      case 'commit':
        return this.onVote(message, body);
      case 'view-change':
        return this.onViewChange(message, body.view);
      case 'new-view':
        return this.onNewView(from, body.view, body.proofs);
    }
  }

  ready(): Ready<Signed, never> {
    return this.out.ready();
  }

  advance(): void {
    this.out.advance();
  }

  private others(): string[] {
    return this.replicas.filter((r) => r !== this.id);
  }

  private broadcast(body: PbftBody): Signed {
    const signed = this.keyring.sign(this.id, body);
    this.out.broadcast(
      this.replicas.filter((r) => r !== this.id),
      signed,
    );
    // Deliver to ourselves at once: our own prepare and commit count towards our quorums.
    this.step(this.id, signed);
    return signed;
  }

  private slot(view: number, seq: number): Slot {
    const key = `${view}/${seq}`;
    let s = this.slots.get(key);
    if (s === undefined)
      this.slots.set(key, (s = { prepares: new Map(), commits: new Map(), committed: false }));
    return s;
  }

  private onRequest(request: string): void {
    if ([...this.committedLog.values()].includes(request) || this.waiting.has(request)) return;
    if (this.waiting.size === 0) this.timerStart = this.ticks;
    this.waiting.add(request);
    this.assignIfPrimary();
  }

  private assignIfPrimary(): void {
    if (this.changing || this.primaryOf(this.view) !== this.id) return;
    for (const request of this.waiting) {
      if (this.assigned.has(request)) continue;
      this.assigned.add(request);
      this.broadcast({ kind: 'pre-prepare', view: this.view, seq: this.nextSeq++, request });
    }
  }

  private onPrePrepare(message: Signed, body: Extract<PbftBody, { kind: 'pre-prepare' }>): void {
    if (this.changing || body.view !== this.view || message.by !== this.primaryOf(body.view))
      return;
    const s = this.slot(body.view, body.seq);
    if (s.preprepare !== undefined) return; // one request per (view, seq): equivocation is ignored
    const expected = this.expected.get(body.seq);
    if (expected !== undefined && expected !== body.request) return;
    s.preprepare = message;
    this.nextSeq = Math.max(this.nextSeq, body.seq + 1);
    if (this.id !== message.by)
      this.broadcast({ kind: 'prepare', view: body.view, seq: body.seq, request: body.request });
    this.progress(body.view, body.seq);
  }

  private onVote(message: Signed, body: Extract<PbftBody, { kind: 'prepare' | 'commit' }>): void {
    if (body.view !== this.view) return;
    const s = this.slot(body.view, body.seq);
    (body.kind === 'prepare' ? s.prepares : s.commits).set(message.by, message);
    this.progress(body.view, body.seq);
  }

  /** Moves a slot on: prepared → send commit; committed-local → record. */
  private progress(view: number, seq: number): void {
    const s = this.slot(view, seq);
    const pp = s.preprepare;
    if (pp === undefined || pp.body.kind !== 'pre-prepare') return;
    const request = pp.body.request;
    const matching = (m: Signed): boolean => 'request' in m.body && m.body.request === request;
    const prepares = [...s.prepares.values()].filter(matching).length;
    const mine = s.commits.get(this.id);
    if (mine === undefined && prepares >= this.quorum - 1) {
      this.broadcast({ kind: 'commit', view, seq, request });
      return;
    }
    const commits = [...s.commits.values()].filter(matching).length;
    if (!s.committed && mine !== undefined && commits >= this.quorum) {
      s.committed = true;
      if (!this.committedLog.has(seq)) this.committedLog.set(seq, request);
      this.waiting.delete(request);
      this.timerStart = this.ticks;
      this.timeoutTicks = this.baseTimeout;
    }
  }

  private preparedProofs(): PreparedProof[] {
    const proofs: PreparedProof[] = [];
    for (const s of this.slots.values()) {
      const pp = s.preprepare;
      if (pp === undefined || pp.body.kind !== 'pre-prepare') continue;
      const { view, seq, request } = pp.body;
      const prepares = [...s.prepares.values()].filter(
        (m) => 'request' in m.body && m.body.request === request,
      );
      if (prepares.length >= this.quorum - 1)
        proofs.push({ view, seq, request, messages: [pp, ...prepares.slice(0, this.quorum - 1)] });
    }
    return proofs;
  }

  private startViewChange(view: number): void {
    this.changing = true;
    this.view = view;
    this.timerStart = this.ticks;
    this.timeoutTicks *= 2;
    this.lastViewChange = this.broadcast({
      kind: 'view-change',
      view,
      prepared: this.preparedProofs(),
    });
  }

  private onViewChange(message: Signed, view: number): void {
    if (view < this.view) return;
    let votes = this.viewChanges.get(view);
    if (votes === undefined) this.viewChanges.set(view, (votes = new Map()));
    votes.set(message.by, message);
    // f + 1 replicas want a higher view: one of them is loyal, so join (PBFT's liveness rule).
    if (votes.size >= this.f + 1 && view > this.view) this.startViewChange(view);
    if (this.primaryOf(view) !== this.id || view !== this.view) return;
    const sent = this.lastNewView;
    if (sent !== undefined && sent.body.kind === 'new-view' && sent.body.view === view) {
      // A replica still asking for this view missed the new-view: send it again.
      if (message.by !== this.id) this.out.send(message.by, sent);
      return;
    }
    if (votes.size >= this.quorum)
      this.lastNewView = this.broadcast({ kind: 'new-view', view, proofs: [...votes.values()] });
  }

  /** A valid prepared certificate: a primary's pre-prepare and quorum − 1 distinct prepares, all signed. */
  private validProof(p: PreparedProof): boolean {
    const [pp, ...prepares] = p.messages;
    if (pp === undefined || !this.keyring.verify(pp) || pp.by !== this.primaryOf(p.view))
      return false;
    const same = (m: Signed, kind: string): boolean =>
      m.body.kind === kind &&
      'seq' in m.body &&
      m.body.view === p.view &&
      m.body.seq === p.seq &&
      m.body.request === p.request;
    if (!same(pp, 'pre-prepare')) return false;
    const signers = new Set(
      prepares
        .filter((m) => this.keyring.verify(m) && same(m, 'prepare') && m.by !== pp.by)
        .map((m) => m.by),
    );
    return signers.size >= this.quorum - 1;
  }

  private onNewView(from: string, view: number, proofs: readonly Signed[]): void {
    if (view < this.view || from !== this.primaryOf(view)) return;
    const valid = proofs.filter(
      (m) => this.keyring.verify(m) && m.body.kind === 'view-change' && m.body.view === view,
    );
    if (new Set(valid.map((m) => m.by)).size < this.quorum) return;
    // Every replica computes the new view's pre-prepares itself from the certificates: for each
    // sequence number the request prepared in the highest view, a null request in the gaps.
    const best = new Map<number, PreparedProof>();
    for (const m of valid)
      if (m.body.kind === 'view-change')
        for (const p of m.body.prepared)
          if (this.validProof(p) && (best.get(p.seq)?.view ?? -1) < p.view) best.set(p.seq, p);
    const top = Math.max(0, ...best.keys());
    this.view = view;
    this.changing = false;
    this.timerStart = this.ticks;
    this.nextSeq = top + 1;
    this.expected = new Map();
    for (let seq = 1; seq <= top; seq++) {
      const request = best.get(seq)?.request ?? PBFT_NOOP;
      this.expected.set(seq, request);
      this.assigned.add(request);
    }
    // The new primary re-issues them as signed pre-prepares; replicas accept only those.
    if (this.primaryOf(view) === this.id)
      for (const [seq, request] of this.expected)
        this.broadcast({ kind: 'pre-prepare', view, seq, request });
    for (const request of this.waiting)
      if (![...best.values()].some((p) => p.request === request)) this.assigned.delete(request);
    this.assignIfPrimary();
  }
}

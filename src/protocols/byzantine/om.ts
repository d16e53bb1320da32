/**
 * The oral-messages algorithm OM(m) of Lamport, Shostak & Pease ("The Byzantine Generals
 * Problem", TOPLAS 1982) as a pure state machine, in its exponential-information-gathering form:
 * the commander sends its order, every lieutenant relays each value it receives (tagged with the
 * chain of generals it passed through) for m rounds, and then decides by recursive majority.
 *
 * Synchronous rounds are the algorithm's assumption: a driver must deliver a round's messages
 * before the next round's ticks (the {@link OmGeneral} decides after `(m + 1) × roundTicks`).
 *
 * @module
 */
import { assert } from '../../core/assert.js';
import { integerIn, rangeError } from '../../core/validate.js';
import { Outbox } from '../machine.js';
import type { Ready, StateMachine } from '../machine.js';

/** An order. */
export type Order = 'attack' | 'retreat';

/** The order a lieutenant assumes when a value is missing or a vote is tied (LSP's RETREAT). */
export const DEFAULT_ORDER: Order = 'retreat';

/** A value relayed along `path` (the commander first, the sender last). */
export interface OmMessage {
  readonly kind: 'om';
  readonly path: readonly string[];
  readonly order: Order;
}

/** How a lieutenant decides. */
export type OmRule =
  /** OM(m): m relay rounds, recursive majority (correct for n ≥ 3m + 1). */
  | { readonly kind: 'om' }
  /** Majority of the values received in one relay round (OM(1) whatever the traitors). */
  | { readonly kind: 'majority-of-received' }
  /**
   * No relaying: the commander's and everybody's direct messages only, and an order is taken only
   * when at least two thirds of the values received agree (the textbook rule).
   */
  | { readonly kind: 'two-thirds-direct' };

/** Options of an {@link OmGeneral}. */
export interface OmOptions {
  /** This general. */
  id: string;
  /** Every general; `generals[0]` is the commander. */
  generals: readonly string[];
  /** Traitors tolerated: the number of relay rounds of OM(m). */
  m: number;
  /** The commander's order (only the commander uses it). */
  order?: Order;
  /** Ticks per synchronous round (default 10): longer than any message delay of the driver. */
  roundTicks?: number;
  /** The decision rule (default OM(m)). */
  rule?: OmRule;
}

/**
 * One general of OM(m).
 *
 * @example
 * const g = new OmGeneral({ id: 'L1', generals: ['C', 'L1', 'L2', 'L3'], m: 1 });
 * g.step('C', { kind: 'om', path: ['C'], order: 'attack' });
 * // ... relay rounds, ticks ...
 * g.decision; // 'attack' once (m + 1) rounds have passed
 */
export class OmGeneral implements StateMachine<OmMessage, never> {
  private readonly id: string;
  private readonly generals: readonly string[];
  private readonly commander: string;
  private readonly m: number;
  private readonly roundTicks: number;
  private readonly rule: OmRule;
  private readonly out = new Outbox<OmMessage, never>();
  /** Values received, by path (joined with '/'). */
  private readonly received = new Map<string, Order>();
  private ticks = 0;
  private decided: Order | null | undefined;

  constructor(options: OmOptions) {
    const { id, generals } = options;
    integerIn('generals.length', generals.length, 2, 32);
    if (new Set(generals).size !== generals.length)
      throw rangeError('generals', 'unique names', generals.join());
    if (!generals.includes(id)) throw rangeError('id', `one of ${generals.join(', ')}`, id);
    this.id = id;
    this.generals = [...generals];
    this.commander = generals[0] as string;
    this.m = integerIn('m', options.m, 0, generals.length - 1);
    this.roundTicks = integerIn('roundTicks', options.roundTicks ?? 10, 1, 1_000_000);
    this.rule = options.rule ?? { kind: 'om' };
    if (id === this.commander) {
      const order = options.order;
      if (order !== 'attack' && order !== 'retreat')
        throw rangeError('order', "'attack' or 'retreat' for the commander", order);
      this.decided = order;
      const message: OmMessage = { kind: 'om', path: [id], order };
      this.out.broadcast(this.lieutenants(), message);
    }
  }

  /**
   * The decision: an order, `null` when the rule reached none (the two-thirds rule can), and
   * `undefined` before the last round ended. The commander's is its own order.
   */
  get decision(): Order | null | undefined {
    return this.decided;
  }

  /** Relay rounds this rule runs. */
  private get relayRounds(): number {
    switch (this.rule.kind) {
      case 'om':
        return this.m;
      case 'majority-of-received':
        return 1;
      case 'two-thirds-direct':
        return 0;
    }
  }

  tick(): void {
    this.ticks++;
    if (this.decided === undefined && this.ticks >= (this.relayRounds + 1) * this.roundTicks)
      this.decided = this.decide();
  }

  step(from: string, message: OmMessage): void {
    if (this.decided !== undefined || !this.valid(from, message)) return;
    const key = message.path.join('/');
    if (this.received.has(key)) return;
    this.received.set(key, message.order);
    if (message.path.length <= this.relayRounds) {
      const path = [...message.path, this.id];
      const relay: OmMessage = { kind: 'om', path, order: message.order };
      this.out.broadcast(
        this.lieutenants().filter((g) => !path.includes(g)),
        relay,
      );
    }
  }

  ready(): Ready<OmMessage, never> {
    return this.out.ready();
  }

  advance(): void {
    this.out.advance();
  }

  private lieutenants(): string[] {
    return this.generals.filter((g) => g !== this.commander);
  }

  /**
   * Oral messages: the receiver knows who sent a message (the transport authenticates the link),
   * so a path must end with the sender, start with the commander, repeat nobody, exclude this
   * general and be no longer than the rounds allow. Anything else is a forgery and is dropped.
   */
  private valid(from: string, message: OmMessage): boolean {
    const { path, order } = message;
    if (message.kind !== 'om' || (order !== 'attack' && order !== 'retreat')) return false;
    if (!Array.isArray(path) || path.length === 0 || path.length > this.relayRounds + 1)
      return false;
    if (path[path.length - 1] !== from) return false;
    // The textbook rule counts every general's direct message as a vote; OM relays only orders
    // that started at the commander.
    if (this.rule.kind === 'two-thirds-direct') return path.length === 1 && from !== this.id;
    if (path[0] !== this.commander) return false;
    if (path.includes(this.id) || new Set(path).size !== path.length) return false;
    return path.every((g) => this.generals.includes(g));
  }

  private decide(): Order | null {
    if (this.rule.kind === 'two-thirds-direct') {
      const votes = [...this.received.values()];
      const attack = votes.filter((v) => v === 'attack').length;
      const retreat = votes.length - attack;
      if (3 * attack >= 2 * votes.length && attack > 0) return 'attack';
      if (3 * retreat >= 2 * votes.length && retreat > 0) return 'retreat';
      return null;
    }
    return this.resolve([this.commander]);
  }

  /** The recursive majority of OM: the value for the sub-run whose commander ends `path`. */
  private resolve(path: readonly string[]): Order {
    const direct = this.received.get(path.join('/')) ?? DEFAULT_ORDER;
    if (path.length > this.relayRounds) return direct;
    const votes: Order[] = [direct];
    for (const g of this.lieutenants()) {
      if (g === this.id || path.includes(g)) continue;
      votes.push(this.resolve([...path, g]));
    }
    return majority(votes);
  }
}

/** The majority of `votes`; a tie gives {@link DEFAULT_ORDER}. */
export function majority(votes: readonly Order[]): Order {
  let attack = 0;
  for (const v of votes) if (v === 'attack') attack++;
  const retreat = votes.length - attack;
  assert(votes.length > 0, 'a majority needs votes');
  return attack > retreat ? 'attack' : retreat > attack ? 'retreat' : DEFAULT_ORDER;
}

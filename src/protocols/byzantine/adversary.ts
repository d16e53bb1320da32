/**
 * Traitors for OM(m): a Byzantine general runs this machine instead of {@link OmGeneral}. It
 * follows the protocol's message pattern (so its lies arrive when loyal generals expect values)
 * but chooses every value it sends with a {@link LieStrategy}.
 *
 * @module
 */
import type { Random } from '../../core/runtime.js';
import { Outbox } from '../machine.js';
import type { Ready, StateMachine } from '../machine.js';
import type { OmMessage, OmRule, Order } from './om.js';

/** Chooses the value a traitor sends to `to` along `path` (the traitor last), given the truth. */
export type LieStrategy = (to: string, path: readonly string[], truth: Order) => Order;

/** Named strategies; `random` draws every value from the traitor's random stream. */
export type NamedStrategy = 'flip' | 'split' | 'random' | 'attack' | 'retreat';

/** The strategies {@link lieStrategy} knows. */
export const namedStrategies: readonly NamedStrategy[] = [
  'flip',
  'split',
  'random',
  'attack',
  'retreat',
];

/**
 * A named strategy: `flip` (the opposite of the truth), `split` (attack to the first half of the
 * generals, retreat to the second: the one that splits loyal lieutenants), `random`, or always
 * `attack` / `retreat`.
 */
export function lieStrategy(
  name: NamedStrategy,
  generals: readonly string[],
  random: Random,
): LieStrategy {
  switch (name) {
    case 'flip':
      return (_to, _path, truth) => (truth === 'attack' ? 'retreat' : 'attack');
    case 'split':
      return (to) => (generals.indexOf(to) * 2 < generals.length ? 'attack' : 'retreat');
    case 'random':
      return () => (random.next() < 0.5 ? 'attack' : 'retreat');
    case 'attack':
    case 'retreat':
      return () => name;
  }
}

/** A traitorous general. */
export class TraitorGeneral implements StateMachine<OmMessage, never> {
  private readonly out = new Outbox<OmMessage, never>();
  private readonly seen = new Set<string>();

  constructor(
    private readonly id: string,
    private readonly generals: readonly string[],
    private readonly relayRounds: number,
    private readonly rule: OmRule,
    private readonly lie: LieStrategy,
  ) {
    const commander = generals[0];
    const others = generals.filter((g) => g !== id && g !== commander);
    // A traitorous commander sends an order to each lieutenant; under the textbook rule a
    // traitorous lieutenant sends its own (conflicting) orders directly.
    if (id === commander || rule.kind === 'two-thirds-direct')
      for (const to of id === commander ? generals.slice(1) : others)
        this.out.send(to, { kind: 'om', path: [id], order: lie(to, [id], 'attack') });
  }

  tick(): void {}

  step(from: string, message: OmMessage): void {
    const path = message.path;
    if (!Array.isArray(path) || path[path.length - 1] !== from || path.includes(this.id)) return;
    const key = path.join('/');
    if (this.seen.has(key) || path.length > this.relayRounds) return;
    this.seen.add(key);
    const relayPath = [...path, this.id];
    for (const to of this.generals.slice(1))
      if (!relayPath.includes(to))
        this.out.send(to, {
          kind: 'om',
          path: relayPath,
          order: this.lie(to, relayPath, message.order),
        });
  }

  ready(): Ready<OmMessage, never> {
    return this.out.ready();
  }

  advance(): void {
    this.out.advance();
  }
}

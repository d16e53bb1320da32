import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../core/random.js';
import { GossipNode } from './gossip.js';
import { gossipProtocol } from './protocol.js';
import { runGossip } from './sim.js';

async function violatingSeeds(variant: string, from: number, to: number, nodes: number) {
  const out: number[] = [];
  for (let seed = from; seed <= to; seed++)
    if ((await gossipProtocol.run({ seed, variant, nodes })).violations > 0) out.push(seed);
  return out;
}

describe('the gossip state machine', () => {
  it('keeps the newer version whatever the arrival order', () => {
    const a = new GossipNode({
      name: 'a',
      peers: ['b'],
      mode: 'push',
      random: new SeededRandom(1),
    });
    const v2 = { key: 'k', version: 2, origin: 'c', value: 'new' };
    const v1 = { key: 'k', version: 1, origin: 'c', value: 'old' };
    a.step('b', { kind: 'entries', entries: [v2] });
    a.step('b', { kind: 'entries', entries: [v1] });
    expect(a.get('k')).toEqual(v2);
  });

  it('answers a digest with exactly the entries the asker lacks', () => {
    const a = new GossipNode({
      name: 'a',
      peers: ['b'],
      mode: 'pull',
      random: new SeededRandom(1),
    });
    a.update('x', '1');
    a.update('y', '1');
    a.step('b', { kind: 'digest', digest: [['x', 1, 'a']], entries: [] });
    const out = a.ready();
    expect(out).toHaveLength(1);
    expect(out[0]?.message.entries.map((e) => e.key)).toEqual(['y']);
  });

  it('names the field of a bad option', () => {
    const random = new SeededRandom(1);
    expect(() => new GossipNode({ name: 'a', peers: [], mode: 'push', fanout: 0, random })).toThrow(
      /fanout.*0/,
    );
    expect(() => new GossipNode({ name: 'a', peers: [], mode: 'shout' as never, random })).toThrow(
      /mode.*shout/,
    );
  });
});

describe('gossip in the simulator', () => {
  it('push-pull reaches all 1,000 members in about log2 N rounds', () => {
    const r = runGossip({
      seed: 1,
      nodes: 1000,
      mode: 'push-pull',
      lossProbability: 0.1,
      extraUpdates: 0,
    });
    expect(r.informed).toBe(1000);
    expect(r.diverged).toBe(0);
    // log2(1000) ≈ 10: anti-entropy needs a small multiple of it, never N.
    expect(r.rounds).toBeLessThanOrEqual(20);
  });

  it('flooding reaches everyone at N − 1 messages per member', () => {
    const r = runGossip({ seed: 2, nodes: 50, mode: 'flood', lossProbability: 0, extraUpdates: 0 });
    expect(r.informed).toBe(50);
    // Each member forwards the update once to each of the 49 others.
    expect(r.messages).toBe(50 * 49);
  });

  it(
    'holds on seeds 1..1000 of the correct variant (16 members)',
    { timeout: 600_000 },
    async () => {
      expect(await violatingSeeds('correct', 1, 1000, 16)).toEqual([]);
    },
  );

  it('catches every broken variant within seeds 1..10', { timeout: 120_000 }, async () => {
    for (const variant of gossipProtocol.variants.slice(1))
      expect((await violatingSeeds(variant, 1, 10, 50)).length, variant).toBeGreaterThan(0);
  });
});

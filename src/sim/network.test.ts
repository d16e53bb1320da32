import { describe, expect, it } from 'vitest';
import type { Envelope } from './node.js';
import { Simulation } from './simulation.js';
import type { SimulationOptions } from './simulation.js';

function setup(options: Partial<SimulationOptions> = {}, names = ['a', 'b', 'c']) {
  const sim = new Simulation({ seed: 1, ...options });
  const inbox = new Map<string, Envelope[]>();
  const deliveredAt = new Map<string, number[]>();
  for (const name of names) {
    const node = sim.node(name);
    inbox.set(name, []);
    deliveredAt.set(name, []);
    node.onMessage((m) => {
      inbox.get(name)!.push(m);
      deliveredAt.get(name)!.push(sim.nowMs);
    });
  }
  const got = (name: string) => inbox.get(name)!.map((m) => m.payload);
  return { sim, inbox, deliveredAt, got };
}

function dropReasons(sim: Simulation): string[] {
  return sim.trace.events.filter((e) => e.kind === 'drop').map((e) => String(e.detail));
}

describe('Network', () => {
  it('delivers after the fixed latency, with sender, receiver and send time', () => {
    const { sim, inbox, deliveredAt } = setup({ network: { latency: { kind: 'fixed', ms: 7 } } });
    sim.getNode('a').send('b', 'hi');
    sim.runSync();
    const m = inbox.get('b')![0]!;
    expect(m).toMatchObject({ from: 'a', to: 'b', payload: 'hi', sentAtMs: 0 });
    expect(deliveredAt.get('b')).toEqual([7]);
  });

  it('keeps links FIFO when reordering is off, even with random latency', () => {
    const { sim, got } = setup({ network: { latency: { kind: 'uniform', minMs: 1, maxMs: 50 } } });
    for (let i = 0; i < 200; i++) sim.getNode('a').send('b', i);
    sim.runSync();
    expect(got('b')).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('reorders some messages when asked', () => {
    const { sim, got } = setup({
      network: { latency: { kind: 'uniform', minMs: 1, maxMs: 5 }, reorderProbability: 0.3 },
    });
    for (let i = 0; i < 200; i++) sim.getNode('a').send('b', i);
    sim.runSync();
    const out = got('b') as number[];
    expect([...out].sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    let inversions = 0;
    for (let i = 1; i < out.length; i++) if (out[i]! < out[i - 1]!) inversions++;
    expect(inversions).toBeGreaterThan(5);
  });

  it('a symmetric partition blocks both ways; heal restores', () => {
    const { sim, got } = setup();
    sim.network.cut('a', 'b');
    sim.getNode('a').send('b', 1);
    sim.getNode('b').send('a', 2);
    sim.getNode('a').send('c', 3);
    sim.runSync();
    expect(got('b')).toEqual([]);
    expect(got('a')).toEqual([]);
    expect(got('c')).toEqual([3]);
    expect(sim.network.isBlocked('a', 'b')).toBe(true);
    sim.network.heal();
    expect(sim.network.isBlocked('a', 'b')).toBe(false);
    sim.getNode('a').send('b', 4);
    sim.runSync();
    expect(got('b')).toEqual([4]);
    expect(dropReasons(sim)).toEqual(['partition', 'partition']);
  });

  it('a partition drops messages already in flight', () => {
    const { sim, got } = setup({ network: { latency: { kind: 'fixed', ms: 10 } } });
    sim.getNode('a').send('b', 1);
    sim.runSync({ untilMs: 5 });
    sim.network.partition([['a'], ['b', 'c']]);
    sim.runSync();
    expect(got('b')).toEqual([]);
  });

  it('a one-way cut blocks only that direction', () => {
    const { sim, got } = setup();
    sim.network.cutOneWay('a', 'b');
    sim.getNode('a').send('b', 1);
    sim.getNode('b').send('a', 2);
    sim.runSync();
    expect(got('b')).toEqual([]);
    expect(got('a')).toEqual([2]);
  });

  it('isolate cuts a node off from everyone until heal', () => {
    const { sim, got } = setup();
    sim.network.isolate('c');
    sim.getNode('a').send('c', 1);
    sim.getNode('c').send('b', 2);
    sim.getNode('a').send('b', 3);
    sim.runSync();
    expect(got('c')).toEqual([]);
    expect(got('b')).toEqual([3]);
    sim.network.heal();
    sim.getNode('c').send('b', 4);
    sim.runSync();
    expect(got('b')).toEqual([3, 4]);
  });

  it('loses about the configured fraction of messages (6-sigma bound)', () => {
    const n = 20_000;
    const p = 0.3;
    const { sim, got } = setup({ network: { lossProbability: p, capacity: n }, trace: false });
    for (let i = 0; i < n; i++) sim.getNode('a').send('b', i);
    sim.runSync();
    const lost = n - got('b').length;
    const sigma = Math.sqrt(n * p * (1 - p));
    expect(Math.abs(lost - n * p)).toBeLessThan(6 * sigma);
    expect(lost).toBeGreaterThan(0);
  });

  it('drop(from, to, p) and recover() behave like the etcd-raft test network', () => {
    const { sim, got } = setup({ network: { capacity: 10_000 } });
    sim.network.drop('a', 'b', 1);
    sim.network.cut('a', 'c');
    for (let i = 0; i < 10; i++) sim.getNode('a').send('b', i);
    sim.getNode('b').send('a', 'back');
    sim.runSync();
    expect(got('b')).toEqual([]);
    expect(got('a')).toEqual(['back']);
    sim.network.recover();
    sim.getNode('a').send('b', 'x');
    sim.getNode('a').send('c', 'y');
    sim.runSync();
    expect(got('b')).toEqual(['x']);
    expect(got('c')).toEqual(['y']);
  });

  it('a loss burst drops network-wide until it ends', () => {
    const { sim, got } = setup();
    sim.network.setLossBurst(1);
    sim.getNode('a').send('b', 1);
    sim.runSync();
    sim.network.setLossBurst(0);
    sim.getNode('a').send('b', 2);
    sim.runSync();
    expect(got('b')).toEqual([2]);
  });

  it('duplicates messages, keeping the message id', () => {
    const { sim, inbox } = setup({ network: { duplicateProbability: 1 } });
    sim.getNode('a').send('b', 'twice');
    sim.runSync();
    const got = inbox.get('b')!;
    expect(got.map((m) => m.payload)).toEqual(['twice', 'twice']);
    expect(got[0]!.id).toBe(got[1]!.id);
    expect(sim.trace.events.filter((e) => e.kind === 'duplicate')).toHaveLength(1);
  });

  it('drops messages beyond a link capacity', () => {
    const { sim, got } = setup({ network: { capacity: 5 } });
    for (let i = 0; i < 10; i++) sim.getNode('a').send('b', i);
    expect(sim.network.inFlight).toBe(5);
    sim.getNode('a').send('c', 'other link');
    sim.runSync();
    expect(got('b')).toEqual([0, 1, 2, 3, 4]);
    expect(got('c')).toEqual(['other link']);
    expect(dropReasons(sim)).toEqual(Array(5).fill('capacity'));
    sim.getNode('a').send('b', 'after');
    sim.runSync();
    expect(got('b')).toContain('after');
  });

  it('per-link overrides apply to one direction', () => {
    const { sim, deliveredAt } = setup({ network: { latency: { kind: 'fixed', ms: 1 } } });
    sim.network.setLink('a', 'b', { latency: { kind: 'fixed', ms: 40 } });
    sim.getNode('a').send('b', 1);
    sim.getNode('b').send('a', 2);
    sim.runSync();
    expect(deliveredAt.get('b')).toEqual([40]);
    expect(deliveredAt.get('a')).toEqual([1]);
  });

  it('exponential latency stays within [min, max] with a tail', () => {
    const { sim, inbox, deliveredAt } = setup({
      network: {
        latency: { kind: 'exponential', minMs: 2, meanMs: 5, maxMs: 60 },
        reorderProbability: 1,
        capacity: 5000,
      },
      trace: false,
    });
    for (let i = 0; i < 2000; i++) sim.getNode('a').send('b', i);
    sim.runSync();
    expect(inbox.get('b')).toHaveLength(2000);
    // Reordering adds two more draws, so each delivery is 3 draws: in [6, 180].
    const times = deliveredAt.get('b')!;
    expect(Math.min(...times)).toBeGreaterThanOrEqual(6);
    expect(Math.max(...times)).toBeLessThanOrEqual(180);
    expect(Math.max(...times)).toBeGreaterThan(45);
  });

  it('drops messages to unknown nodes', () => {
    const { sim } = setup();
    sim.getNode('a').send('nobody', 1);
    sim.runSync();
    expect(dropReasons(sim)).toEqual(['unknown-node']);
  });

  it('Byzantine interceptors rewrite, drop and forge outgoing messages', () => {
    const { sim, inbox } = setup();
    const sub = sim.network.intercept('a', (m, ctx) => {
      if (m.payload === 'drop-me') return 'drop';
      if (m.payload === 'forge') {
        ctx.forge('c', 'forged', 'b');
        return 'drop';
      }
      return { payload: `evil:${String(m.payload)}` };
    });
    const a = sim.getNode('a');
    a.send('b', 'hello');
    a.send('b', 'drop-me');
    a.send('b', 'forge');
    sim.runSync();
    expect(inbox.get('b')!.map((m) => m.payload)).toEqual(['evil:hello']);
    expect(inbox.get('c')!.map((m) => [m.from, m.payload])).toEqual([['b', 'forged']]);
    sub.dispose();
    a.send('b', 'honest');
    sim.runSync();
    expect(inbox.get('b')!.map((m) => m.payload)).toEqual(['evil:hello', 'honest']);
  });

  it('an interceptor can redirect a message', () => {
    const { sim, got } = setup();
    sim.network.intercept('a', () => ({ to: 'c' }));
    sim.getNode('a').send('b', 'x');
    sim.runSync();
    expect(got('b')).toEqual([]);
    expect(got('c')).toEqual(['x']);
  });

  it('validates options, naming the field', () => {
    expect(() => new Simulation({ seed: 1, network: { lossProbability: 2 } })).toThrow(
      /lossProbability/,
    );
    expect(() => new Simulation({ seed: 1, network: { capacity: 0 } })).toThrow(/capacity/);
    expect(
      () =>
        new Simulation({ seed: 1, network: { latency: { kind: 'uniform', minMs: 5, maxMs: 1 } } }),
    ).toThrow(/maxMs/);
    expect(
      () => new Simulation({ seed: 1, network: { latency: { kind: 'fixed', ms: -1 } } }),
    ).toThrow(/latency.ms/);
    const { sim } = setup();
    expect(() => sim.network.cut('a', 'zz')).toThrow(/node/);
    expect(() => sim.network.drop('a', 'b', -0.1)).toThrow(/probability/);
  });
});

import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../core/random.js';
import {
  retransmitLimit,
  suspicionMinMs,
  suspicionTimeoutMs,
  swimOptions,
  swimProfiles,
} from './config.js';
import { decodeMessage, encodeMessage } from './messages.js';
import type { SwimMessage } from './messages.js';
import { SwimNode } from './node.js';
import { swimProtocol } from './protocol.js';

function node(name: string, lifeguard = true): SwimNode {
  return new SwimNode({ name, random: new SeededRandom(7), options: { lifeguard } });
}

async function violatingSeeds(variant: string, from: number, to: number): Promise<number[]> {
  const out: number[] = [];
  for (let seed = from; seed <= to; seed++)
    if ((await swimProtocol.run({ seed, variant, nodes: 8 })).violations > 0) out.push(seed);
  return out;
}

describe('SWIM options and formulas', () => {
  it('has the LAN, WAN and local profiles with their documented values', () => {
    expect(swimProfiles.lan.probeIntervalMs).toBe(1000);
    expect(swimProfiles.lan.probeTimeoutMs).toBe(500);
    expect(swimProfiles.wan.probeIntervalMs).toBe(5000);
    expect(swimProfiles.local.probeTimeoutMs).toBe(200);
    expect(swimProfiles.local.indirectChecks).toBe(1);
  });

  it('names the field and value of a bad option', () => {
    expect(() => swimOptions({ probeIntervalMs: -1 })).toThrow(/probeIntervalMs.*-1/);
    expect(() => swimOptions({ probeTimeoutMs: 2000 })).toThrow(/probeTimeoutMs.*2000/);
    expect(() => swimOptions({ indirectChecks: 1.5 })).toThrow(/indirectChecks.*1.5/);
  });

  it('computes retransmit limits and suspicion timeouts by the formulas', () => {
    expect(retransmitLimit(4, 8)).toBe(4); // 4 · ⌈log10 9⌉
    expect(retransmitLimit(4, 100)).toBe(12); // 4 · ⌈log10 101⌉
    expect(suspicionMinMs(4, 100, 1000)).toBe(8000); // 4 · log10 100 · 1 s
    expect(suspicionTimeoutMs(1000, 6000, 0, 2)).toBe(6000);
    expect(suspicionTimeoutMs(1000, 6000, 2, 2)).toBe(1000);
    const one = suspicionTimeoutMs(1000, 6000, 1, 2);
    expect(one).toBeGreaterThan(1000);
    expect(one).toBeLessThan(6000);
  });
});

describe('SWIM wire encoding', () => {
  it('round-trips every message kind', () => {
    const u = { kind: 'suspect', node: 'b', incarnation: 3, from: 'a' } as const;
    const messages: SwimMessage[] = [
      { kind: 'ping', seq: 1, target: 'b', updates: [u] },
      { kind: 'ping-req', seq: 2, target: 'c', nack: true, updates: [] },
      { kind: 'ack', seq: 1, updates: [u] },
      { kind: 'nack', seq: 2, updates: [] },
      { kind: 'gossip', updates: [u] },
      {
        kind: 'push-pull',
        join: true,
        reply: false,
        members: [{ node: 'a', incarnation: 0, state: 'alive' }],
      },
    ];
    for (const m of messages)
      expect(decodeMessage(new TextEncoder().encode(encodeMessage(m)))).toEqual(m);
  });

  it('drops malformed and hostile datagrams', () => {
    const bad = [
      new Uint8Array([0xff, 0xfe, 0x00]),
      new TextEncoder().encode('not json'),
      new TextEncoder().encode('{"v":2,"kind":"gossip","updates":[]}'),
      new TextEncoder().encode('{"v":1,"kind":"ping","seq":1e300,"target":"b","updates":[]}'),
      new TextEncoder().encode('{"v":1,"kind":"ack","seq":-1,"updates":[]}'),
      new TextEncoder().encode('{"v":1,"kind":"gossip","updates":[{"kind":"dead"}]}'),
      new TextEncoder().encode(
        `{"v":1,"kind":"ping","seq":1,"target":"${'x'.repeat(500)}","updates":[]}`,
      ),
      new TextEncoder().encode('{"v":1,"kind":"launch","updates":[]}'),
      new TextEncoder().encode('[1,2,3]'),
    ];
    for (const b of bad) expect(decodeMessage(b)).toBeUndefined();
  });
});

describe('the SWIM state machine', () => {
  it('refutes a suspicion about itself with a higher incarnation', () => {
    const a = node('a');
    a.step('b', {
      kind: 'push-pull',
      join: true,
      reply: false,
      members: [{ node: 'b', incarnation: 0, state: 'alive' }],
    });
    a.ready();
    a.step('b', {
      kind: 'gossip',
      updates: [{ kind: 'suspect', node: 'a', incarnation: 0, from: 'b' }],
    });
    expect(a.incarnation).toBe(1);
    const { events } = a.ready();
    expect(events).toContainEqual({ kind: 'refute', incarnation: 1 });
  });

  it('ignores a suspicion of an older incarnation, and a stale alive', () => {
    const a = node('a');
    a.step('x', {
      kind: 'gossip',
      updates: [{ kind: 'alive', node: 'b', incarnation: 2, from: 'b' }],
    });
    a.step('x', {
      kind: 'gossip',
      updates: [{ kind: 'suspect', node: 'b', incarnation: 1, from: 'c' }],
    });
    expect(a.stateOf('b')).toEqual({ state: 'alive', incarnation: 2 });
    a.step('x', {
      kind: 'gossip',
      updates: [{ kind: 'alive', node: 'b', incarnation: 1, from: 'b' }],
    });
    expect(a.stateOf('b')).toEqual({ state: 'alive', incarnation: 2 });
  });

  it('suspects an unanswered target, then declares it dead after the suspicion timeout', () => {
    const a = node('a', false);
    a.step('b', {
      kind: 'gossip',
      updates: [{ kind: 'alive', node: 'b', incarnation: 0, from: 'b' }],
    });
    let declaredAt: number | undefined;
    let suspectedAt: number | undefined;
    for (let i = 0; i < 400 && declaredAt === undefined; i++) {
      a.tick();
      for (const e of a.ready().events) {
        if (e.kind === 'change' && e.state === 'suspect') suspectedAt = a.timeMs;
        if (e.kind === 'declare') declaredAt = a.timeMs;
      }
    }
    expect(suspectedAt).toBeDefined();
    expect(declaredAt).toBeDefined();
    // Without Lifeguard the timeout is the minimum: 4 · max(1, log10 2) · 1 s.
    expect((declaredAt ?? 0) - (suspectedAt ?? 0)).toBeGreaterThanOrEqual(4000);
    expect(a.stateOf('b')?.state).toBe('dead');
  });

  it('records a graceful leave as left, not dead', () => {
    const a = node('a');
    a.step('b', {
      kind: 'gossip',
      updates: [{ kind: 'alive', node: 'b', incarnation: 0, from: 'b' }],
    });
    a.step('b', {
      kind: 'gossip',
      updates: [{ kind: 'dead', node: 'b', incarnation: 0, from: 'b' }],
    });
    expect(a.stateOf('b')?.state).toBe('left');
  });

  it('raises its local health score when its probes fail without the nacks it expected', () => {
    const a = node('a');
    for (const n of ['b', 'c', 'd'])
      a.step(n, { kind: 'gossip', updates: [{ kind: 'alive', node: n, incarnation: 0, from: n }] });
    for (let i = 0; i < 100; i++) {
      a.tick();
      a.ready();
    }
    expect(a.healthScore).toBeGreaterThan(0);
  });
});

describe('faultline sim swim', () => {
  it('holds on seeds 1..1000 of the correct variant', { timeout: 600_000 }, async () => {
    expect(await violatingSeeds('correct', 1, 1000)).toEqual([]);
  });

  it('catches every broken variant within seeds 1..20', { timeout: 120_000 }, async () => {
    for (const variant of swimProtocol.variants.slice(1))
      expect((await violatingSeeds(variant, 1, 20)).length, variant).toBeGreaterThan(0);
  });

  it('replays a seed with the same figures', async () => {
    const a = await swimProtocol.run({ seed: 5, variant: 'correct', nodes: 8 });
    const b = await swimProtocol.run({ seed: 5, variant: 'correct', nodes: 8 });
    expect(b).toEqual(a);
  });
});

describe('joining a seed that is not up yet', () => {
  it('asks the seed again every probe interval until it knows another member, then stops', () => {
    const options = { probeIntervalMs: 200, probeTimeoutMs: 100 };
    const a = new SwimNode({ name: 'a', random: new SeededRandom(3), options });
    a.join(['b', 'a']);
    const joinsTo = (to: string) =>
      a.ready().messages.filter((m) => m.to === to && m.message.kind === 'push-pull');
    expect(joinsTo('b')).toHaveLength(1); // lost: b is not up yet
    for (let t = 0; t < 5; t++) a.tick(); // 250 ms: one probe interval
    const again = joinsTo('b');
    expect(again).toHaveLength(1);
    // b is up now: it answers the second join with its state, and a stops asking.
    const b = new SwimNode({ name: 'b', random: new SeededRandom(4), options });
    b.step('a', again[0]!.message);
    const answer = b.ready().messages.find((m) => m.to === 'a' && m.message.kind === 'push-pull');
    expect(answer).toBeDefined();
    a.step('b', answer!.message);
    for (let t = 0; t < 20; t++) a.tick();
    expect(joinsTo('b')).toHaveLength(0);
  });
});

import { describe, expect, it } from 'vitest';
import { systemRuntime } from '../core/system.js';
import { SeededRandom } from '../core/random.js';
import { buggify, BuggifyController } from './buggify.js';
import { InvariantViolationError, isInvariantViolationError, SimulationError } from './errors.js';
import { randomFaultSchedule, randomFaultKinds } from './faults.js';
import { SimulationLimitError } from './scheduler.js';
import { Simulation } from './simulation.js';
import type { TraceOptions } from './trace.js';

/**
 * A faulty pure-callback workload: five nodes gossip counters on timers, persist them, and
 * rebuild from disk on restart, under a random fault schedule drawn from the seed.
 */
function gossipRun(
  seed: number,
  trace: TraceOptions | false = { record: false },
): { hash: string; events: number; json: string } {
  const sim = new Simulation({
    seed,
    trace,
    network: {
      latency: { kind: 'exponential', minMs: 1, meanMs: 4 },
      duplicateProbability: 0.01,
      reorderProbability: 0.05,
    },
    buggify: { enabled: true },
  });
  const names = ['n1', 'n2', 'n3', 'n4', 'n5'];
  for (const name of names) {
    const node = sim.node(name, { driftPpm: 10 * name.length });
    node.start((n) => {
      let counter = (n.disk.read('counter') as number | undefined) ?? 0;
      n.onMessage((m) => {
        counter = Math.max(counter, m.payload as number) + 1;
        n.disk.write('counter', counter);
      });
      const tick = (): void => {
        if (sim.buggify('gossip.skip-sync', 0.5)) n.disk.write('counter', counter);
        else void n.disk.sync();
        const peer = n.runtime.random.pick(names);
        n.send(peer, counter);
        n.runtime.timers.setTimer(5 + n.runtime.random.int(10), tick);
      };
      tick();
    });
  }
  sim.schedule(
    randomFaultSchedule(sim.random.fork('faults'), { nodes: names, durationMs: 400 }).faults,
  );
  const events = sim.runSync({ untilMs: 500 });
  return { hash: sim.trace.hash(), events, json: JSON.stringify(sim.trace.toJSON()) };
}

describe('Simulation determinism', () => {
  it('200 seeds of a faulty workload replay to the same trace hash; seeds differ', () => {
    const hashes = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const first = gossipRun(seed);
      const second = gossipRun(seed);
      expect(second).toEqual(first);
      expect(first.events).toBeGreaterThan(100);
      hashes.add(first.hash);
    }
    expect(hashes.size).toBeGreaterThanOrEqual(198);
  });

  it('the same seed exports the same trace JSON byte for byte', () => {
    for (const seed of [0, 1, 2, 3, 4]) {
      const first = gossipRun(seed, { record: true, timers: true });
      const second = gossipRun(seed, { record: true, timers: true });
      expect(first.json.length).toBeGreaterThan(10_000);
      expect(second.json).toBe(first.json);
    }
    expect(gossipRun(5, { record: true }).json).not.toBe(gossipRun(6, { record: true }).json);
  });

  it('recording the trace does not change the hash', () => {
    expect(gossipRun(7, { record: true }).hash).toBe(gossipRun(7, { record: false }).hash);
  });

  it('the trace is JSON with virtual times, nodes and message ids', () => {
    const sim = new Simulation({ seed: 3, network: { latency: { kind: 'fixed', ms: 2 } } });
    const a = sim.node('a');
    sim.node('b');
    a.send('b', 'x');
    sim.runSync();
    const json = JSON.parse(JSON.stringify(sim.trace.toJSON())) as ReturnType<
      typeof sim.trace.toJSON
    >;
    expect(json.seed).toBe(3);
    expect(json.nodes).toEqual(['a', 'b']);
    expect(json.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(json.events).toEqual([
      { index: 0, timeMs: 0, kind: 'send', node: 'a', from: 'a', to: 'b', msg: 1 },
      { index: 1, timeMs: 2, kind: 'deliver', node: 'b', from: 'a', to: 'b', msg: 1 },
    ]);
  });

  it('tracing off records nothing and keeps the initial hash', () => {
    const sim = new Simulation({ seed: 3, trace: false });
    sim.node('a').send('a', 1);
    sim.runSync();
    expect(sim.trace.active).toBe(false);
    expect(sim.trace.size).toBe(0);
    expect(sim.trace.events).toEqual([]);
  });

  it('timer events are traced only when asked', () => {
    const run = (timers: boolean) => {
      const sim = new Simulation({ seed: 3, trace: { timers } });
      sim.node('a').runtime.timers.setTimer(5, () => undefined);
      sim.runSync();
      return sim.trace.events.filter((e) => e.kind === 'timer').length;
    };
    expect(run(false)).toBe(0);
    expect(run(true)).toBe(1);
  });

  it('stops storing events past maxEvents but keeps hashing', () => {
    const sim = new Simulation({ seed: 3, trace: { maxEvents: 2 } });
    const a = sim.node('a');
    for (let i = 0; i < 5; i++) a.send('a', i);
    sim.runSync();
    expect(sim.trace.events).toHaveLength(2);
    expect(sim.trace.size).toBe(10);
    expect(sim.trace.truncated).toBe(true);
  });
});

describe('Simulation invariants and limits', () => {
  it('stops at the first violation, naming invariant, time, event and seed', () => {
    const sim = new Simulation({ seed: 'inv-1' });
    let count = 0;
    sim.node('a').runtime.timers.setTimer(1, function again() {
      count++;
      sim.getNode('a').runtime.timers.setTimer(1, again);
    });
    sim.invariant('count stays below 3', () => count < 3);
    let error: unknown;
    try {
      sim.runSync({ untilMs: 100 });
    } catch (e) {
      error = e;
    }
    expect(isInvariantViolationError(error)).toBe(true);
    const v = error as InvariantViolationError;
    expect(v.invariant).toBe('count stays below 3');
    expect(v.timeMs).toBe(3);
    expect(v.eventIndex).toBe(3);
    expect(v.seed).toBe('inv-1');
    expect(v.code).toBe('FAULTLINE_SIM_INVARIANT');
    expect(v.message).toMatch(/"count stays below 3".*3 ms.*event 3.*seed inv-1/);
  });

  it('checks invariants after promises settled in async runs', async () => {
    const sim = new Simulation({ seed: 5 });
    let x = 0;
    sim.node('a').start(async (n) => {
      await n.runtime.timers.sleep(10);
      x = 1;
    });
    sim.invariant('x is 0', () => x === 0);
    await expect(sim.run({ untilMs: 100 })).rejects.toBeInstanceOf(InvariantViolationError);
    expect(sim.nowMs).toBe(10);
  });

  it('an event that throws fails the run with the seed', () => {
    const sim = new Simulation({ seed: 77 });
    sim.node('a').runtime.timers.setTimer(4, () => {
      throw new Error('bug');
    });
    expect(() => sim.runSync()).toThrow(SimulationError);
    expect(() => {
      const s2 = new Simulation({ seed: 77 });
      s2.node('a').runtime.timers.setTimer(4, () => {
        throw new Error('bug');
      });
      s2.runSync();
    }).toThrow(/event handler threw at virtual time 4 ms.*seed 77/);
  });

  it('a run that exceeds maxEvents throws a limit error with the seed', () => {
    const sim = new Simulation({ seed: 12 });
    const a = sim.node('a');
    a.onMessage(() => a.send('a', 'again'));
    a.send('a', 'go');
    expect(() => sim.runSync({ maxEvents: 50 })).toThrow(SimulationLimitError);
    expect(() => sim.runSync({ maxEvents: 50 })).toThrow(/seed 12/);
  });

  it('validates options and names', () => {
    expect(() => new Simulation({ seed: 1, maxNodes: 0 })).toThrow(/maxNodes/);
    const sim = new Simulation({ seed: 1, maxNodes: 1 });
    sim.node('a');
    expect(() => sim.node('a')).toThrow(/name/);
    expect(() => sim.node('b')).toThrow(/nodes/);
    expect(() => sim.node('')).toThrow(/name/);
    expect(() => sim.runSync({ untilMs: -1 })).toThrow(/untilMs/);
    expect(() =>
      sim.schedule([{ atMs: 1, fault: { kind: 'loss', probability: 3, durationMs: 1 } }]),
    ).toThrow(/probability/);
  });
});

describe('Simulation faults', () => {
  it('scripted faults apply and end at their times', () => {
    const sim = new Simulation({ seed: 1, network: { latency: { kind: 'fixed', ms: 1 } } });
    const got: number[] = [];
    const a = sim.node('a');
    const b = sim.node('b');
    b.onMessage((m) => got.push(m.payload as number));
    sim.schedule([
      { atMs: 10, fault: { kind: 'partition', groups: [['a'], ['b']], durationMs: 10 } },
      { atMs: 40, fault: { kind: 'loss', probability: 1, durationMs: 10 } },
      { atMs: 60, fault: { kind: 'isolate', node: 'b' } },
      { atMs: 70, fault: { kind: 'heal' } },
    ]);
    for (let t = 5; t <= 75; t += 10) sim.scheduler.at(t, () => a.send('b', t));
    sim.runSync();
    expect(got).toEqual([5, 25, 35, 55, 75]);
    expect(sim.trace.events.filter((e) => e.kind === 'fault')).toHaveLength(4);
  });

  it('random schedules enable a seed-dependent subset of kinds (swarm testing)', () => {
    const subsets = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const sim = new Simulation({ seed });
      const s = randomFaultSchedule(sim.random.fork('faults'), {
        nodes: ['a', 'b', 'c'],
        durationMs: 1000,
      });
      expect(s.enabled.length).toBeGreaterThan(0);
      for (const f of s.faults) {
        expect(s.enabled).toContain(f.fault.kind);
        expect(f.atMs).toBeGreaterThanOrEqual(0);
        expect(f.atMs).toBeLessThan(1000);
      }
      subsets.add(s.enabled.join(','));
    }
    expect(subsets.size).toBeGreaterThan(10);
    const all = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const s = randomFaultSchedule(new Simulation({ seed }).random, {
        nodes: ['a', 'b'],
        durationMs: 100,
      });
      for (const k of s.enabled) all.add(k);
    }
    expect([...all].sort()).toEqual([...randomFaultKinds].sort());
  });
});

describe('buggify', () => {
  it('is always false under the system runtime or no runtime', () => {
    for (let i = 0; i < 100; i++) {
      expect(buggify(systemRuntime(), 'site', 1)).toBe(false);
      expect(buggify(undefined, 'site', 1)).toBe(false);
    }
  });

  it('rejects a probability outside [0, 1] everywhere, naming it', () => {
    const sim = new Simulation({ seed: 1, buggify: { enabled: true } });
    const rt = sim.node('a').runtime;
    for (const p of [-0.1, 1.5, Number.NaN]) {
      expect(() => buggify(systemRuntime(), 'site', p)).toThrow(/probability/);
      expect(() => buggify(rt, 'site', p)).toThrow(/probability/);
      expect(() => sim.buggify('site', p)).toThrow(RangeError);
    }
  });

  it('is false in a simulation that did not enable it', () => {
    const sim = new Simulation({ seed: 1 });
    const rt = sim.node('a').runtime;
    expect(buggify(rt, 'site', 1)).toBe(false);
    expect(sim.buggify('site', 1)).toBe(false);
  });

  it('enables sites per seed and fires from the seeded stream', () => {
    let enabledSeeds = 0;
    for (let seed = 0; seed < 100; seed++) {
      const sim = new Simulation({ seed, buggify: { enabled: true } });
      const rt = sim.node('a').runtime;
      const fires = Array.from({ length: 20 }, () => buggify(rt, 'disk.slow', 1));
      // A site is either on (fires with probability 1) or off for the whole run.
      expect(new Set(fires).size).toBe(1);
      if (fires[0]) enabledSeeds++;
      const again = new Simulation({ seed, buggify: { enabled: true } });
      expect(buggify(again.node('a').runtime, 'disk.slow', 1)).toBe(fires[0]);
    }
    expect(enabledSeeds).toBeGreaterThan(10);
    expect(enabledSeeds).toBeLessThan(45);
  });

  it('survives restarts (the new runtime is registered too)', () => {
    const sim = new Simulation({ seed: 1, buggify: { enabled: true, siteProbability: 1 } });
    const a = sim.node('a');
    a.restart();
    expect(buggify(a.runtime, 'x', 1)).toBe(true);
    expect(sim.buggifier.firedCount).toBe(1);
  });
});

describe('buggify site decisions', () => {
  it('do not depend on the order in which sites are first reached', () => {
    const decide = (order: string[]) => {
      const random = new SeededRandom(99);
      const controller = new BuggifyController(random, { enabled: true });
      const out = new Map<string, boolean>();
      for (const site of order) {
        random.next(); // other draws from the same stream must not matter
        out.set(site, controller.isSiteEnabled(site));
      }
      return [...out.entries()].sort();
    };
    const sites = Array.from({ length: 20 }, (_, i) => `s${i}`);
    expect(decide(sites)).toEqual(decide([...sites].reverse()));
  });
});

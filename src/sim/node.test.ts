import { describe, expect, it } from 'vitest';
import { Simulation } from './simulation.js';

describe('Node: pause', () => {
  it('defers timers, queues messages, and the clock keeps moving', () => {
    const sim = new Simulation({ seed: 1, network: { latency: { kind: 'fixed', ms: 1 } } });
    const a = sim.node('a');
    const b = sim.node('b');
    const log: string[] = [];
    b.onMessage((m) =>
      log.push(`msg ${String(m.payload)} @${sim.nowMs} clock ${b.clock.monotonicMs()}`),
    );
    b.runtime.timers.setTimer(5, () => log.push(`timer @${sim.nowMs}`));
    sim.runSync({ untilMs: 2 });
    b.pause(100);
    expect(b.state).toBe('paused');
    a.send('b', 'x');
    sim.runSync({ untilMs: 50 });
    expect(log).toEqual([]);
    expect(b.queued).toBe(1);
    expect(b.clock.monotonicMs()).toBe(50);
    sim.runSync({ untilMs: 200 });
    expect(b.state).toBe('running');
    expect(log).toEqual(['msg x @102 clock 102', 'timer @102']);
    const kinds = sim.trace.events.map((e) => e.kind);
    expect(kinds).toContain('pause');
    expect(kinds).toContain('resume');
  });

  it('a second pause extends to whichever ends later', () => {
    const sim = new Simulation({ seed: 1 });
    const a = sim.node('a');
    a.pause(10);
    sim.runSync({ untilMs: 5 });
    a.pause(20);
    sim.runSync({ untilMs: 15 });
    expect(a.state).toBe('paused');
    sim.runSync({ untilMs: 30 });
    expect(a.state).toBe('running');
  });

  it('a shorter second pause does not cut the first one short', () => {
    const sim = new Simulation({ seed: 1 });
    const a = sim.node('a');
    a.pause(50);
    sim.runSync({ untilMs: 10 });
    a.pause(5);
    sim.runSync({ untilMs: 40 });
    expect(a.state).toBe('paused');
    sim.runSync({ untilMs: 60 });
    expect(a.state).toBe('running');
  });

  it('keeps a link FIFO across a pause, even for arrivals at the resume instant', () => {
    const sim = new Simulation({ seed: 1, network: { latency: { kind: 'fixed', ms: 10 } } });
    const a = sim.node('a');
    const b = sim.node('b');
    const got: number[] = [];
    b.onMessage((m) => got.push(m.payload as number));
    b.pause(20);
    for (let i = 0; i < 3; i++) a.send('b', i);
    // Sent at 10, arrives at 20: the instant the pause ends.
    sim.scheduler.at(10, () => a.send('b', 3));
    sim.scheduler.at(25, () => a.send('b', 4));
    sim.runSync();
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect(b.queued).toBe(0);
  });

  it('a pause during the drain keeps the remaining messages in order', () => {
    const sim = new Simulation({ seed: 1, network: { latency: { kind: 'fixed', ms: 1 } } });
    const a = sim.node('a');
    const b = sim.node('b');
    const got: number[] = [];
    b.onMessage((m) => {
      got.push(m.payload as number);
      if (m.payload === 1) b.pause(10);
    });
    b.pause(5);
    for (let i = 0; i < 4; i++) a.send('b', i);
    sim.runSync();
    expect(got).toEqual([0, 1, 2, 3]);
    const resumes = sim.trace.events.filter((e) => e.kind === 'resume').map((e) => e.timeMs);
    expect(resumes).toEqual([5, 15]);
  });

  it('async code awaiting a sleep resumes only after the pause', async () => {
    const sim = new Simulation({ seed: 1 });
    const a = sim.node('a');
    const woke: number[] = [];
    a.start(async (node) => {
      await node.runtime.timers.sleep(10);
      woke.push(sim.nowMs);
    });
    sim.schedule([{ atMs: 5, fault: { kind: 'pause', node: 'a', durationMs: 30 } }]);
    await sim.run({ untilMs: 100 });
    expect(woke).toEqual([35]);
  });
});

describe('Node: crash and restart', () => {
  it('loses unsynced disk writes and keeps synced ones', async () => {
    const sim = new Simulation({ seed: 1 });
    const a = sim.node('a');
    a.disk.write('synced', 1);
    await a.disk.sync();
    a.disk.write('unsynced', 2);
    a.disk.delete('synced');
    expect(a.disk.read('unsynced')).toBe(2);
    expect(a.disk.has('synced')).toBe(false);
    a.crash();
    expect(a.disk.read('synced')).toBe(1);
    expect(a.disk.has('unsynced')).toBe(false);
  });

  it('a sync with latency that a crash interrupts is lost and never resolves', async () => {
    const sim = new Simulation({ seed: 1 });
    const a = sim.node('a', { disk: { syncLatencyMs: 5 } });
    let resolved = false;
    a.disk.write('k', 'v');
    void a.disk.sync().then(() => (resolved = true));
    sim.schedule([{ atMs: 3, fault: { kind: 'crash', node: 'a' } }]);
    await sim.run({ untilMs: 50 });
    expect(resolved).toBe(false);
    expect(a.disk.read('k')).toBeUndefined();
    expect(a.disk.durableSnapshot().size).toBe(0);
    a.restart();
    a.disk.write('k', 'v2');
    // Written is not durable: readDurable sees what a crash now would keep.
    expect(a.disk.readDurable('k')).toBeUndefined();
    await Promise.all([a.disk.sync(), sim.run({ untilMs: 100 })]);
    expect(resolved).toBe(false);
    expect(a.disk.durableSnapshot().get('k')).toBe('v2');
    expect(a.disk.readDurable('k')).toBe('v2');
  });

  it('resets timers, drops handlers and messages, bumps the generation, and restarts', () => {
    const sim = new Simulation({ seed: 1, network: { latency: { kind: 'fixed', ms: 1 } } });
    const a = sim.node('a');
    const b = sim.node('b');
    const log: string[] = [];
    b.start((node) => {
      const gen = node.generation;
      log.push(`start gen ${gen} @${sim.nowMs}`);
      node.onMessage((m) => log.push(`gen ${gen} got ${String(m.payload)}`));
      node.runtime.timers.setTimer(10, () => log.push(`timer gen ${gen}`));
    });
    sim.runSync({ untilMs: 2 });
    const stale = b.runtime;
    const staleTransport = b.transport;
    b.crash();
    expect(b.generation).toBe(1);
    expect(b.isCurrent(0)).toBe(false);
    a.send('b', 'while down');
    sim.runSync({ untilMs: 5 });
    stale.timers.setTimer(1, () => log.push('stale timer'));
    staleTransport.send('a', 'stale send');
    b.restart();
    a.send('b', 'after restart');
    sim.runSync({ untilMs: 100 });
    expect(log).toEqual([
      'start gen 0 @0',
      'start gen 1 @5',
      'gen 1 got after restart',
      'timer gen 1',
    ]);
    expect(sim.trace.events.some((e) => e.kind === 'drop' && e.detail === 'crashed')).toBe(true);
    expect(sim.trace.events.some((e) => e.kind === 'send' && e.node === 'b')).toBe(false);
    expect(b.runtime).not.toBe(stale);
  });

  it('a crash fault with restartAfterMs restarts the node', async () => {
    const sim = new Simulation({ seed: 1 });
    const a = sim.node('a');
    let starts = 0;
    a.start(() => void starts++);
    sim.schedule([{ atMs: 10, fault: { kind: 'crash', node: 'a', restartAfterMs: 20 } }]);
    await sim.run({ untilMs: 15 });
    expect(a.state).toBe('crashed');
    await sim.run({ untilMs: 40 });
    expect(a.state).toBe('running');
    expect(starts).toBe(2);
  });

  it('a start function that throws fails the run, naming the seed', async () => {
    const sim = new Simulation({ seed: 'boom' });
    sim.node('a').start(async () => {
      await Promise.resolve();
      throw new Error('broken start');
    });
    await expect(sim.run()).rejects.toThrow(/code under test failed.*seed boom/);
  });
});

describe('Node: clocks', () => {
  it('wall clock steps backwards while monotonic time does not decrease', () => {
    const sim = new Simulation({ seed: 1 });
    const a = sim.node('a', { offsetMs: 1000 });
    const b = sim.node('b');
    sim.runSync({ untilMs: 100 });
    const wall = a.clock.wallMs();
    const mono = a.clock.monotonicMs();
    // The offset shifts the wall clock only: the two nodes share monotonic time here.
    expect(wall - b.clock.wallMs()).toBe(1000);
    expect(mono).toBe(b.clock.monotonicMs());
    sim.inject({ kind: 'clock-step', node: 'a', deltaMs: -5000 });
    expect(a.clock.wallMs()).toBe(wall - 5000);
    expect(a.clock.monotonicMs()).toBe(mono);
    sim.runSync({ untilMs: 200 });
    expect(a.clock.monotonicMs()).toBe(200);
    expect(a.clock.wallMs()).toBe(wall - 5000 + 100);
  });

  it('drift changes the rate of the node clock and of its timers', () => {
    const sim = new Simulation({ seed: 1 });
    const a = sim.node('a');
    sim.inject({ kind: 'drift', node: 'a', driftPpm: 100_000 });
    let firedAt = -1;
    a.runtime.timers.setTimer(110, () => (firedAt = sim.nowMs));
    sim.runSync({ untilMs: 1000 });
    expect(firedAt).toBeCloseTo(100, 6);
    expect(a.clock.monotonicMs()).toBeCloseTo(1100, 6);
  });
});

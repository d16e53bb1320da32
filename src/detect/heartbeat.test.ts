import { describe, expect, it } from 'vitest';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import { FailureDetectorRegistry } from './detector.js';
import { HeartbeatSender, TimeoutDetector } from './heartbeat.js';

function setup() {
  const scheduler = new Scheduler({ seed: 11 });
  return { scheduler, runtime: createSimRuntime(scheduler, 'monitor') };
}

describe('TimeoutDetector', () => {
  it('is available before the first heartbeat and until the timeout passes', () => {
    const { scheduler, runtime } = setup();
    const d = new TimeoutDetector({ timeoutMs: 1000, runtime });
    expect(d.isMonitoring).toBe(false);
    expect(d.isAvailable()).toBe(true);
    d.heartbeat();
    scheduler.runFor(1000);
    expect(d.isAvailable()).toBe(true); // exactly at the timeout: still available
    scheduler.runFor(1);
    expect(d.isAvailable()).toBe(false);
    expect(d.sinceLastHeartbeatMs()).toBe(1001);
    d.heartbeat();
    expect(d.isAvailable()).toBe(true);
    expect(() => new TimeoutDetector({ timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});

describe('HeartbeatSender', () => {
  it('beats every interval until closed and leaves no timer behind', () => {
    const { scheduler, runtime } = setup();
    const beats: number[] = [];
    const errors: unknown[] = [];
    const sender = new HeartbeatSender({
      intervalMs: 100,
      runtime,
      send: () => {
        beats.push(scheduler.nowMs);
        if (beats.length === 2) throw new Error('send failed');
      },
      onError: (e) => errors.push(e),
    });
    scheduler.runFor(350);
    expect(beats).toEqual([0, 100, 200, 300]);
    expect(errors).toHaveLength(1);
    sender.close();
    expect(runtime.timers.pending).toBe(0);
    scheduler.runFor(1000);
    expect(beats).toHaveLength(4);
    expect(() => new HeartbeatSender({ intervalMs: -1, send: () => undefined, runtime })).toThrow(
      /intervalMs/,
    );
    expect(() => new HeartbeatSender({ intervalMs: 1, send: 'x' as never, runtime })).toThrow(
      /send/,
    );
    expect(
      () =>
        new HeartbeatSender({ intervalMs: 1, send: () => undefined, onError: 1 as never, runtime }),
    ).toThrow(/onError/);
    expect(runtime.timers.pending).toBe(0); // a rejected sender schedules nothing
  });
});

describe('FailureDetectorRegistry', () => {
  it('creates one detector per node, bounded, and forgets removed nodes', () => {
    const { scheduler, runtime } = setup();
    const registry = new FailureDetectorRegistry(
      (_node: string) => new TimeoutDetector({ timeoutMs: 500, runtime }),
      { maxNodes: 2 },
    );
    registry.heartbeat('a');
    registry.heartbeat('b');
    expect(() => registry.heartbeat('c')).toThrow(/maxNodes/);
    scheduler.runFor(400);
    registry.heartbeat('a');
    scheduler.runFor(400);
    expect(registry.isAvailable('a')).toBe(true);
    expect(registry.isAvailable('b')).toBe(false);
    expect(registry.isAvailable('unknown')).toBe(true);
    expect(registry.isMonitoring('b')).toBe(true);
    registry.remove('b');
    expect(registry.isMonitoring('b')).toBe(false);
    expect(registry.size).toBe(1);
    expect(registry.get('a')).toBeInstanceOf(TimeoutDetector);
    expect(registry.get('b')).toBeUndefined();
    expect(
      () => new FailureDetectorRegistry(undefined as unknown as () => TimeoutDetector),
    ).toThrow(/create/);
  });
});

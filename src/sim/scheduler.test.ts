import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Scheduler, SimulationLimitError } from './scheduler.js';

describe('Scheduler', () => {
  it('runs events in (time, insertion) order and advances virtual time', () => {
    const s = new Scheduler({ seed: 1 });
    const log: string[] = [];
    s.after(10, () => log.push(`b@${s.nowMs}`));
    s.after(5, () => log.push(`a@${s.nowMs}`));
    s.after(10, () => log.push(`c@${s.nowMs}`));
    s.post(0, (x: string) => log.push(`${x}@${s.nowMs}`), 'z');
    expect(s.pending).toBe(4);
    expect(s.runUntilIdle()).toBe(4);
    expect(log).toEqual(['z@0', 'a@5', 'b@10', 'c@10']);
    expect(s.eventsExecuted).toBe(4);
    expect(s.pending).toBe(0);
  });

  it('cancels events; cancelling twice or after running does nothing', () => {
    const s = new Scheduler({ seed: 1 });
    const log: number[] = [];
    const c1 = s.after(1, () => log.push(1));
    const c2 = s.after(2, () => log.push(2));
    s.after(3, () => log.push(3));
    c2();
    c2();
    expect(s.pending).toBe(2);
    s.runUntilIdle();
    c1();
    expect(log).toEqual([1, 3]);
    expect(s.pending).toBe(0);
    expect(s.peekTimeMs()).toBeUndefined();
  });

  it('a cancelled slot reused later is not cancelled by the stale handle', () => {
    const s = new Scheduler({ seed: 1 });
    const log: string[] = [];
    const cancel = s.after(1, () => log.push('old'));
    cancel();
    s.runUntilIdle();
    s.after(1, () => log.push('new'));
    cancel();
    s.runUntilIdle();
    expect(log).toEqual(['new']);
  });

  it('rejects times in the past, NaN and infinity', () => {
    const s = new Scheduler({ seed: 1 });
    s.runFor(10);
    expect(() => s.at(5, () => undefined)).toThrow(/timeMs/);
    expect(() => s.at(Number.NaN, () => undefined)).toThrow(RangeError);
    expect(() => s.at(Number.POSITIVE_INFINITY, () => undefined)).toThrow(RangeError);
    expect(() => s.after(-1, () => undefined)).toThrow(/delayMs/);
    expect(() => new Scheduler({ seed: Number.NaN })).toThrow(/seed/);
    expect(() => new Scheduler({ seed: 1, maxPendingEvents: 0 })).toThrow(/maxPendingEvents/);
  });

  it('bounds pending events and names the seed', () => {
    const s = new Scheduler({ seed: 'bound', maxPendingEvents: 3 });
    for (let i = 0; i < 3; i++) s.after(i, () => undefined);
    expect(() => s.after(1, () => undefined)).toThrow(SimulationLimitError);
    expect(() => s.after(1, () => undefined)).toThrow(/seed bound/);
  });

  it('runFor stops at the deadline and sets the time', () => {
    const s = new Scheduler({ seed: 1 });
    const log: number[] = [];
    s.after(5, () => log.push(5));
    s.after(15, () => log.push(15));
    s.runFor(10);
    expect(log).toEqual([5]);
    expect(s.nowMs).toBe(10);
    s.advanceTo(20);
    expect(s.nowMs).toBe(10);
    s.advanceTo(12);
    expect(s.nowMs).toBe(12);
  });

  it('run() lets promise continuations settle between events', async () => {
    const s = new Scheduler({ seed: 1 });
    const log: string[] = [];
    const sleep = (ms: number) => new Promise<void>((r) => s.after(ms, r));
    const task = async (name: string, ms: number) => {
      await sleep(ms);
      log.push(`${name}@${s.nowMs}`);
      await sleep(ms);
      log.push(`${name}@${s.nowMs}`);
    };
    void task('a', 3);
    void task('b', 2);
    await s.run({ untilMs: 100 });
    expect(log).toEqual(['b@2', 'a@3', 'b@4', 'a@6']);
    expect(s.nowMs).toBe(100);
  });

  it('matches a sorted reference under random insertions and cancellations (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            t: fc.integer({ min: 0, max: 50 }),
            cancel: fc.boolean(),
            nested: fc.nat(3),
          }),
          {
            maxLength: 300,
          },
        ),
        (ops) => {
          const s = new Scheduler({ seed: 1 });
          const ran: number[] = [];
          const expected: { t: number; seq: number; id: number }[] = [];
          let seq = 0;
          ops.forEach((op, id) => {
            const cancel = s.at(op.t, () => ran.push(id));
            if (op.cancel) cancel();
            else expected.push({ t: op.t, seq: seq, id });
            seq++;
          });
          s.runUntilIdle();
          expected.sort((a, b) => a.t - b.t || a.seq - b.seq);
          expect(ran).toEqual(expected.map((e) => e.id));
        },
      ),
    );
  });

  it('grows past its initial capacity and keeps order', () => {
    const s = new Scheduler({ seed: 1 });
    const out: number[] = [];
    for (let i = 0; i < 5000; i++)
      s.post((i * 7919) % 1000, (x: number) => out.push(x), (i * 7919) % 1000);
    s.runUntilIdle();
    expect(out.length).toBe(5000);
    for (let i = 1; i < out.length; i++) expect(out[i]!).toBeGreaterThanOrEqual(out[i - 1]!);
  });

  it('drops cancelled events from the heap when they outnumber live ones, keeping the order', () => {
    const s = new Scheduler({ seed: 1 });
    const heapSize = (): number => (s as unknown as { size: number }).size;
    const ran: number[] = [];
    const expected: { t: number; id: number }[] = [];
    // Timeouts armed far ahead and cancelled: without compaction the heap would hold all 20000.
    for (let id = 0; id < 20000; id++) {
      const t = 1000 + ((id * 7919) % 5000);
      const cancel = s.at(t, () => ran.push(id));
      if (id % 10 === 0) expected.push({ t, id });
      else cancel();
      expect(heapSize()).toBeLessThanOrEqual(2 * s.pending + 1024);
    }
    expect(s.pending).toBe(2000);
    s.runUntilIdle();
    expected.sort((a, b) => a.t - b.t || a.id - b.id);
    expect(ran).toEqual(expected.map((e) => e.id));
  });
});

describe('Scheduler.runUntilSettled', () => {
  it('runs until the promise settles and returns its value at that virtual time', async () => {
    const s = new Scheduler({ seed: 'settle' });
    const p = new Promise<number>((resolve) => s.after(250, () => resolve(s.nowMs)));
    s.after(10_000, () => undefined);
    await expect(s.runUntilSettled(p)).resolves.toBe(250);
    expect(s.nowMs).toBe(250);
    expect(s.pending).toBe(1);
  });

  it('passes a rejection through', async () => {
    const s = new Scheduler({ seed: 1 });
    const p = new Promise<never>((_, reject) => s.after(5, () => reject(new Error('boom'))));
    await expect(s.runUntilSettled(p)).rejects.toThrow('boom');
  });

  it('fails with the seed instead of hanging on a promise that never settles', async () => {
    const s = new Scheduler({ seed: 77 });
    const never = new Promise<void>(() => undefined);
    const error = await s.runUntilSettled(never, 1_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SimulationLimitError);
    expect(String(error)).toMatch(/seed 77/);
  });
});

import { describe, it, expect } from 'vitest';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import { Election, candidateOf, checkElectionTiming } from './election.js';
import type { Demotion } from './election.js';
import { MemoryLockBackend } from './memory.js';
import type { LeaderEvent, LockBackend } from './types.js';
import { isNotLeaderError } from './errors.js';

const drive = <T>(s: Scheduler, p: Promise<T>, forMs?: number): Promise<T> =>
  s.runUntilSettled(p, forMs);

const timing = { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 };

function setup() {
  const scheduler = new Scheduler({ seed: 11 });
  const server = createSimRuntime(scheduler, 'server');
  const backend = new MemoryLockBackend({ runtime: server });
  const make = (id: string) =>
    new Election(backend, {
      key: 'leader',
      candidateId: id,
      runtime: createSimRuntime(scheduler, id),
      ...timing,
    });
  return { scheduler, server, backend, make };
}

describe('Election', () => {
  it("validates client-go's timing rule and the candidate id", () => {
    const backend = new MemoryLockBackend();
    expect(() =>
      checkElectionTiming({
        key: 'k',
        candidateId: 'a',
        leaseDurationMs: 1_000,
        renewDeadlineMs: 1_000,
      }),
    ).toThrow(/leaseDurationMs.*1000/);
    expect(() =>
      checkElectionTiming({
        key: 'k',
        candidateId: 'a',
        leaseDurationMs: 5_000,
        renewDeadlineMs: 1_200,
        retryPeriodMs: 1_000,
      }),
    ).toThrow(/renewDeadlineMs.*1200/);
    expect(checkElectionTiming({ key: 'k', candidateId: 'a' })).toEqual({
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
    expect(() => new Election(backend, { key: 'k', candidateId: 'a/b' })).toThrow(/candidateId/);
    expect(() => new Election(backend, { key: '', candidateId: 'a' })).toThrow(/key/);
    expect(candidateOf('00ff/pod-1')).toBe('pod-1');
  });

  it('elects one leader, hands over on resign with a higher term, and reports it to observers', async () => {
    const { scheduler, make } = setup();
    const a = make('a');
    const b = make('b');
    const seen: LeaderEvent[] = [];
    const sub = b.observe((e) => seen.push(e));
    const first = await drive(scheduler, a.campaign());
    const second = b.campaign();
    await scheduler.run({ untilMs: scheduler.nowMs + 2_000 });
    expect(a.leadership?.term).toBe(first.term);
    expect(b.leadership).toBeUndefined();
    await a.resign();
    const next = await drive(scheduler, second);
    expect(next.term > first.term).toBe(true);
    await scheduler.run({ untilMs: scheduler.nowMs + 500 });
    sub.dispose();
    const leaders = seen
      .filter((e) => e.kind === 'leader')
      .map((e) => (e.kind === 'leader' ? e.candidateId : ''));
    expect(leaders).toEqual(['a', 'b']);
    await Promise.all([a.close(), b.close()]);
  });

  it('steps down within renewDeadlineMs when renewals fail, before the lease expires on the server', async () => {
    const { scheduler, make, backend } = setup();
    const a = make('a');
    const demotions: Demotion[] = [];
    a.onDemoted((d) => demotions.push(d));
    const leadership = await drive(scheduler, a.campaign());
    const electedAt = scheduler.nowMs;
    // Every renewal fails from now on, as if the leader were cut off from the backend.
    const original = backend.extend.bind(backend);
    backend.extend = () => Promise.reject(new Error('network down'));
    await scheduler.run({ until: () => demotions.length > 0, untilMs: electedAt + 3_000 });
    backend.extend = original;
    expect(demotions).toEqual([{ term: leadership.term, reason: 'unreachable' }]);
    // Last successful renewal was the grant itself: the step-down comes within renewDeadlineMs.
    expect(scheduler.nowMs - electedAt).toBeLessThanOrEqual(timing.renewDeadlineMs);
    const holder = await backend.holder('leader', { signal: new AbortController().signal });
    expect(holder?.token).toBe(leadership.term); // the server still had it: stepped down early
    await a.close();
  });

  it('lets a follower take over after the leader crashes, with a higher term', async () => {
    const { scheduler, make } = setup();
    const a = make('a');
    const b = make('b');
    const elected: bigint[] = [];
    b.onElected((l) => elected.push(l.term));
    const first = await drive(scheduler, a.campaign());
    const takeover = b.campaign();
    // The leader's process dies: its timers (watchdog) are gone, nobody renews.
    (
      a as unknown as { options: { runtime: { timers: { reset(): void } } } }
    ).options.runtime.timers.reset();
    const second = await drive(scheduler, takeover);
    expect(second.term > first.term).toBe(true);
    expect(elected).toEqual([second.term]);
    expect(first.valid).toBe(false);
    await b.close();
  });
});

describe('Election on a backend with anchored queued grants', () => {
  it('confirms a grant that waited most of renewDeadlineMs instead of electing a leader about to expire', async () => {
    // An etcd-like backend: queued grants are anchored at the request's send time and carry the
    // TTL requested plus the time waited. Timing 600/400/100: A leads, B queues, A resigns after
    // 370 ms, so B's grant has only ~30 ms of its 400 ms renew deadline left when it arrives.
    const scheduler = new Scheduler({ seed: 5 });
    const server = createSimRuntime(scheduler, 'server');
    const inner = new MemoryLockBackend({ runtime: server });
    const backend: LockBackend = {
      name: 'anchored',
      guarantees: inner.guarantees,
      tryAcquire: (k, o, t, c) => inner.tryAcquire(k, o, t, c),
      acquireQueued: async (k, o, t, c) => {
        const sentAt = server.clock.monotonicMs();
        const r = await inner.acquireQueued(k, o, t, c);
        if (r.kind !== 'acquired') return r;
        return { ...r, anchored: true, ttlMs: t + (server.clock.monotonicMs() - sentAt) };
      },
      extend: (k, o, tok, t, c) => inner.extend(k, o, tok, t, c),
      release: (k, o, c) => inner.release(k, o, c),
      holder: (k, c) => inner.holder(k, c),
      waitForChange: (k, c) => inner.waitForChange(k, c),
    };
    const fast = { leaseDurationMs: 600, renewDeadlineMs: 400, retryPeriodMs: 100 };
    const make = (id: string) =>
      new Election(backend, {
        key: 'primary',
        candidateId: id,
        runtime: createSimRuntime(scheduler, id),
        ...fast,
      });
    const a = make('a');
    const b = make('b');
    const demoted: Demotion[] = [];
    b.onDemoted((d) => demoted.push(d));
    await drive(scheduler, a.campaign());
    const queued = b.campaign();
    await scheduler.run({ untilMs: scheduler.nowMs + 370 });
    await a.resign();
    const won = await drive(scheduler, queued);
    await scheduler.run({ untilMs: scheduler.nowMs + 1_000 });
    expect(demoted).toEqual([]);
    expect(won.valid).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('Election campaigns', () => {
  it('shares one campaign between callers; a later caller’s abort only ends its own wait', async () => {
    const { scheduler, make } = setup();
    const a = make('a');
    const b = make('b');
    await drive(scheduler, a.campaign());
    const first = b.campaign();
    const controller = new AbortController();
    const second = b.campaign({ signal: controller.signal });
    controller.abort(new Error('not me'));
    await expect(second).rejects.toThrow('not me');
    await a.resign();
    const won = await drive(scheduler, first);
    expect(b.leadership).toBe(won);
    expect(await drive(scheduler, b.campaign())).toBe(won);
    await Promise.all([a.close(), b.close()]);
  });

  it('proclaims a value without a new election; observers see it; a non-leader gets NotLeaderError', async () => {
    const { scheduler, make } = setup();
    const a = make('a');
    const b = make('b');
    const seen: LeaderEvent[] = [];
    const sub = b.observe((e) => seen.push(e));
    const won = await drive(scheduler, a.campaign());
    const waiting = b.campaign();
    await expect(b.proclaim('b-addr')).rejects.toSatisfy(isNotLeaderError);
    await drive(scheduler, a.proclaim('addr-1'));
    await scheduler.run({ untilMs: scheduler.nowMs + 100 });
    await drive(scheduler, a.proclaim('addr-2'));
    await scheduler.run({ untilMs: scheduler.nowMs + 100 });
    expect(a.leadership).toBe(won);
    expect(b.leadership).toBeUndefined();
    expect(await drive(scheduler, b.leader())).toEqual({
      kind: 'leader',
      candidateId: 'a',
      term: won.term,
      value: 'addr-2',
    });
    const values = seen.flatMap((e) => (e.kind === 'leader' ? [[e.term, e.value]] : []));
    expect(values).toEqual([
      [won.term, undefined],
      [won.term, 'addr-1'],
      [won.term, 'addr-2'],
    ]);
    await a.resign();
    const next = await drive(scheduler, waiting);
    // The value belongs to a term: the next leader starts without one, the old one cannot write.
    expect(await drive(scheduler, a.leader())).toEqual({
      kind: 'leader',
      candidateId: 'b',
      term: next.term,
    });
    await expect(a.proclaim('late')).rejects.toSatisfy(isNotLeaderError);
    sub.dispose();
    await Promise.all([a.close(), b.close()]);
  });

  it('refuses a bad proclaimed value and a backend that cannot proclaim', async () => {
    const { make } = setup();
    const a = make('a');
    await expect(a.proclaim('\ud800')).rejects.toThrow(/value.*lone surrogate/);
    await expect(a.proclaim('x'.repeat(65_537))).rejects.toThrow(RangeError);
    await expect(a.proclaim(42 as unknown as string)).rejects.toThrow(/value/);
    const plain = new MemoryLockBackend();
    const bare: LockBackend = {
      name: 'bare',
      guarantees: plain.guarantees,
      tryAcquire: (...args) => plain.tryAcquire(...args),
      extend: (...args) => plain.extend(...args),
      release: (...args) => plain.release(...args),
      holder: (...args) => plain.holder(...args),
      waitForChange: (...args) => plain.waitForChange(...args),
    };
    const c = new Election(bare, { key: 'k', candidateId: 'c', ...timing });
    await expect(c.proclaim('v')).rejects.toThrow(TypeError);
    await Promise.all([a.close(), c.close(), plain.close()]);
  });
});

/**
 * etcd election `proclaim` against a real single-member etcd: the leader rewrites its value in its
 * own key (same create revision, so the same term), followers observing the election see each
 * value, a queued follower is not woken by it, and a non-leader (or a stale leader) is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { EtcdLockBackend } from '../../src/adapters/etcd/index.js';
import { Election } from '../../src/coord/election.js';
import { isNotLeaderError } from '../../src/coord/errors.js';
import type { LeaderEvent } from '../../src/coord/types.js';
import { etcd } from '../services/index.js';
import type { EtcdCluster } from '../services/index.js';

let cluster: EtcdCluster;
let client: Etcd3;

beforeAll(async () => {
  cluster = await etcd({ members: 1 });
  client = new Etcd3({ hosts: cluster.endpoints });
});

afterAll(async () => {
  client?.close();
  await cluster?.cleanup();
});

const timing = { leaseDurationMs: 6000, renewDeadlineMs: 4000, retryPeriodMs: 1000 };

/** Collects observed events and resolves a wait as soon as one matches (no guessed sleeps). */
function recorder() {
  const events: LeaderEvent[] = [];
  const pending: { match: (e: LeaderEvent) => boolean; resolve: () => void }[] = [];
  const listener = (e: LeaderEvent): void => {
    events.push(e);
    for (const p of [...pending]) {
      if (p.match(e)) {
        pending.splice(pending.indexOf(p), 1);
        p.resolve();
      }
    }
  };
  const until = (match: (e: LeaderEvent) => boolean): Promise<void> =>
    events.some(match)
      ? Promise.resolve()
      : new Promise((resolve) => pending.push({ match, resolve }));
  return { events, listener, until };
}

describe('etcd election proclaim', () => {
  it('updates the leader value without a new election; followers see it; others are refused', async () => {
    const backendA = new EtcdLockBackend({ client, prefix: 'proclaim/' });
    const backendB = new EtcdLockBackend({ client, prefix: 'proclaim/' });
    const a = new Election(backendA, { key: 'svc', candidateId: 'a', ...timing });
    const b = new Election(backendB, { key: 'svc', candidateId: 'b', ...timing });
    const seen = recorder();
    const sub = b.observe(seen.listener);
    try {
      const won = await a.campaign();
      const waiting = b.campaign();
      let bElected = false;
      void waiting.then(() => (bElected = true)).catch(() => undefined);
      // Wait until b's contender key is queued behind a's.
      for (let i = 0; (await client.getAll().prefix('proclaim/svc/').keys()).length < 2; i++) {
        expect(i).toBeLessThan(500);
        await new Promise((r) => setTimeout(r, 10));
      }
      const proclaimed = (v: string) => (e: LeaderEvent) =>
        e.kind === 'leader' && e.term === won.term && e.value === v;

      await expect(b.proclaim('b-addr')).rejects.toSatisfy(isNotLeaderError);
      await a.proclaim('10.0.0.1:80');
      await seen.until(proclaimed('10.0.0.1:80'));
      await a.proclaim('10.0.0.2:80');
      await seen.until(proclaimed('10.0.0.2:80'));

      // Same term, same lease, no new election; the queued follower is still waiting.
      expect(a.leadership).toBe(won);
      expect(b.leadership).toBeUndefined();
      expect(bElected).toBe(false);
      expect(await b.leader()).toEqual({
        kind: 'leader',
        candidateId: 'a',
        term: won.term,
        value: '10.0.0.2:80',
      });
      const leaderEvents = seen.events.filter((e) => e.kind === 'leader');
      expect(leaderEvents.every((e) => e.kind === 'leader' && e.term === won.term)).toBe(true);

      // The server refuses the old term's owner once it is gone, even through the raw SPI.
      const stale = { owner: won.owner, token: won.term };
      await a.resign();
      const next = await waiting;
      expect(next.term).toBeGreaterThan(won.term);
      await expect(a.proclaim('late')).rejects.toSatisfy(isNotLeaderError);
      expect(
        await backendA.proclaim('svc', stale.owner, stale.token, 'late', {
          signal: new AbortController().signal,
        }),
      ).toEqual({ kind: 'not-holder' });
      await seen.until((e) => e.kind === 'leader' && e.term === next.term);
      expect(await a.leader()).toEqual({ kind: 'leader', candidateId: 'b', term: next.term });
      // A wrong token for the live holder's key writes nothing either.
      expect(
        await backendB.proclaim('svc', next.owner, next.term + 1n, 'forged', {
          signal: new AbortController().signal,
        }),
      ).toEqual({ kind: 'not-holder' });
      await b.proclaim('b-addr');
      await seen.until((e) => e.kind === 'leader' && e.term === next.term && e.value === 'b-addr');
    } finally {
      sub.dispose();
      await a.close();
      await b.close();
      await backendA.close();
      await backendB.close();
    }
  });
});

/**
 * Leader election on a real 3-member etcd cluster while members die: exactly one leader per term,
 * terms (create revisions) increase with every new leader, and observers see the leader.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import type { IOptions } from 'etcd3';
import { EtcdLockBackend } from '../../src/adapters/etcd/index.js';
import { Election } from '../../src/coord/election.js';
import type { Leadership } from '../../src/coord/types.js';
import { etcd } from '../services/index.js';
import type { EtcdCluster } from '../services/index.js';

let cluster: EtcdCluster;

beforeAll(async () => {
  cluster = await etcd({ members: 3 });
});

afterAll(async () => {
  await cluster?.cleanup();
});

interface Candidate {
  readonly id: string;
  readonly client: Etcd3;
  readonly backend: EtcdLockBackend;
  readonly election: Election;
}

/** cockatiel's no-op policy (etcd3 bundles an older cockatiel whose types differ; same shape). */
const noPolicy = (() => noop) as unknown as NonNullable<
  NonNullable<IOptions['faultHandling']>['host']
>;

function candidate(id: string): Candidate {
  // etcd3's default per-host circuit breaker skips a host for 5 s after 3 failed calls: while etcd
  // elects a new leader every member fails, so every host would be skipped for longer than the
  // renew deadline. Without it, the global retry still moves each call to another member.
  const client = new Etcd3({ hosts: cluster.endpoints, faultHandling: { host: noPolicy } });
  const backend = new EtcdLockBackend({ client, prefix: 'election/' });
  const election = new Election(backend, {
    key: 'primary',
    candidateId: id,
    // A killed member may be etcd's leader: its re-election (500 ms timeout, longer on a loaded
    // machine) must fit in renewDeadlineMs, or the leader rightly steps down and the test fails.
    leaseDurationMs: 6000,
    renewDeadlineMs: 4000,
    retryPeriodMs: 500,
    callTimeoutMs: 1500,
  });
  return { id, client, backend, election };
}

/** Extends, retrying a failed call a few times 100 ms apart (well within the renew deadline). */
async function extendWithRetry(leadership: Leadership): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await leadership.extend();
      return;
    } catch (error) {
      if (attempt >= 5 || !leadership.valid) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('Election over a 3-member etcd cluster', () => {
  it('elects one leader per term with increasing terms while members are killed', async () => {
    const candidates = ['a', 'b', 'c'].map(candidate);
    const elected: { id: string; term: bigint }[] = [];
    for (const c of candidates)
      c.election.onElected((l) => elected.push({ id: c.id, term: l.term }));
    const observed: string[] = [];
    const observer = candidates[0]!.election.observe((e) => {
      if (e.kind === 'leader') observed.push(e.candidateId);
    });
    try {
      const campaigns = new Map<string, Promise<Leadership>>();
      const campaign = (c: Candidate) => campaigns.set(c.id, c.election.campaign());
      for (const c of candidates) campaign(c);
      for (let round = 0; round < 4; round++) {
        const [winnerId, leadership] = await Promise.race(
          [...campaigns].map(([id, p]) => p.then((l) => [id, l] as const)),
        );
        campaigns.delete(winnerId);
        // Exactly one candidate believes it leads.
        const leaders = candidates.filter((c) => c.election.leadership !== undefined);
        expect(leaders.map((c) => c.id)).toEqual([winnerId]);
        // Kill one etcd member (a different one each round) while the others wait to take over.
        const victim = cluster.members[round % 3]!;
        await victim.kill();
        const winner = candidates.find((c) => c.id === winnerId)!;
        // The leader keeps its term through the member's death (a call that happened to go to
        // the dead member may fail once; the client moves to another endpoint).
        await extendWithRetry(leadership);
        expect(leadership.valid).toBe(true);
        await winner.election.resign();
        expect(leadership.valid).toBe(false);
        campaign(winner);
        victim.launch();
        await victim.waitHealthy();
      }
      await Promise.race(campaigns.values());
    } finally {
      observer.dispose();
      for (const c of candidates) {
        await c.election.close();
        await c.backend.close();
        c.client.close();
      }
    }
    expect(elected.length).toBeGreaterThanOrEqual(5);
    const terms = elected.map((e) => e.term);
    for (let i = 1; i < terms.length; i++) expect(terms[i]!).toBeGreaterThan(terms[i - 1]!);
    expect(new Set(terms).size).toBe(terms.length);
    expect(observed.length).toBeGreaterThan(0);
  });
});

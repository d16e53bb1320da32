import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../core/random.js';
import { RaftHarness } from './harness.js';
import { RaftNode } from './raft.js';
import type { RaftMessage } from './types.js';

const three = (options: ConstructorParameters<typeof RaftHarness>[0]['options'] = {}) =>
  new RaftHarness({ ids: ['a', 'b', 'c'], options });

function elect(h: RaftHarness, id: string): void {
  h.campaign(id);
  h.stabilize();
  expect(h.leader()).toBe(id);
}

describe('§5.2 leader election', () => {
  it('a member that times out campaigns and wins with a majority; the others follow', () => {
    const h = three({ preVote: false });
    h.tick('a', 20); // at least the largest randomized timeout (2 × electionTicks - 1)
    h.stabilize();
    expect(h.leader()).toBe('a');
    expect(h.node('a').term).toBe(1);
    expect(h.node('b').leader).toBe('a');
    expect(h.node('c').leader).toBe('a');
  });

  it('a member votes at most once per term (first come, first served)', () => {
    const h = three({ preVote: false });
    h.campaign('a');
    h.campaign('b');
    // c gets a's request first, grants it, and must reject b's of the same term.
    h.deliver((m) => m.to === 'c' && m.from === 'a');
    h.deliver((m) => m.to === 'c' && m.from === 'b');
    const answers = h.pending.filter(
      (m): m is Extract<RaftMessage, { type: 'vote-resp' }> =>
        m.type === 'vote-resp' && m.from === 'c',
    );
    expect(answers.map((m) => [m.to, m.reject])).toEqual([
      ['a', false],
      ['b', true],
    ]);
  });

  it('the randomized election timeout lies in [electionTicks, 2 × electionTicks)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const node = new RaftNode({
        id: 'a',
        voters: ['a', 'b', 'c'],
        electionTicks: 10,
        preVote: false,
        random: new SeededRandom(seed),
      });
      let ticks = 0;
      while (node.role === 'follower' && ticks < 100) {
        node.tick();
        ticks++;
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
    }
  });

  it('a single-member cluster elects itself at once', () => {
    const h = new RaftHarness({ ids: ['solo'] });
    h.campaign('solo');
    expect(h.leader()).toBe('solo');
    expect(h.propose('solo', 'x')).toBe(2);
    expect(h.node('solo').commitIndex).toBe(2);
  });
});

describe('§5.3 log replication', () => {
  it('replicates and commits a proposal, and every member applies the same entries', () => {
    const h = three();
    elect(h, 'a');
    expect(h.propose('a', 'x')).toBe(2);
    h.stabilize();
    h.tick('a', 2);
    h.stabilize();
    for (const id of ['a', 'b', 'c']) {
      expect(h.node(id).commitIndex).toBe(2);
      expect(h.applied(id).map((e) => (e.kind === 'normal' ? e.data : null))).toEqual([null, 'x']);
    }
  });

  it('followers refuse proposals and name the leader', () => {
    const h = three();
    elect(h, 'a');
    expect(h.node('b').propose('x')).toEqual({ ok: false, reason: 'not-leader', leader: 'a' });
  });

  it('a new leader overwrites a follower’s conflicting uncommitted entries', () => {
    const h = three({ preVote: false, checkQuorum: false });
    elect(h, 'a');
    h.isolate('a');
    h.propose('a', 'lost'); // index 2, only on a
    h.dropAll();
    h.heal();
    h.cut('a', 'b');
    h.cut('a', 'c');
    elect(h, 'b');
    h.propose('b', 'kept');
    h.stabilize();
    h.heal();
    h.tick('b', 1);
    h.stabilize();
    expect(h.node('a').role).toBe('follower');
    expect(h.node('a').entry(2)?.term).toBe(h.node('b').entryTerm(2));
    const data = h.applied('a').map((e) => (e.kind === 'normal' ? e.data : null));
    expect(data).not.toContain('lost');
    expect(data).toContain('kept');
  });

  it('bounds the appends in flight to a follower (maxInflight)', () => {
    const h = three({ maxInflight: 2, maxEntriesPerMessage: 1 });
    elect(h, 'a');
    for (let i = 0; i < 6; i++) h.propose('a', `v${i}`);
    const toB = h.pending.filter(
      (m) => m.type === 'append' && m.to === 'b' && m.entries.length > 0,
    );
    expect(toB.length).toBe(2);
    h.stabilize();
    expect(h.node('b').lastIndex).toBe(7);
  });
});

describe('§5.4 safety', () => {
  it('§5.4.1 a candidate whose log is behind cannot win', () => {
    const h = three({ preVote: false, checkQuorum: false });
    elect(h, 'a');
    h.cut('a', 'c');
    h.propose('a', 'x'); // reaches b only
    h.stabilize();
    h.heal();
    h.crash('a');
    h.campaign('c'); // c lacks index 2
    h.stabilize();
    expect(h.node('c').role).not.toBe('leader');
    h.campaign('b');
    h.stabilize();
    expect(h.leader()).toBe('b');
  });

  it('§5.4.2 a leader counts replicas only for entries of its own term (Figure 8)', () => {
    // The full schedule and its broken twin are the golden traces figure8*.txt.
    const h = new RaftHarness({
      ids: ['a', 'b', 'c'],
      options: { preVote: false, maxEntriesPerMessage: 1 },
    });
    elect(h, 'a');
    h.crash('a');
    h.restart('a');
    h.campaign('a');
    h.deliver();
    h.deliver(); // a leads term 2; its no-op (index 2, term 2) is queued
    h.dropAll();
    h.crash('a');
    h.restart('a');
    h.campaign('a');
    h.deliver();
    h.deliver(); // a leads term 3: index 2 (term 2) and its new no-op (index 3, term 3)
    h.deliver(); // appends reach b and c
    h.dropAll(); // their answers are lost: replicas unknown
    expect(h.node('a').commitIndex).toBe(1);
  });

  it('a restarted member keeps its term, vote and log', () => {
    const h = three({ preVote: false });
    elect(h, 'a');
    h.propose('a', 'x');
    h.stabilize();
    const before = h.node('b').status();
    h.crash('b');
    h.restart('b');
    const after = h.node('b').status();
    expect([after.term, after.vote, after.lastIndex]).toEqual([
      before.term,
      before.vote,
      before.lastIndex,
    ]);
  });
});

describe('pre-vote and check-quorum (thesis §9.6, §6.2)', () => {
  it('with pre-vote, an isolated member does not raise its term', () => {
    const h = three({ preVote: true });
    elect(h, 'a');
    const term = h.node('c').term;
    h.isolate('c');
    h.tick('c', 100);
    h.stabilize();
    expect(h.node('c').term).toBe(term);
    h.heal();
    h.tick('a', 1);
    h.stabilize();
    expect(h.leader()).toBe('a');
  });

  it('without pre-vote, the same member disrupts the leader when it comes back', () => {
    const h = three({ preVote: false, checkQuorum: false });
    elect(h, 'a');
    h.isolate('c');
    h.tick('c', 40);
    h.dropAll();
    h.heal();
    h.tick('c', 40);
    h.stabilize();
    expect(h.node('a').term).toBeGreaterThan(1);
  });

  it('with check-quorum, a leader cut off from the majority steps down', () => {
    const h = three();
    elect(h, 'a');
    h.isolate('a');
    h.tick('a', 25);
    expect(h.node('a').role).toBe('follower');
  });
});

describe('ReadIndex and lease reads (thesis §6.4)', () => {
  it('a leader answers a read only after a quorum confirmed its leadership', () => {
    const h = three();
    elect(h, 'a');
    expect(h.node('a').readIndex('r1')).toBe(true);
    h.process('a');
    expect(h.readStates('a')).toEqual([]);
    const beats = h.pending.filter((m) => m.type === 'heartbeat' && m.context === 'r1');
    expect(beats.map((m) => m.to)).toEqual(['b', 'c']);
    h.deliver(); // heartbeats out
    expect(h.readStates('a')).toEqual([]);
    h.deliver(); // answers back: a quorum (a, b, c) confirmed
    expect(h.readStates('a')).toEqual([{ index: 1, context: 'r1' }]);
  });

  it('a leader cut off from the others confirms nothing and answers no read', () => {
    const h = three();
    elect(h, 'a');
    h.isolate('a');
    h.node('a').readIndex('r1');
    h.process('a');
    h.stabilize();
    expect(h.readStates('a')).toEqual([]);
  });

  it('a follower’s read is forwarded to the leader and answered through it', () => {
    const h = three();
    elect(h, 'a');
    expect(h.node('b').readIndex('rb')).toBe(true);
    h.process('b');
    h.stabilize();
    expect(h.readStates('b')).toEqual([{ index: 1, context: 'rb' }]);
  });

  it('a leader that has not committed an entry of its term defers reads until it has', () => {
    const h = three({ preVote: false });
    h.campaign('a');
    h.deliver();
    h.deliver(); // a leads; its no-op is not committed yet
    expect(h.node('a').role).toBe('leader');
    expect(h.node('a').readIndex('early')).toBe(true);
    h.process('a');
    expect(h.pending.some((m) => m.type === 'heartbeat')).toBe(false);
    expect(h.readStates('a')).toEqual([]);
    h.stabilize(); // the no-op commits; the read is confirmed then
    expect(h.readStates('a')).toEqual([{ index: 1, context: 'early' }]);
  });

  it('lease mode answers at once (it needs check-quorum)', () => {
    expect(
      () =>
        new RaftNode({
          id: 'a',
          voters: ['a'],
          readOnly: 'lease',
          checkQuorum: false,
          random: new SeededRandom(1),
        }),
    ).toThrow(/readOnly/);
    const h = three({ readOnly: 'lease' });
    elect(h, 'a');
    h.node('a').readIndex('fast');
    h.process('a');
    expect(h.readStates('a')).toEqual([{ index: 1, context: 'fast' }]);
  });
});

describe('leadership transfer, membership, snapshots', () => {
  it('transfers leadership to an up-to-date member', () => {
    const h = three();
    elect(h, 'a');
    expect(h.node('a').transferLeadership('b')).toBe(true);
    h.process('a');
    expect(h.node('a').propose('x')).toMatchObject({ ok: false, reason: 'transferring' });
    h.stabilize();
    expect(h.leader()).toBe('b');
  });

  it('adds a learner that receives the log and never votes or campaigns', () => {
    const h = new RaftHarness({ ids: ['a', 'b', 'c', 'd'] });
    // d is in the harness but not yet a member of a's configuration: the harness makes all
    // four voters, so start from a three-voter group by removing d first.
    elect(h, 'a');
    h.tick('a', 1);
    h.stabilize();
    const removed = h.node('a').proposeConfChange({ kind: 'remove', id: 'd' });
    expect(removed.ok).toBe(true);
    h.process('a');
    h.stabilize();
    h.tick('a', 1);
    h.stabilize();
    expect(h.node('a').status().conf.voters).toEqual(['a', 'b', 'c']);
    const added = h.node('a').proposeConfChange({ kind: 'add-learner', id: 'd' });
    expect(added.ok).toBe(true);
    h.process('a');
    // A second change while the first is not applied is refused.
    expect(h.node('a').proposeConfChange({ kind: 'add-voter', id: 'd' })).toMatchObject({
      ok: false,
      reason: 'conf-change-pending',
    });
    h.stabilize();
    h.tick('a', 1);
    h.stabilize();
    expect(h.node('a').status().conf.learners).toEqual(['d']);
    h.propose('a', 'x');
    h.stabilize();
    expect(h.node('d').lastIndex).toBe(h.node('a').lastIndex);
    h.tick('d', 100);
    expect(h.node('d').role).toBe('follower');
  });

  it('sends a snapshot to a follower whose entries were compacted away', () => {
    const h = three();
    elect(h, 'a');
    h.crash('c');
    for (let i = 0; i < 5; i++) h.propose('a', `v${i}`);
    h.stabilize();
    h.tick('a', 1);
    h.stabilize();
    const snap = h.node('a').compact({ image: 'state' });
    expect(snap.index).toBe(6);
    h.restart('c');
    h.tick('a', 1);
    h.stabilize();
    h.tick('a', 1);
    h.stabilize();
    expect(h.node('c').status().snapshotIndex).toBe(6);
    expect(h.node('c').commitIndex).toBe(6);
  });
});

describe('§4.1 membership changes: single-server, one at a time', () => {
  const isVote = (m: RaftMessage): boolean => m.type === 'vote' || m.type === 'vote-resp';

  it('a new leader refuses a change until it committed an entry of its own term', () => {
    const h = three({ preVote: false });
    h.campaign('a');
    // Votes only: a leads, but its no-op has not reached anyone yet.
    h.deliver(isVote);
    h.deliver(isVote);
    expect(h.node('a').role).toBe('leader');
    expect(h.node('a').proposeConfChange({ kind: 'remove', id: 'c' })).toMatchObject({
      ok: false,
      reason: 'conf-change-pending',
    });
    h.stabilize();
    expect(h.node('a').proposeConfChange({ kind: 'remove', id: 'c' }).ok).toBe(true);
  });

  it('refuses a second change while the first is pending, accepts it once the first is applied', () => {
    const h = new RaftHarness({ ids: ['a', 'b', 'c', 'd'], options: { preVote: false } });
    elect(h, 'a');
    h.tick('a', 1);
    h.stabilize();
    const first = h.node('a').proposeConfChange({ kind: 'remove', id: 'd' });
    expect(first.ok).toBe(true);
    h.process('a');
    const second = { kind: 'add-learner', id: 'd' } as const;
    // Appended, not committed: refused.
    expect(h.node('a').proposeConfChange(second)).toMatchObject({
      ok: false,
      reason: 'conf-change-pending',
    });
    // Still refused on every member that is not the leader, whatever is pending.
    expect(h.node('b').proposeConfChange(second)).toMatchObject({
      ok: false,
      reason: 'not-leader',
    });
    h.stabilize();
    h.tick('a', 1);
    h.stabilize();
    expect(h.node('a').status().conf.voters).toEqual(['a', 'b', 'c']);
    const accepted = h.node('a').proposeConfChange(second);
    expect(accepted.ok).toBe(true);
    h.process('a');
    h.stabilize();
    h.tick('a', 1);
    h.stabilize();
    expect(h.node('a').status().conf).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'] });
    // The leader applied exactly one conf entry per accepted change, in order.
    const confs = h.applied('a').filter((e) => e.kind === 'conf');
    expect(confs.map((e) => (e.kind === 'conf' ? e.change.kind : ''))).toEqual([
      'remove',
      'add-learner',
    ]);
  });
});

describe('options', () => {
  const random = new SeededRandom(1);
  it('rejects bad values with a RangeError naming the field', () => {
    expect(() => new RaftNode({ id: '', voters: ['a'], random })).toThrow(/id/);
    expect(() => new RaftNode({ id: 'a', voters: ['a', 'a'], random })).toThrow(/voters/);
    expect(() => new RaftNode({ id: 'a', voters: ['a'], electionTicks: 1, random })).toThrow(
      /electionTicks/,
    );
    expect(
      () => new RaftNode({ id: 'a', voters: ['a'], electionTicks: 5, heartbeatTicks: 5, random }),
    ).toThrow(/heartbeatTicks/);
    expect(() => new RaftNode({ id: 'a', voters: ['a'], maxInflight: 0, random })).toThrow(
      /maxInflight/,
    );
    expect(() => new RaftNode({ id: 'a', voters: ['a'], learners: ['a'], random })).toThrow(
      /learners/,
    );
  });

  it('ignores messages addressed to another member', () => {
    const n = new RaftNode({ id: 'a', voters: ['a', 'b'], random });
    n.step({ type: 'heartbeat', from: 'b', to: 'z', term: 5, commit: 0, context: null });
    expect(n.term).toBe(0);
  });
});

describe('takeCommitted (applying while a Ready is outstanding)', () => {
  it('hands out entries committed during a write once, and the next Ready skips them', () => {
    const h = three();
    elect(h, 'a');
    const a = h.node('a');
    const b = h.node('b');
    expect(a.takeCommitted()).toEqual([]); // nothing outstanding
    a.propose('x');
    const rd1 = a.ready();
    const toB = rd1.messages.filter((m) => m.to === 'b');
    a.advance(rd1); // x is durable on a, not yet committed
    for (const m of toB) b.step(m);
    const rdB = b.ready();
    b.advance(rdB);
    const acks = rdB.messages.filter((m) => m.type === 'append-resp');
    expect(acks.length).toBeGreaterThan(0);
    a.propose('y');
    const rd2 = a.ready(); // y's write is now "in flight"
    expect(rd2.committedEntries.map((e) => e.kind === 'normal' && e.data)).not.toContain('x');
    expect(a.takeCommitted()).toEqual([]);
    for (const m of acks) a.step(m); // b's ack commits x during y's write
    const early = a.takeCommitted();
    expect(early.map((e) => e.kind === 'normal' && e.data)).toEqual(['x']);
    expect(a.appliedIndex).toBe(early[0]!.index);
    expect(a.takeCommitted()).toEqual([]);
    a.advance(rd2);
    const rd3 = a.ready();
    expect(rd3.committedEntries.filter((e) => e.index <= early[0]!.index)).toEqual([]);
    a.advance(rd3);
  });
});

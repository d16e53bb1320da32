import { describe, expect, it } from 'vitest';
import { ThreePhaseCoordinator, ThreePhaseParticipant } from './three-phase.js';
import type { ThreePhaseMessage, ThreePhaseParticipantOptions } from './three-phase.js';

const PARTS = ['p1', 'p2'];

function sent(m: {
  ready(): { messages: readonly { to: string; message: ThreePhaseMessage }[] };
  advance(): void;
}) {
  const out = m.ready().messages.map((o) => `${o.to}:${o.message.kind}:${o.message.txn}`);
  m.advance();
  return out;
}

function participant(
  options: Partial<ThreePhaseParticipantOptions> = {},
  saved?: ConstructorParameters<typeof ThreePhaseParticipant>[1],
) {
  return new ThreePhaseParticipant({ id: 'p1', coordinator: 'c', ...options }, saved);
}

function ticks(m: { tick(): void }, n: number): void {
  for (let i = 0; i < n; i++) m.tick();
}

describe('ThreePhaseCoordinator', () => {
  it('runs CanCommit, PreCommit and DoCommit when every vote is yes', () => {
    const c = new ThreePhaseCoordinator({ id: 'c', participants: PARTS });
    expect(c.begin()).toBe(1);
    expect(c.begin()).toBeUndefined();
    expect(c.ready().persist?.nextTxn).toBe(2);
    expect(sent(c)).toEqual(['p1:can-commit:1', 'p2:can-commit:1']);
    c.step('p1', { kind: 'vote', txn: 1, yes: true });
    expect(sent(c)).toEqual([]);
    c.step('p2', { kind: 'vote', txn: 1, yes: true });
    expect(c.ready().persist?.preCommitted).toBe(1);
    expect(sent(c)).toEqual(['p1:pre-commit:1', 'p2:pre-commit:1']);
    c.step('p1', { kind: 'ack', txn: 1 });
    c.step('p2', { kind: 'ack', txn: 1 });
    expect(c.ready().persist).toEqual({ nextTxn: 2, committed: [1], preCommitted: null });
    expect(sent(c)).toEqual(['p1:do-commit:1', 'p2:do-commit:1']);
    expect(c.takeDecisions()).toEqual([{ txn: 1, outcome: 'committed' }]);
    expect(c.idle).toBe(true);
  });

  it('aborts on a no vote and on a vote timeout, and ignores strangers', () => {
    const c = new ThreePhaseCoordinator({ id: 'c', participants: PARTS, voteTimeoutTicks: 3 });
    c.begin();
    sent(c);
    c.step('mallory', { kind: 'vote', txn: 1, yes: true });
    c.step('p1', { kind: 'vote', txn: 1, yes: false });
    expect(sent(c)).toEqual(['p1:abort:1', 'p2:abort:1']);
    c.begin();
    sent(c);
    c.step('p1', { kind: 'vote', txn: 2, yes: true });
    ticks(c, 2);
    expect(sent(c)).toEqual([]);
    c.tick();
    expect(sent(c)).toEqual(['p1:abort:2', 'p2:abort:2']);
    expect(c.takeDecisions().map((d) => d.outcome)).toEqual(['aborted', 'aborted']);
  });

  it('commits a missing acknowledgement away on its timeout', () => {
    const c = new ThreePhaseCoordinator({ id: 'c', participants: PARTS, ackTimeoutTicks: 5 });
    c.begin();
    c.step('p1', { kind: 'vote', txn: 1, yes: true });
    c.step('p2', { kind: 'vote', txn: 1, yes: true });
    sent(c);
    c.step('p1', { kind: 'ack', txn: 1 });
    ticks(c, 5);
    expect(sent(c)).toEqual(['p1:do-commit:1', 'p2:do-commit:1']);
  });

  it('after a restart commits a pre-committed transaction and aborts one still voting', () => {
    const pre = new ThreePhaseCoordinator(
      { id: 'c', participants: PARTS },
      { nextTxn: 4, committed: [1], preCommitted: 3 },
    );
    expect(sent(pre)).toEqual(['p1:do-commit:3', 'p2:do-commit:3']);
    expect(pre.takeDecisions()).toEqual([{ txn: 3, outcome: 'committed' }]);
    const voting = new ThreePhaseCoordinator(
      { id: 'c', participants: PARTS },
      { nextTxn: 4, committed: [1], preCommitted: null },
    );
    expect(sent(voting)).toEqual(['p1:abort:3', 'p2:abort:3']);
    expect(voting.begin()).toBe(4);
  });

  it('answers queries from its decisions (presumed abort), with PreCommit while pre-committed, not while voting', () => {
    const c = new ThreePhaseCoordinator(
      { id: 'c', participants: PARTS },
      { nextTxn: 3, committed: [1], preCommitted: null },
    );
    sent(c);
    c.step('p1', { kind: 'query', txn: 1 });
    c.step('p1', { kind: 'query', txn: 2 });
    c.step('p1', { kind: 'query', txn: 99 });
    expect(sent(c)).toEqual(['p1:do-commit:1', 'p1:abort:2']);
    c.begin();
    sent(c);
    c.step('p2', { kind: 'query', txn: 3 });
    expect(sent(c)).toEqual([]);
    c.step('p1', { kind: 'vote', txn: 3, yes: true });
    c.step('p2', { kind: 'vote', txn: 3, yes: true });
    sent(c);
    c.step('p2', { kind: 'query', txn: 3 });
    expect(sent(c)).toEqual(['p2:pre-commit:3']);
  });

  it('rejects hostile options with the field named', () => {
    expect(() => new ThreePhaseCoordinator({ id: '', participants: PARTS })).toThrow(/id/);
    expect(() => new ThreePhaseCoordinator({ id: 'c', participants: [] })).toThrow(/participants/);
    expect(() => new ThreePhaseCoordinator({ id: 'c', participants: ['p', 'p'] })).toThrow(
      RangeError,
    );
    expect(() => new ThreePhaseCoordinator({ id: 'c', participants: ['c'] })).toThrow(RangeError);
    expect(
      () => new ThreePhaseCoordinator({ id: 'c', participants: PARTS, voteTimeoutTicks: 0 }),
    ).toThrow(/voteTimeoutTicks/);
    expect(
      () => new ThreePhaseCoordinator({ id: 'c', participants: PARTS, ackTimeoutTicks: 1.5 }),
    ).toThrow(/ackTimeoutTicks/);
    expect(() => participant({ termination: 'maybe' as never })).toThrow(/termination/);
    expect(() => participant({ uncertainTimeoutTicks: Number.NaN })).toThrow(
      /uncertainTimeoutTicks/,
    );
  });
});

describe('ThreePhaseParticipant', () => {
  it('votes, persists before it acknowledges, and commits on DoCommit', () => {
    const p = participant();
    p.step('c', { kind: 'can-commit', txn: 1 });
    expect(p.ready().persist).toEqual({ txns: [[1, 'uncertain']] });
    expect(sent(p)).toEqual(['c:vote:1']);
    p.step('c', { kind: 'pre-commit', txn: 1 });
    expect(p.ready().persist).toEqual({ txns: [[1, 'pre-committed']] });
    expect(sent(p)).toEqual(['c:ack:1']);
    p.step('c', { kind: 'do-commit', txn: 1 });
    expect(p.stateOf(1)).toBe('committed');
    expect(p.takeChanges().map((c) => c.state)).toEqual([
      'uncertain',
      'pre-committed',
      'committed',
    ]);
  });

  it('votes no through canCommit and ignores messages not from its coordinator', () => {
    const p = participant({ canCommit: (txn) => txn !== 2 });
    p.step('mallory', { kind: 'can-commit', txn: 2 });
    expect(p.stateOf(2)).toBeUndefined();
    p.step('c', { kind: 'can-commit', txn: 2 });
    expect(p.stateOf(2)).toBe('aborted');
    expect(p.ready().messages[0]?.message).toEqual({ kind: 'vote', txn: 2, yes: false });
  });

  it('with 3PC timeouts: uncertain aborts, pre-committed commits', () => {
    const p = participant({ uncertainTimeoutTicks: 4, preCommitTimeoutTicks: 6 });
    p.step('c', { kind: 'can-commit', txn: 1 });
    p.step('c', { kind: 'can-commit', txn: 2 });
    p.step('c', { kind: 'pre-commit', txn: 2 });
    ticks(p, 3);
    expect([p.stateOf(1), p.stateOf(2)]).toEqual(['uncertain', 'pre-committed']);
    p.tick();
    expect(p.stateOf(1)).toBe('aborted');
    ticks(p, 2);
    expect(p.stateOf(2)).toBe('committed');
    // A late PreCommit does not revive an aborted transaction.
    p.step('c', { kind: 'pre-commit', txn: 1 });
    expect(p.stateOf(1)).toBe('aborted');
  });

  it('with blocking termination never decides alone: it asks the coordinator', () => {
    const p = participant({ termination: 'blocking', queryEveryTicks: 5 });
    p.step('c', { kind: 'can-commit', txn: 1 });
    sent(p);
    ticks(p, 500);
    expect(p.stateOf(1)).toBe('uncertain');
    expect(new Set(sent(p))).toEqual(new Set(['c:query:1']));
    p.step('c', { kind: 'pre-commit', txn: 1 });
    ticks(p, 500);
    expect(p.stateOf(1)).toBe('pre-committed');
    p.step('c', { kind: 'do-commit', txn: 1 });
    expect(p.stateOf(1)).toBe('committed');
  });

  it('restarted uncertain, asks instead of timing out (unless deliberately broken)', () => {
    const saved = { txns: [[7, 'uncertain'] as const, [8, 'pre-committed'] as const] };
    const p = participant(
      { uncertainTimeoutTicks: 4, preCommitTimeoutTicks: 4, queryEveryTicks: 2 },
      saved,
    );
    ticks(p, 10);
    expect(p.stateOf(7)).toBe('uncertain');
    expect(p.stateOf(8)).toBe('committed');
    expect(sent(p)).toContain('c:query:7');
    const broken = participant({ uncertainTimeoutTicks: 4, recovery: 'timeout' }, saved);
    ticks(broken, 4);
    expect(broken.stateOf(7)).toBe('aborted');
  });

  it('the deliberately broken uncertain timeout commits', () => {
    const p = participant({ uncertainTimeoutTicks: 2, uncertainTimeoutDecides: 'commit' });
    p.step('c', { kind: 'can-commit', txn: 1 });
    ticks(p, 2);
    expect(p.stateOf(1)).toBe('committed');
  });
});

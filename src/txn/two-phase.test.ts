import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../core/random.js';
import { Simulation } from '../sim/simulation.js';
import { isTxnAbortedError, isTxnInDoubtError } from './errors.js';
import { gidPrefix, isGid, newGid } from './gid.js';
import { MemoryDecisionLog, MemoryParticipant } from './memory.js';
import { TwoPhaseCommit } from './two-phase.js';
import type { TwoPhaseStep } from './types.js';

function setup(log = new MemoryDecisionLog()) {
  const a = new MemoryParticipant('a');
  const b = new MemoryParticipant('b');
  const sim = new Simulation({ seed: 1 });
  const runtime = sim.node('coord').runtime;
  const coordinator = new TwoPhaseCommit({
    coordinatorId: 'c1',
    log,
    participants: [a, b],
    runtime,
    phaseTwoAttempts: 1,
  });
  const steps: string[] = [];
  coordinator.onStep((s: TwoPhaseStep) =>
    steps.push(
      'participant' in s
        ? `${s.kind}:${s.participant}`
        : `${s.kind}:${'outcome' in s ? s.outcome : ''}`,
    ),
  );
  return { a, b, log, coordinator, steps };
}

describe('TwoPhaseCommit', () => {
  it('commits at every participant, deciding durably between the phases', async () => {
    const { a, b, log, coordinator, steps } = setup();
    const result = await coordinator.transaction(async (tx) => {
      (await tx.enlist(a)).set('x', '1');
      (await tx.enlist(b)).set('y', '2');
      // Enlisting twice returns the same branch.
      (await tx.enlist(a)).set('z', '3');
      return 'done';
    });
    expect(result.value).toBe('done');
    expect(result.unfinished).toEqual([]);
    expect(isGid(result.gid)).toBe(true);
    expect([...a.data]).toEqual([
      ['x', '1'],
      ['z', '3'],
    ]);
    expect(b.data.get('y')).toBe('2');
    expect(log.records.size).toBe(0);
    expect(steps).toEqual([
      'preparing:a',
      'prepared:a',
      'preparing:b',
      'prepared:b',
      'decided:commit',
      'committed:a',
      'committed:b',
      'finished:commit',
    ]);
  });

  it('rolls back everywhere when a participant votes no', async () => {
    const { a, b, log, coordinator } = setup();
    b.refuseNextPrepare = 'constraint';
    const error = await coordinator
      .transaction(async (tx) => {
        (await tx.enlist(a)).set('x', '1');
        (await tx.enlist(b)).set('y', '2');
      })
      .catch((e: unknown) => e);
    expect(isTxnAbortedError(error)).toBe(true);
    expect(isTxnAbortedError(error) && error.participant).toBe('b');
    expect(a.data.size + b.data.size).toBe(0);
    expect(a.prepared.size + b.prepared.size).toBe(0);
    expect(log.records.size).toBe(0);
  });

  it('rolls back when the body throws, before anything is prepared', async () => {
    const { a, coordinator } = setup();
    const error = await coordinator
      .transaction(async (tx) => {
        (await tx.enlist(a)).set('x', '1');
        throw new Error('business rule');
      })
      .catch((e: unknown) => e);
    expect(isTxnAbortedError(error)).toBe(true);
    expect(String(error)).toContain('business rule');
    expect(a.data.size + a.prepared.size).toBe(0);
  });

  it('reports a transaction whose decision write failed as in doubt, and recovery settles it', async () => {
    const log = new MemoryDecisionLog();
    const { a, b, coordinator } = setup(log);
    log.recordCommit = () => Promise.reject(new Error('connection reset'));
    const error = await coordinator
      .transaction(async (tx) => {
        (await tx.enlist(a)).set('x', '1');
        (await tx.enlist(b)).set('y', '2');
      })
      .catch((e: unknown) => e);
    expect(isTxnInDoubtError(error)).toBe(true);
    expect(a.prepared.size).toBe(1);
    const report = await coordinator.recover();
    expect(report).toEqual({ committed: 0, rolledBack: 2, forgotten: 0, failed: [] });
    expect(a.prepared.size + b.prepared.size + a.data.size).toBe(0);
  });

  it('recovers: commits prepared branches with a decision, rolls back the rest, forgets stale records', async () => {
    const { a, b, log, coordinator } = setup();
    const random = new SeededRandom(5);
    const decided = newGid('c1', random);
    const undecided = newGid('c1', random);
    const finished = newGid('c1', random);
    const foreign = newGid('other', random);
    for (const p of [a, b]) p.prepared.set(decided, new Map([['k', p.name]]));
    a.prepared.set(undecided, new Map([['u', '1']]));
    b.prepared.set(foreign, new Map([['f', '1']]));
    await log.recordCommit(decided, ['a', 'b']);
    await log.recordCommit(finished, ['a', 'b']);
    const report = await coordinator.recover();
    expect(report).toEqual({ committed: 2, rolledBack: 1, forgotten: 2, failed: [] });
    expect(a.data.get('k')).toBe('a');
    expect(b.data.get('k')).toBe('b');
    expect(a.data.has('u')).toBe(false);
    // Another coordinator's branch is none of this one's business.
    expect([...b.prepared.keys()]).toEqual([foreign]);
    expect(log.records.size).toBe(0);
  });

  it('keeps decision records while a participant cannot be asked', async () => {
    const { a, b, log, coordinator } = setup();
    const gid = newGid('c1', new SeededRandom(9));
    a.prepared.set(gid, new Map([['k', 'v']]));
    await log.recordCommit(gid, ['a', 'b']);
    b.listPrepared = () => Promise.reject(new Error('down'));
    const report = await coordinator.recover();
    expect(report).toEqual({ committed: 1, rolledBack: 0, forgotten: 0, failed: ['b'] });
    expect(log.records.has(gid)).toBe(true);
  });

  it('validates its options, naming the field and the value', () => {
    const log = new MemoryDecisionLog();
    const a = new MemoryParticipant('a');
    expect(
      () => new TwoPhaseCommit({ coordinatorId: 'has space', log, participants: [a] }),
    ).toThrow(/coordinatorId must be .* \(got "has space"\)/);
    expect(
      () => new TwoPhaseCommit({ coordinatorId: 'x'.repeat(32), log, participants: [a] }),
    ).toThrow(/coordinatorId/);
    expect(() => new TwoPhaseCommit({ coordinatorId: 'c', log, participants: [] })).toThrow(
      /participants/,
    );
    expect(
      () =>
        new TwoPhaseCommit({
          coordinatorId: 'c',
          log,
          participants: [a, new MemoryParticipant('a')],
        }),
    ).toThrow(/participants must be unique names \(got "a"\)/);
    expect(
      () => new TwoPhaseCommit({ coordinatorId: 'c', log, participants: [a], callTimeoutMs: 0 }),
    ).toThrow(/callTimeoutMs/);
  });

  it('refuses to enlist a participant it does not know (recovery could not find its branches)', async () => {
    const { coordinator } = setup();
    const error = await coordinator
      .transaction((tx) => tx.enlist(new MemoryParticipant('stranger')))
      .catch((e: unknown) => e);
    expect(String((error as Error).cause)).toMatch(/participant must be one of the coordinator/);
  });

  it('makes gids that fit MariaDB XA (64 bytes) and start with the coordinator prefix', () => {
    const gid = newGid('c'.repeat(31), new SeededRandom(1));
    expect(gid.length).toBe(64);
    expect(gid.startsWith(gidPrefix('c'.repeat(31)))).toBe(true);
    expect(isGid(gid)).toBe(true);
    expect(isGid("x.'; DROP TABLE t; --")).toBe(false);
  });
});

describe('the faultline:txn:2pc diagnostics channel', () => {
  it('publishes every step to subscribers', async () => {
    const { subscribe, unsubscribe } = await import('node:diagnostics_channel');
    const seen: unknown[] = [];
    const listener = (message: unknown): void => void seen.push(message);
    subscribe('faultline:txn:2pc', listener);
    try {
      const { a, coordinator } = setup();
      await coordinator.transaction(async (tx) => void (await tx.enlist(a)));
    } finally {
      unsubscribe('faultline:txn:2pc', listener);
    }
    expect(seen.map((s) => (s as { kind: string }).kind)).toEqual([
      'preparing',
      'prepared',
      'decided',
      'committed',
      'finished',
    ]);
  });
});

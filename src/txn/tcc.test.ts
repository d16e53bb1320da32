import { describe, expect, it } from 'vitest';
import { Simulation } from '../sim/simulation.js';
import { settle } from './testing.js';
import { isTxnAbortedError } from './errors.js';
import { MemoryDecisionLog } from './memory.js';
import { TccCoordinator, TccResource, tccBranch } from './tcc.js';
import type { TccParticipant, TccStep } from './tcc.js';
import {
  isTccAlreadyConfirmedError,
  isTccHangingTryError,
  isTccNothingReservedError,
} from './tcc-errors.js';
import { MemoryTccFenceStore } from './tcc-memory.js';

const signal = new AbortController().signal;
const key = { gid: 'c1.00ff', branchId: 'stock' };
const nothing = (): Promise<void> => Promise.resolve();

/** A stock of 10 units with a frozen column, behind a memory fence store. */
function stock(name = 'stock') {
  const store = new MemoryTccFenceStore();
  const counts = { free: 10, frozen: 0, sold: 0, tries: 0, confirms: 0, cancels: 0 };
  const resource = new TccResource<undefined, { units: number }>({
    name,
    store,
    actions: {
      try: (_c, { units }) => {
        counts.tries++;
        if (counts.free < units) return Promise.reject(new Error('out of stock'));
        counts.free -= units;
        counts.frozen += units;
        return Promise.resolve();
      },
      confirm: (_c, { units }) => {
        counts.confirms++;
        counts.frozen -= units;
        counts.sold += units;
        return Promise.resolve();
      },
      cancel: (_c, { units }) => {
        counts.cancels++;
        counts.frozen -= units;
        counts.free += units;
        return Promise.resolve();
      },
    },
  });
  return { store, counts, resource };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('MemoryTccFenceStore', () => {
  it('confirms once: a repeated Confirm is a duplicate and applies nothing', async () => {
    const { resource, counts, store } = stock();
    expect(await resource.try('g.1', { units: 3 }, signal)).toBe('tried');
    expect(await resource.try('g.1', { units: 3 }, signal)).toBe('duplicate');
    expect(await resource.confirm('g.1', signal)).toBe('confirmed');
    expect(await resource.confirm('g.1', signal)).toBe('duplicate');
    expect(counts).toMatchObject({ free: 7, frozen: 0, sold: 3, tries: 1, confirms: 1 });
    expect(await store.state({ gid: 'g.1', branchId: 'stock' })).toBe('confirmed');
  });

  it('cancels once: a repeated Cancel is a duplicate and releases nothing', async () => {
    const { resource, counts } = stock();
    await resource.try('g.1', { units: 4 }, signal);
    expect(await resource.cancel('g.1', signal)).toBe('cancelled');
    expect(await resource.cancel('g.1', signal)).toBe('duplicate');
    expect(counts).toMatchObject({ free: 10, frozen: 0, cancels: 1 });
  });

  it('records a Cancel that comes before its Try, and refuses the hanging Try', async () => {
    const { resource, counts, store } = stock();
    expect(await resource.cancel('g.2', signal)).toBe('empty');
    expect(counts.cancels).toBe(0);
    const late = await resource.try('g.2', { units: 5 }, signal).catch((e: unknown) => e);
    expect(isTccHangingTryError(late)).toBe(true);
    expect(late).toMatchObject({
      gid: 'g.2',
      branchId: 'stock',
      code: 'FAULTLINE_TCC_HANGING_TRY',
    });
    expect(counts).toMatchObject({ free: 10, frozen: 0, tries: 0 });
    expect(await store.state({ gid: 'g.2', branchId: 'stock' })).toBe('cancelled');
  });

  it('refuses a Confirm with nothing reserved, and a Cancel after a Confirm', async () => {
    const { resource, counts, store } = stock();
    const none = await resource.confirm('g.3', signal).catch((e: unknown) => e);
    expect(isTccNothingReservedError(none)).toBe(true);
    expect(none).toMatchObject({ reason: 'no-try' });
    expect(await store.state({ gid: 'g.3', branchId: 'stock' })).toBeUndefined();
    await resource.cancel('g.3', signal);
    expect(await resource.confirm('g.3', signal).catch((e: unknown) => e)).toMatchObject({
      reason: 'cancelled',
      code: 'FAULTLINE_TCC_NOTHING_RESERVED',
    });
    await resource.try('g.4', { units: 1 }, signal);
    await resource.confirm('g.4', signal);
    const late = await resource.cancel('g.4', signal).catch((e: unknown) => e);
    expect(isTccAlreadyConfirmedError(late)).toBe(true);
    expect(counts).toMatchObject({ free: 9, sold: 1, confirms: 1, cancels: 0 });
  });

  it('keeps no row for a Try whose reservation failed, so its Cancel is empty', async () => {
    const { resource, counts } = stock();
    await expect(resource.try('g.5', { units: 11 }, signal)).rejects.toThrow('out of stock');
    expect(await resource.cancel('g.5', signal)).toBe('empty');
    expect(counts).toMatchObject({ free: 10, frozen: 0, cancels: 0 });
  });

  it('serialises a Try and a Cancel racing on one key, in either order', async () => {
    // The Cancel arrives while the Try is reserving: it waits, then releases what the Try froze.
    const store = new MemoryTccFenceStore();
    const gate = deferred();
    let reserved = 0;
    const trying = store.try(key, '1', async () => {
      await gate.promise;
      reserved++;
    });
    const cancelling = store.cancel(key, () => {
      reserved--;
      return Promise.resolve();
    });
    gate.resolve();
    expect(await Promise.all([trying, cancelling])).toEqual(['tried', 'cancelled']);
    expect(reserved).toBe(0);
    // The other order: the Cancel is first, the Try is refused and reserves nothing.
    const other = { gid: 'c1.0100', branchId: 'stock' };
    const cancelFirst = store.cancel(other, nothing);
    const tryLate = store.try(other, '1', () => {
      reserved++;
      return Promise.resolve();
    });
    expect(await cancelFirst).toBe('empty');
    await expect(tryLate).rejects.toSatisfy(isTccHangingTryError);
    expect(reserved).toBe(0);
  });

  it('lists the pending branches by prefix and branch id', async () => {
    const store = new MemoryTccFenceStore();
    await store.try({ gid: 'a.1', branchId: 'x' }, '0', nothing);
    await store.try({ gid: 'a.2', branchId: 'x' }, '0', nothing);
    await store.try({ gid: 'b.1', branchId: 'x' }, '0', nothing);
    await store.try({ gid: 'a.3', branchId: 'y' }, '0', nothing);
    await store.confirm({ gid: 'a.2', branchId: 'x' }, nothing);
    expect(await store.pending('a.', 'x')).toEqual(['a.1']);
  });

  it('refuses hostile keys and options, naming the field', async () => {
    const store = new MemoryTccFenceStore({ maxRows: 1 });
    await expect(store.try({ gid: '', branchId: 'x' }, '0', nothing)).rejects.toThrow(/gid/);
    await expect(store.cancel({ gid: 'g', branchId: 'a b' }, nothing)).rejects.toThrow(/branchId/);
    await expect(store.state({ gid: 'g\u0000', branchId: 'x' })).rejects.toThrow(/gid/);
    await expect(store.state({ gid: 'g\ud800', branchId: 'x' })).rejects.toThrow(/gid/);
    await store.cancel({ gid: 'g.1', branchId: 'x' }, nothing);
    await expect(store.cancel({ gid: 'g.2', branchId: 'x' }, nothing)).rejects.toThrow(/maxRows 1/);
    expect(() => new MemoryTccFenceStore({ maxRows: 0 })).toThrow(/maxRows/);
    expect(() => stock('no spaces')).toThrow(/branchId/);
  });
});

function coordinator(participants: TccParticipant<never>[], sim = new Simulation({ seed: 5 })) {
  const log = new MemoryDecisionLog();
  const tcc = new TccCoordinator({
    coordinatorId: 'c1',
    log,
    participants,
    runtime: sim.node('coord').runtime,
    callTimeoutMs: 20,
    phaseTwoAttempts: 2,
    phaseTwoBackoff: { kind: 'constant', baseMs: 1, jitter: 'none' },
  });
  const steps: string[] = [];
  tcc.onStep((s: TccStep) =>
    steps.push('participant' in s ? `${s.kind}:${s.participant}` : `${s.kind}:${s.outcome}`),
  );
  return { tcc, log, steps, sim };
}

describe('TccCoordinator', () => {
  it('tries every branch, records the decision, confirms, and forgets it', async () => {
    const a = stock('a');
    const b = stock('b');
    const { tcc, log, steps, sim } = coordinator([a.resource, b.resource]);
    const result = await settle(
      sim,
      tcc.transaction([tccBranch(a.resource, { units: 2 }), tccBranch(b.resource, { units: 3 })]),
    );
    expect(result).toMatchObject({ unfinished: [] });
    expect(a.counts).toMatchObject({ free: 8, sold: 2 });
    expect(b.counts).toMatchObject({ free: 7, sold: 3 });
    expect(log.records.size).toBe(0);
    expect(steps).toEqual(['tried:a', 'tried:b', 'decided:confirm', 'confirmed:a', 'confirmed:b']);
  });

  it('cancels every branch when one Try fails', async () => {
    const a = stock('a');
    const b = stock('b');
    const { tcc, log, sim } = coordinator([a.resource, b.resource]);
    const error = await settle(
      sim,
      tcc.transaction([tccBranch(a.resource, { units: 2 }), tccBranch(b.resource, { units: 99 })]),
    );
    expect(isTxnAbortedError(error)).toBe(true);
    expect(error).toMatchObject({ participant: 'b' });
    expect(a.counts).toMatchObject({ free: 10, frozen: 0, cancels: 1 });
    expect(b.counts).toMatchObject({ free: 10, frozen: 0, cancels: 0 });
    expect(log.records.size).toBe(0);
  });

  it('refuses the Try that lands after its timeout and Cancel: nothing stays reserved', async () => {
    const sim = new Simulation({ seed: 9 });
    const a = stock('a');
    const b = stock('b');
    const timers = sim.node('net').runtime.timers;
    let lateTry: unknown;
    // b's Try is delayed 50 ms on the way and ignores the coordinator's abort, like a packet in a queue.
    const slow: TccParticipant<{ units: number }> = {
      name: 'b',
      try: async (gid, input) => {
        await timers.sleep(50);
        return b.resource.try(gid, input, signal).catch((e: unknown) => {
          lateTry = e;
          throw e;
        });
      },
      confirm: (gid, s) => b.resource.confirm(gid, s),
      cancel: (gid, s) => b.resource.cancel(gid, s),
      pending: (prefix, s) => b.resource.pending(prefix, s),
    };
    const { tcc } = coordinator([a.resource, slow as TccParticipant<never>], sim);
    const error = await settle(
      sim,
      tcc.transaction([tccBranch(a.resource, { units: 1 }), tccBranch(slow, { units: 1 })]),
    );
    expect(error).toMatchObject({ code: 'FAULTLINE_TXN_ABORTED', participant: 'b' });
    await sim.run({ untilMs: sim.nowMs + 100 });
    expect(isTccHangingTryError(lateTry)).toBe(true);
    expect(b.counts).toMatchObject({ free: 10, frozen: 0, tries: 0 });
    expect(a.counts).toMatchObject({ free: 10, frozen: 0 });
  });

  it('recovers after a crash: confirms what was decided, cancels the rest', async () => {
    const a = stock('a');
    const b = stock('b');
    const { tcc, log, sim } = coordinator([a.resource, b.resource]);
    // Decided, but the coordinator died before confirming b: a record and a tried branch.
    await a.resource.try('c1.decided', { units: 1 }, signal);
    await b.resource.try('c1.decided', { units: 1 }, signal);
    await a.resource.confirm('c1.decided', signal);
    await log.recordCommit('c1.decided', ['a', 'b']);
    // Tried at a only, never decided.
    await a.resource.try('c1.undecided', { units: 2 }, signal);
    // Another coordinator's branch is left alone.
    await a.resource.try('c2.other', { units: 3 }, signal);
    const report = await settle(sim, tcc.recover());
    expect(report).toEqual({ confirmed: 1, cancelled: 1, forgotten: 1, failed: [] });
    expect(a.counts).toMatchObject({ free: 6, frozen: 3, sold: 1 });
    expect(b.counts).toMatchObject({ free: 9, frozen: 0, sold: 1 });
    expect(log.records.size).toBe(0);
    // The undecided transaction's Try at b, still on its way when the coordinator died, is
    // refused: recovery cancelled it at every participant, not only where it was tried.
    const late = await settle(sim, b.resource.try('c1.undecided', { units: 2 }, signal)).catch(
      (e: unknown) => e,
    );
    expect(isTccHangingTryError(late)).toBe(true);
    expect(b.counts).toMatchObject({ free: 9, frozen: 0 });
  });

  it('leaves an unconfirmable branch to recovery and reports it', async () => {
    const a = stock('a');
    const failing = true;
    const flaky: TccParticipant<{ units: number }> = {
      name: 'f',
      try: () => Promise.resolve('tried'),
      confirm: () =>
        failing ? Promise.reject(new Error('connection reset')) : Promise.resolve('confirmed'),
      cancel: () => Promise.resolve('cancelled'),
      pending: () => Promise.resolve([]),
    };
    const { tcc, log, sim } = coordinator([a.resource, flaky as TccParticipant<never>]);
    const result = await settle(
      sim,
      tcc.transaction([tccBranch(a.resource, { units: 1 }), tccBranch(flaky, { units: 1 })]),
    );
    expect(result).toMatchObject({ unfinished: ['f'] });
    expect(log.records.size).toBe(1);
  });

  it('refuses hostile options and branches, naming the field', () => {
    const a = stock('a').resource as TccParticipant<never>;
    const log = new MemoryDecisionLog();
    expect(() => new TccCoordinator({ coordinatorId: 'bad id', log, participants: [a] })).toThrow(
      /coordinatorId/,
    );
    expect(() => new TccCoordinator({ coordinatorId: 'c', log, participants: [] })).toThrow(
      /participants/,
    );
    expect(() => new TccCoordinator({ coordinatorId: 'c', log, participants: [a, a] })).toThrow(
      /unique/,
    );
    expect(
      () => new TccCoordinator({ coordinatorId: 'c', log, participants: [a], callTimeoutMs: 0 }),
    ).toThrow(/callTimeoutMs/);
    const tcc = new TccCoordinator({ coordinatorId: 'c', log, participants: [a] });
    const stranger = stock('a').resource;
    const closed = new TccCoordinator({ coordinatorId: 'c', log, participants: [a] });
    void closed.close();
    return Promise.all([
      expect(tcc.transaction([])).rejects.toThrow(/branches/),
      expect(closed.transaction([tccBranch(a, undefined as never)])).rejects.toThrow(/closed/),
      expect(tcc.transaction([tccBranch(stranger, { units: 1 })])).rejects.toThrow(/participant/),
      expect(
        tcc.transaction([tccBranch(a, undefined as never), tccBranch(a, undefined as never)]),
      ).rejects.toThrow(/one branch per participant/),
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../core/random.js';
import { Simulation } from '../../sim/simulation.js';
import { QuorumMember } from './primary.js';
import type { QuorumMessage } from './primary.js';
import {
  byzantineQuorum,
  byzantineTolerance,
  crashTolerance,
  flexiblePhase2,
  isMajority,
  majority,
  oddSizeFor,
  quorumsIntersect,
} from './quorum.js';
import { quorumProtocol, runSplitBrain } from './split-sim.js';

describe('quorum arithmetic', () => {
  it('majorities intersect, and even sizes buy nothing', () => {
    for (let n = 1; n <= 9; n++) {
      expect(quorumsIntersect(majority(n), majority(n), n)).toBe(true);
      if (n > 1) expect(quorumsIntersect(majority(n) - 1, majority(n) - 1, n)).toBe(false);
      expect(crashTolerance(n)).toBe(n - majority(n));
    }
    expect(crashTolerance(4)).toBe(crashTolerance(3));
    expect(oddSizeFor(4)).toBe(3);
    expect(isMajority(3, 5)).toBe(true);
    expect(isMajority(2, 4)).toBe(false);
  });

  it('flexible quorums: a larger phase-1 quorum allows a smaller phase-2 quorum that still intersects', () => {
    expect(flexiblePhase2(10, 9)).toBe(2);
    expect(quorumsIntersect(9, flexiblePhase2(10, 9), 10)).toBe(true);
    expect(quorumsIntersect(9, flexiblePhase2(10, 9) - 1, 10)).toBe(false);
  });

  it('Byzantine quorums of 3f + 1 are 2f + 1 and share f + 1 members', () => {
    for (let f = 1; f <= 4; f++) {
      const n = 3 * f + 1;
      expect(byzantineTolerance(n)).toBe(f);
      expect(byzantineQuorum(n)).toBe(2 * f + 1);
      expect(2 * byzantineQuorum(n) - n).toBe(f + 1);
    }
  });

  it('refuses bad sizes naming the field', () => {
    expect(() => majority(0)).toThrow(/n/);
    expect(() => quorumsIntersect(6, 1, 5)).toThrow(/a/);
  });
});

describe('QuorumMember', () => {
  const members = ['n1', 'n2', 'n3'];

  it('refuses bad options naming the field', () => {
    const random = new SeededRandom(1);
    expect(() => new QuorumMember({ id: 'x', members, random })).toThrow(/id/);
    expect(() => new QuorumMember({ id: 'n1', members, takeOver: 'survivor', random })).toThrow(
      /takeOver/,
    );
    expect(
      () => new QuorumMember({ id: 'a', members: ['a', 'b'], takeOver: 'stonith', random }),
    ).toThrow(/fencer/);
  });

  it('a member that acknowledged a lease votes for nobody until it runs out', () => {
    const m = new QuorumMember({ id: 'n2', members, leaseTicks: 100, random: new SeededRandom(1) });
    m.step('n1', { kind: 'heartbeat', term: 1, sentTick: 0 });
    m.advance();
    m.step('n3', { kind: 'vote-request', term: 2 });
    const vote = m.ready().messages.find((o) => o.to === 'n3')?.message as QuorumMessage;
    expect(vote).toEqual({ kind: 'vote', term: 2, granted: false });
  });

  it('a lease primary acts only once a majority acknowledged, and steps down when the lease runs out', () => {
    const p = new QuorumMember({
      id: 'n1',
      members,
      electionTicks: 1,
      leaseTicks: 50,
      heartbeatTicks: 10,
      driftMarginTicks: 5,
      random: new SeededRandom(2),
    });
    let ticks = 0;
    while (p.ready().messages.length === 0) {
      p.tick();
      ticks++;
    }
    p.advance();
    p.step('n2', { kind: 'vote', term: 1, granted: true });
    const heartbeat = p.ready().messages[0]?.message;
    p.advance();
    expect(heartbeat?.kind).toBe('heartbeat');
    expect(p.isPrimary).toBe(false);
    const sentTick = heartbeat?.kind === 'heartbeat' ? heartbeat.sentTick : -1;
    p.step('n2', { kind: 'ack', term: 1, sentTick });
    expect(p.isPrimary).toBe(true);
    for (let i = 0; i < 45; i++) {
      p.tick();
      p.advance();
    }
    expect(p.isPrimary).toBe(false);
    expect(ticks).toBeGreaterThan(0);
  });
});

describe('split brain in the simulator', () => {
  async function violating(variant: string, seeds: number): Promise<number[]> {
    const failing: number[] = [];
    for (let seed = 1; seed <= seeds; seed++)
      if ((await quorumProtocol.run({ seed, variant })).violations > 0) failing.push(seed);
    return failing;
  }

  it('lease + quorum + fencing, a witness and STONITH hold on seeds 1..100', async () => {
    expect(await violating('correct', 100)).toEqual([]);
  });

  it('catches every broken variant within 200 seeds', async () => {
    for (const variant of ['no-quorum-check', 'event-quorum-check', 'two-node'])
      expect((await violating(variant, 20)).length, variant).toBeGreaterThan(0);
  });

  it('STONITH powers the old primary off before the new one acts', async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const outcome = await runSplitBrain({
        sim: new Simulation({ seed, trace: false }),
        design: 'stonith',
      });
      expect(outcome.fenced).toBe(1);
      expect(outcome.primariesAtOnce).toBe(1);
      expect(outcome.staleWrites).toBe(0);
    }
  });
});

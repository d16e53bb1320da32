import { describe, expect, it } from 'vitest';
import { check } from '../../check/checker.js';
import { raftKvModel } from './kv.js';
import { runRaftSeed } from './protocol.js';
import { runRaftSim } from './sim.js';
import type { RaftVariant } from './sim.js';

/** The seeds in [from, to] whose run found a violation (invariant or linearizability). */
async function failingSeeds(variant: RaftVariant, from: number, to: number): Promise<number[]> {
  const out: number[] = [];
  for (let seed = from; seed <= to; seed++)
    if ((await runRaftSeed(seed, variant)).violations > 0) out.push(seed);
  return out;
}

describe('raft in the simulator', () => {
  // CI runs seeds 1..1,000 of the correct variant (`faultline sim raft --seeds 1000` in
  // scripts/test.sh's protocol soak); these 20 keep the unit suite meaningful on its own.
  it('the correct variant holds every invariant and stays linearizable on seeds 1..20', async () => {
    const failing = await failingSeeds('correct', 1, 20);
    expect(failing).toEqual([]);
  }, 600_000);

  it('does real work under the nemesis: elections, commits, completed operations', async () => {
    const run = await runRaftSim({ seed: 5 });
    expect(run.elections).toBeGreaterThan(1);
    expect(run.committed).toBeGreaterThan(20);
    const completed = run.history.filter((e) => e.type === 'ok' || e.type === 'fail').length;
    expect(completed).toBeGreaterThan(20);
    expect(check(run.history, raftKvModel()).kind).toBe('legal');
  });

  it('replays a seed exactly', async () => {
    const a = await runRaftSim({ seed: 9, variant: 'correct' });
    const b = await runRaftSim({ seed: 9, variant: 'correct' });
    expect(b.events).toBe(a.events);
    expect(JSON.stringify(b.history)).toBe(JSON.stringify(a.history));
  });

  const caught: readonly [RaftVariant, number][] = [
    ['ack-before-sync', 10],
    ['follower-reads', 10],
    ['leader-local-reads', 30],
    ['lease-reads', 30],
    ['forget-vote', 30],
  ];
  // Figure 8 needs a rare schedule at random (the first seed of 1..200 that shows it is 188).
  it('catches the broken variant commit-by-counting on seed 188 (leader completeness)', async () => {
    const run = await runRaftSeed(188, 'commit-by-counting');
    expect(run.violations).toBeGreaterThan(0);
    expect(run.firstViolation?.summary).toMatch(/^leader-completeness/);
    expect((await runRaftSeed(188, 'correct')).violations).toBe(0);
  });

  for (const [variant, seeds] of caught) {
    it(`catches the broken variant ${variant} within seeds 1..${seeds}`, async () => {
      expect((await failingSeeds(variant, 1, seeds)).length).toBeGreaterThan(0);
    }, 600_000);
  }
});

import { describe, expect, it } from 'vitest';
import { runCli } from '../../cli/run.js';
import { simCommand } from '../../cli/sim.js';
import { runRaftSeed } from './protocol.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['sim', 'raft', ...args], [simCommand], {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    errIsTty: false,
  });
  return { code, out, err };
}

describe('faultline sim raft', () => {
  it('lists the variants, correct first', async () => {
    const { code, out } = await cli(['--list-variants']);
    expect(code).toBe(0);
    expect(out.trim().split('\n')).toEqual([
      'correct',
      'commit-by-counting',
      'forget-vote',
      'follower-reads',
      'leader-local-reads',
      'ack-before-sync',
      'lease-reads',
    ]);
  });

  it('prints one JSON document with the histories', async () => {
    const { code, out } = await cli(['--seeds', '2', '--json']);
    expect(code).toBe(0);
    const doc = JSON.parse(out) as Record<string, unknown>;
    expect(doc).toMatchObject({
      protocol: 'raft',
      variant: 'correct',
      seeds: 2,
      violations: 0,
      histories: { linearizable: 2, 'not-linearizable': 0, unknown: 0 },
      failingSeeds: [],
    });
  }, 120_000);

  it('exits 1 and names the seed to replay when a broken variant is caught', async () => {
    const { code, err } = await cli(['--seed', '2', '--variant', 'ack-before-sync']);
    expect(code).toBe(1);
    expect(err).toContain('replay: faultline sim raft --seed 2 --variant ack-before-sync');
  }, 120_000);

  it('commit-by-counting is caught on seed 188 (leader completeness), where correct holds', async () => {
    // Found by `faultline sim raft --variant commit-by-counting --seeds 200` (1 of 200 seeds).
    const broken = await runRaftSeed(188, 'commit-by-counting');
    expect(broken.violations).toBeGreaterThan(0);
    expect(broken.firstViolation?.summary).toMatch(/^leader-completeness/);
    expect((await runRaftSeed(188, 'correct')).violations).toBe(0);
  }, 120_000);
});

import { describe, expect, it } from 'vitest';
import type { ProtocolSim } from '../protocols/contract.js';
import { runCli } from './run.js';
import { simCommand } from './sim.js';
import { runProtocol } from './sim-protocol.js';

async function cli(
  args: string[],
  errIsTty = false,
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['sim', ...args], [simCommand], {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    errIsTty,
  });
  return { code, out, err };
}

/** A protocol whose `broken` variant violates on seeds divisible by 3. */
const toy: ProtocolSim = {
  name: 'toy',
  summary: 'test protocol',
  variants: ['correct', 'broken'],
  nodes: { min: 3, max: 9, default: 5 },
  run({ seed, variant, nodes }) {
    const bad = variant === 'broken' && seed % 3 === 0;
    return Promise.resolve({
      violations: bad ? 2 : 0,
      ...(bad ? { firstViolation: { timeMs: seed, summary: 'two leaders' } } : {}),
      figures: { rounds: seed, nodes: nodes ?? 0 },
    });
  },
};

async function toyRun(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runProtocol(toy, args, {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
  });
  return { code, out, err };
}

describe('faultline sim <protocol>', () => {
  it('counts violating seeds, lists them and means the figures (json)', async () => {
    const r = await toyRun(['--seeds', '10', '--variant', 'broken', '--json', '--nodes', '7']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toEqual({
      protocol: 'toy',
      variant: 'broken',
      seeds: 10,
      firstSeed: 1,
      nodes: 7,
      violations: 3,
      failingSeeds: [3, 6, 9],
      figures: { rounds: 5.5, nodes: 7 },
    });
    expect(r.err).toMatch(
      /seed 3 at 3\.000 ms: two leaders; replay: faultline sim toy --seed 3 --variant broken --nodes 7/,
    );
  });

  it('exits 0 for the correct variant and lists the variants, correct first', async () => {
    expect((await toyRun(['--seeds', '5'])).code).toBe(0);
    expect((await toyRun(['--list-variants'])).out).toBe('correct\nbroken\n');
    const one = await toyRun(['--seed', '6', '--variant', 'broken']);
    expect(one.out).toMatch(/seeds\s+6\.\.6 \(1\)/);
    expect(one.code).toBe(1);
  });

  it('refuses bad flags naming the flag and value', async () => {
    await expect(toyRun(['--variant', 'nope'])).rejects.toThrow(
      /--variant must be one of correct, broken \(got "nope"\)/,
    );
    await expect(toyRun(['--nodes', '2'])).rejects.toThrow(
      /--nodes must be an integer in \[3, 9\]/,
    );
    await expect(toyRun(['--seeds', '0'])).rejects.toThrow(/--seeds/);
  });

  it('runs the kv example through the sim command and catches the lossy server', async () => {
    const ok = await cli(['kv', '--seeds', '5', '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({
      protocol: 'kv',
      violations: 0,
      histories: { linearizable: 5 },
    });
    const lossy = await cli(['kv', '--seeds', '20', '--variant', 'lossy', '--json']);
    const doc = JSON.parse(lossy.out) as { violations: number; failingSeeds: number[] };
    expect(doc.violations).toBeGreaterThan(0);
    expect(doc.failingSeeds.length).toBe(doc.violations);
    expect(lossy.code).toBe(1);
    expect(lossy.err).toMatch(/replay: faultline sim kv --seed \d+ --variant lossy/);
  });

  it('names an unknown protocol with exit 64', async () => {
    const r = await cli(['paxos-nope']);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(/unknown protocol "paxos-nope" \(one of kv/);
  });
});

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run.js';
import { simCommand } from './sim.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['sim', ...args], [simCommand], {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
  });
  return { code, out, err };
}

describe('faultline sim', () => {
  it('prints seed, events, trace hash and ops', async () => {
    const r = await cli(['--seed', '5', '--duration-ms', '200']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^seed\s+5$/m);
    expect(r.out).toMatch(/^events\s+\d+$/m);
    expect(r.out).toMatch(/^trace hash\s+[0-9a-f]{16}$/m);
    expect(r.out).toMatch(/ok\s+write/);
  });

  it('replays the same run from the same seed (json)', async () => {
    const a = await cli(['--seed', '9', '--duration-ms', '300', '--faults', 'random', '--json']);
    const b = await cli(['--seed', '9', '--duration-ms', '300', '--faults', 'random', '--json']);
    expect(a.code).toBe(0);
    const ja = JSON.parse(a.out) as {
      seed: number;
      traceHash: string;
      ops: unknown[];
      faults: unknown[];
    };
    expect(ja.seed).toBe(9);
    expect(ja.ops.length).toBeGreaterThan(0);
    expect(ja.faults.length).toBeGreaterThan(0);
    expect(b.out).toBe(a.out);
  });

  it('writes the trace with --trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-sim-'));
    try {
      const file = join(dir, 'trace.json');
      const r = await cli(['--seed', '2', '--duration-ms', '100', '--trace', file, '--json']);
      expect(r.code).toBe(0);
      const trace = JSON.parse(readFileSync(file, 'utf8')) as {
        hash: string;
        events: { kind: string }[];
        nodes: string[];
      };
      expect(trace.hash).toBe((JSON.parse(r.out) as { traceHash: string }).traceHash);
      expect(trace.nodes).toContain('server');
      expect(trace.events.some((e) => e.kind === 'deliver')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--check: a correct-server run under faults is linearizable (exit 0)', async () => {
    const r = await cli(['--seed', '2', '--faults', 'random', '--check']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^server\s+correct$/m);
    expect(r.out).toMatch(/^check\s+linearizable \(register, \d+ operations, 1 partition\)$/m);
    expect(r.err).toBe('');
  });

  it('--check --server lossy: prints the partial linearization and the seed, exits 1', async () => {
    const args = ['--seed', '2', '--faults', 'random', '--server', 'lossy', '--check'];
    const r = await cli(args);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^server\s+lossy$/m);
    expect(r.out).toMatch(/^check\s+NOT linearizable \(register/m);
    expect(r.out).toMatch(/partial linearization: \d+ of \d+ operations/);
    expect(r.out).toMatch(/cannot place: #\d+ process c\d: read → \d+ \[[\d.]+ \.\. [\d.]+ ms\]/);
    expect(r.err).toMatch(
      /^faultline sim: seed 2: the history is NOT linearizable; replay: faultline sim --seed 2 .*--server lossy --check$/m,
    );
    // The same seed replays the same run and the same verdict.
    expect(await cli(args)).toEqual(r);
  });

  it('--check --json adds the verdict', async () => {
    const lossy = await cli([
      '--seed',
      '2',
      '--faults',
      'random',
      '--server',
      'lossy',
      '--check',
      '--json',
    ]);
    expect(lossy.code).toBe(1);
    const out = JSON.parse(lossy.out) as {
      server: string;
      check: { verdict: string; operations: number };
    };
    expect(out.server).toBe('lossy');
    expect(out.check.verdict).toBe('not-linearizable');
    expect(out.check.operations).toBeGreaterThan(0);
    const plain = await cli(['--seed', '2', '--duration-ms', '100', '--json']);
    expect(JSON.parse(plain.out)).not.toHaveProperty('check');
  });

  it('--cas --check: compare-and-set runs check against the CAS register', async () => {
    const r = await cli(['--seed', '3', '--faults', 'random', '--cas', '--check', '--history']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/fail\s+cas \[\d,\d\]/);
    expect(r.out).toMatch(/^check\s+linearizable \(cas-register, \d+ operations/m);
    let caught: { code: number; err: string } | undefined;
    for (let seed = 1; seed <= 80 && caught === undefined; seed++) {
      const lossy = await cli([
        '--seed',
        String(seed),
        '--faults',
        'random',
        '--server',
        'lossy',
        '--cas',
        '--check',
      ]);
      if (lossy.code === 1) caught = lossy;
    }
    expect(caught?.err).toMatch(/--server lossy --cas --check$/m);
  });

  it.each([
    [['--server', 'buggy']],
    [['--check', 'yes']],
    [['--seed', 'abc']],
    [['--seed', '-1']],
    [['--duration-ms', '0']],
    [['--duration-ms', '600001']],
    [['--faults', 'some']],
    [['--bogus']],
    [['extra']],
  ])('exits 64 on bad flags %j', async (args) => {
    const r = await cli(args);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(/faultline sim:/);
  });
});

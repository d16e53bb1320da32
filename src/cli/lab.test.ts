import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLabPage } from '../../test/web/page.js';
import { labCommand } from './lab.js';
import { runCli } from './run.js';

async function cli(
  args: string[],
  errIsTty = false,
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['lab', ...args], [labCommand], {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    errIsTty,
  });
  return { code, out, err };
}

describe('faultline lab', () => {
  it('lists the scenarios', async () => {
    const r = await cli(['--list']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^lost-write\s+Lost write$/m);
    const j = await cli(['--list', '--json']);
    const doc = JSON.parse(j.out) as { scenarios: { name: string; variants: string[] }[] };
    expect(doc.scenarios.find((s) => s.name === 'stale-read')?.variants).toEqual([
      'unsafe',
      'safe',
    ]);
  });

  it('prints the table and exits 0 when the lab rule holds', async () => {
    const r = await cli(['--scenario', 'lost-write', '--scenario', 'stale-read', '--seeds', '3']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^stale-read\s+Stale read from a follower\s+FAILED 3\/3\s+held 3\/3\s+stale reads/m,
    );
    expect(r.out).toMatch(/Every safe variant held on every seed/);
    expect(r.err).toBe('');
  });

  it('prints exactly one JSON document with the documented fields', async () => {
    const r = await cli(['--scenario', 'stale-read', '--seeds', '2', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as {
      passed: boolean;
      scenarios: {
        name: string;
        problem: string;
        seeds: number;
        unsafe: Record<string, unknown>;
        safe: Record<string, unknown>;
      }[];
    };
    expect(doc.passed).toBe(true);
    const [s] = doc.scenarios;
    expect(s?.name).toBe('stale-read');
    expect(s?.seeds).toBe(2);
    expect(s?.problem.length).toBeGreaterThan(10);
    expect(s?.unsafe).toMatchObject({ violated: true, violatedSeeds: 2 });
    expect(s?.safe).toMatchObject({ violated: false, violatedSeeds: 0 });
    expect(typeof (s?.safe['figures'] as Record<string, number>)['staleReads']).toBe('number');
  });

  it('with --seed alone runs that seed and shows the evidence; an unsafe variant that holds there exits 1', async () => {
    const r = await cli(['--scenario', 'stale-read', '--seed', '4']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/seeds 4\n/);
    expect(r.out).toMatch(/stale-read \(unsafe, seed 4\) at [\d.]+ ms: not linearizable/);
    const lost = await cli([
      '--scenario',
      'lost-write',
      '--json',
      '--seeds',
      '1',
      '--seed',
      '0',
      '--scenario',
      'lost-write',
    ]);
    const doc = JSON.parse(lost.out) as {
      passed: boolean;
      scenarios: { unsafe: { violated: boolean } }[];
    };
    expect(lost.code).toBe(doc.scenarios[0]?.unsafe.violated === true ? 0 : 1);
  });

  it('draws progress on a terminal only', async () => {
    const tty = await cli(['--scenario', 'stale-read', '--seeds', '2'], true);
    expect(tty.err).toMatch(/\[1\/1\] stale-read: seed 2 \(2\/2\)/);
    const pipe = await cli(['--scenario', 'stale-read', '--seeds', '2']);
    expect(pipe.err).toBe('');
  });

  it('refuses bad flags with exit 64, naming the flag and value', async () => {
    for (const [args, pattern] of [
      [['--scenario', 'nope'], /unknown scenario "nope"/],
      [['--seeds', '0'], /--seeds must be an integer in \[1, 100000\] \(got "0"\)/],
      [['--seeds', 'NaN'], /--seeds/],
      [['--seed', '-3'], /--seed/],
      [['--seed', '1e3'], /--seed/],
      [['--bogus'], /bogus/],
      [['extra'], /unexpected argument "extra"/],
      [['--port', '8080'], /--port needs --serve/],
      [['--serve', '--port', '70000'], /--port/],
      [['--report', ''], /--report needs a directory/],
    ] as const) {
      const r = await cli([...args]);
      expect(r.code, args.join(' ')).toBe(64);
      expect(r.err).toMatch(pattern);
    }
  });
});

describe('faultline lab --report', () => {
  let dir: string;
  beforeAll(async () => {
    await ensureLabPage();
    dir = await mkdtemp(join(tmpdir(), 'faultline-lab-cli-'));
  }, 180_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes DIR/index.html holding the same verdicts as the table, and says where on stderr', async () => {
    const out = join(dir, 'report');
    const r = await cli(['--scenario', 'stale-read', '--seeds', '2', '--report', out]);
    expect(r.code).toBe(0);
    expect(r.err).toContain(`report written to ${join(out, 'index.html')}`);
    const html = await readFile(join(out, 'index.html'), 'utf8');
    const start = html.indexOf('{', html.indexOf('id="faultline-lab-report"'));
    const doc = JSON.parse(html.slice(start, html.indexOf('</script>', start))) as {
      seeds: number;
      scenarios: { summary: { name: string; unsafe: { violatedSeeds: number } } }[];
    };
    expect(doc.seeds).toBe(2);
    expect(doc.scenarios.map((s) => s.summary.name)).toEqual(['stale-read']);
    expect(doc.scenarios[0]?.summary.unsafe.violatedSeeds).toBe(2);
  });

  it('exits 73 naming the path when DIR cannot be written', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const r = await cli(['--scenario', 'stale-read', '--seeds', '1', '--report', join(file, 'x')]);
    expect(r.code).toBe(73);
    expect(r.err).toContain(join(file, 'x', 'index.html'));
  });
});

describe('faultline lab --serve', () => {
  it('serves the page on 127.0.0.1 until SIGINT, then exits with the verdict code', async () => {
    await ensureLabPage();
    const repo = join(import.meta.dirname, '..', '..');
    const child = spawn(
      process.execPath,
      [
        join(repo, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
        join(repo, 'src', 'cli', 'main.ts'),
        'lab',
        '--scenario',
        'stale-read',
        '--seeds',
        '1',
        '--serve',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
        const m = /serving (http:\/\/127\.0\.0\.1:\d+\/)/.exec(err);
        if (m?.[1] !== undefined) resolve(m[1]);
      });
      child.on('exit', (code) =>
        reject(new Error(`exited ${String(code)} before serving: ${err}`)),
      );
    });
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('id="faultline-lab-report"');
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 120_000);
});

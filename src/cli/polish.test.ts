/**
 * The command line's shared behaviour: `faultline help <command>`, JSON errors under `--json`,
 * progress on a terminal only, and `sim --check` keeping its output to the verdict.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commands } from './registry.js';
import { jsonError, runCli } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-polish-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(
  argv: string[],
  errIsTty = false,
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, commands, {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    errIsTty,
  });
  return { code, out, err };
}

const history = join(dir, 'h.jsonl');
writeFileSync(
  history,
  [
    '{"process":0,"type":"invoke","f":"write","value":1}',
    '{"process":0,"type":"ok","f":"write","value":1}',
    '{"process":1,"type":"invoke","f":"read","value":null}',
    '{"process":1,"type":"ok","f":"read","value":null}',
  ].join('\n'),
);

describe('faultline help <command>', () => {
  it('prints the command usage, like <command> --help', async () => {
    for (const command of commands) {
      const viaHelp = await cli(['help', command.name]);
      expect(viaHelp.code).toBe(0);
      expect(viaHelp.out).toBe((await cli([command.name, '--help'])).out);
      expect(viaHelp.out).toMatch(/^Usage: faultline /);
    }
    expect((await cli(['help'])).out).toMatch(/faultline help <command>/);
  });

  it('an unknown command is a usage error', async () => {
    const r = await cli(['help', 'nope']);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(/unknown command nope/);
  });
});

describe('--json errors', () => {
  const parsed = (out: string): { error: Record<string, unknown> } =>
    JSON.parse(out) as { error: Record<string, unknown> };

  it('are one JSON document on stdout, nothing on stderr', async () => {
    const missing = await cli(['check', join(dir, 'missing'), '--model', 'register', '--json']);
    expect(missing.code).toBe(66);
    expect(missing.err).toBe('');
    expect(parsed(missing.out).error).toMatchObject({ exitCode: 66, kind: 'no-input' });
    expect(parsed(missing.out).error['message']).toMatch(/^no such file: /);

    const usage = await cli(['check', history, '--json']);
    expect(usage.code).toBe(64);
    expect(parsed(usage.out).error).toEqual({
      exitCode: 64,
      kind: 'usage',
      message: '--model is required',
    });

    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"process":0,"type":"invoke","f":"write"}\n{"process":0,"type":"nope"}\n');
    const data = await cli(['check', bad, '--model', 'register', '--json']);
    expect(data.code).toBe(65);
    expect(parsed(data.out).error).toMatchObject({ exitCode: 65, kind: 'data-error', line: 2 });
  });

  it('hold for every command and for unknown ones', async () => {
    const sim = await cli(['sim', '--seed', 'x', '--json']);
    expect(sim.code).toBe(64);
    expect(parsed(sim.out).error['kind']).toBe('usage');
    const lab = await cli(['lab', '--no-such-flag', '--json']);
    expect(lab.code).toBe(64);
    expect(parsed(lab.out).error['kind']).toBe('usage');
    const unknown = await cli(['frobnicate', '--json']);
    expect(unknown.code).toBe(64);
    expect(parsed(unknown.out).error['message']).toMatch(/unknown command frobnicate/);
  });

  it('leave successful output and verdicts alone', async () => {
    const ok = await cli(['check', history, '--model', 'register', '--json']);
    expect(ok.code).toBe(1);
    expect(JSON.parse(ok.out)).toMatchObject({ verdict: 'not-linearizable' });
  });

  it('jsonError names the line when the message does', () => {
    expect(JSON.parse(jsonError(65, 'faultline check: f: line 3: bad\n'))).toEqual({
      error: { exitCode: 65, kind: 'data-error', message: 'f: line 3: bad', line: 3 },
    });
  });
});

describe('progress', () => {
  it('is drawn on stderr when it is a terminal, and erased; never otherwise', async () => {
    const tty = await cli(['check', history, '--model', 'register'], true);
    const plain = await cli(['check', history, '--model', 'register'], false);
    const withoutMs = (text: string): string => text.replace(/[\d.]+ ms/, '');
    expect(withoutMs(tty.out)).toBe(withoutMs(plain.out));
    expect(tty.err.startsWith('\r\u001b[K')).toBe(true);
    expect(tty.err).toMatch(/linearizable search, 0\/1 partitions decided/);
    expect(tty.err.endsWith('\r\x1b[K')).toBe(true);
    expect(plain.err).toBe('');
  });
});

describe('faultline sim --check', () => {
  const args = ['sim', '--seed', '2', '--faults', 'random', '--server', 'lossy', '--check'];

  it('prints the summary and the counterexample, the operations only with --history', async () => {
    const short = await cli(args);
    const full = await cli([...args, '--history']);
    expect(short.code).toBe(1);
    expect(full.code).toBe(1);
    const opLine = /^\s+\d+\.\d{3} ms\s+\S+\s+(invoke|ok|fail|info)\s/m;
    expect(short.out).not.toMatch(opLine);
    expect(short.out).toMatch(/^check\s+NOT linearizable/m);
    expect(full.out).toMatch(opLine);
    expect(full.out).toMatch(/^check\s+NOT linearizable/m);
    // Without --check the operations are the output.
    expect((await cli(['sim', '--seed', '2', '--duration-ms', '100'])).out).toMatch(opLine);
  });
});

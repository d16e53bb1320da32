/**
 * `faultline check` on hostile files, each generated here: the command ends with the documented
 * exit code and a short, escaped message, never a crash, a hang or a wrong verdict.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commands } from './registry.js';
import { runCli } from './run.js';
import { firstInvalidUtf8 } from './input.js';
import { terminalSafe } from './text.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['check', ...argv], commands, {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
  });
  return { code, out, err };
}

// What must never reach a terminal raw: C0 controls but newline and tab, DEL, C1, bidi overrides.
// eslint-disable-next-line no-control-regex -- the test looks for control characters.
const unsafe = new RegExp('[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u202a-\\u202e]');
const invoke = '{"process":0,"type":"invoke","f":"write","value":1}';

describe('faultline check on hostile files', () => {
  it('deep nesting: exit 65 naming the line', async () => {
    const path = file(
      'deep.jsonl',
      `${invoke}\n{"process":0,"type":"ok","f":"write","value":${'['.repeat(500_000)}`,
    );
    const r = await cli(path, '--model', 'register');
    expect(r.code).toBe(65);
    expect(r.err).toMatch(/line 2: .*nested deeper than 100 levels/);
  });

  it('invalid UTF-8: exit 65 naming the line', async () => {
    const good = Buffer.from(`${invoke}\n`);
    const bad = Buffer.from('{"process":0,"type":"ok","f":"write","value":"\xff"}', 'latin1');
    const r = await cli(file('bad-utf8.jsonl', Buffer.concat([good, bad])), '--model', 'register');
    expect(r.code).toBe(65);
    expect(r.err).toMatch(/line 2: invalid UTF-8 at byte \d+ \(0xff\)/);
  });

  it('finds the first invalid UTF-8 byte (overlong forms, surrogates, truncation)', () => {
    expect(firstInvalidUtf8(Buffer.from('añ€😀'))).toBe(Buffer.from('añ€😀').length);
    expect(firstInvalidUtf8(Uint8Array.of(0x41, 0xc0, 0xaf))).toBe(1); // overlong '/'
    expect(firstInvalidUtf8(Uint8Array.of(0xed, 0xa0, 0x80))).toBe(0); // a UTF-16 surrogate
    expect(firstInvalidUtf8(Uint8Array.of(0x41, 0x42, 0xe2, 0x82))).toBe(2); // cut short
    expect(firstInvalidUtf8(Uint8Array.of(0xf4, 0x90, 0x80, 0x80))).toBe(0); // above U+10FFFF
  });

  it('a FIFO or a device is refused at once (exit 66), never read', async () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const r = await cli(fifo, '--model', 'register');
    expect(r.code).toBe(66);
    expect(r.err).toMatch(/it is a FIFO, not a regular file/);
    const zero = await cli('/dev/zero', '--model', 'register');
    expect(zero.code).toBe(66);
    expect(zero.err).toMatch(/it is a device/);
  });

  it('a file over --max-input-mb: exit 65', async () => {
    const path = file('big.jsonl', `${invoke}\n${' '.repeat(2 ** 20)}\n`);
    const r = await cli(path, '--model', 'register', '--max-input-mb', '1');
    expect(r.code).toBe(65);
    expect(r.err).toMatch(/too large .*--max-input-mb/);
    expect((await cli(path, '--model', 'register', '--max-input-mb', '2')).code).toBe(0);
    expect((await cli(path, '--model', 'register', '--max-input-mb', '0')).code).toBe(64);
  });

  it('the timeout counts reading the file: --timeout-ms 0 is unknown (exit 2)', async () => {
    const path = file('ok.jsonl', `${invoke}\n{"process":0,"type":"ok","f":"write","value":1}\n`);
    const r = await cli(path, '--model', 'register', '--timeout-ms', '0', '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toMatchObject({ verdict: 'unknown' });
  });

  it('integers beyond 2^53 stay exact: a wrong read is not linearizable (exit 1)', async () => {
    const path = file(
      'big-int.jsonl',
      [
        '{"process":0,"type":"invoke","f":"write","value":9007199254740993}',
        '{"process":0,"type":"ok","f":"write","value":9007199254740993}',
        '{"process":1,"type":"invoke","f":"read","value":null}',
        '{"process":1,"type":"ok","f":"read","value":9007199254740992}',
      ].join('\n'),
    );
    const r = await cli(path, '--model', 'register');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/read null → 9007199254740992|9007199254740992/);
  });

  it('error messages reach the terminal escaped and truncated', async () => {
    // JSON escapes: the function name holds a C1 control (CSI) and a bidi override once decoded,
    // which JSON.stringify in the message would let through.
    const f = `\\u009b2J\\u202e${'x'.repeat(100_000)}`;
    const path = file('escape.jsonl', `{"process":0,"type":"invoke","f":"${f}"}\n`);
    const r = await cli(path, '--model', 'register');
    expect(r.code).toBe(65);
    expect(r.err).toMatch(/line 1: the register model has no operation/);
    expect(r.err).not.toMatch(unsafe);
    expect(r.err).toContain('\\u009b2J\\u202e');
    expect(r.err.length).toBeLessThan(1000);
    const missing = await cli(join(dir, 'no\u001b[2Jsuch'), '--model', 'register');
    expect(missing.code).toBe(66);
    expect(missing.err).not.toMatch(unsafe);
    expect(missing.err).toContain('no\\u001b[2Jsuch');
    let err = '';
    const unknown = await runCli(['\u001b[31mcheck\u202e'], commands, {
      out: () => undefined,
      err: (t) => void (err += t),
    });
    expect(unknown).toBe(64);
    expect(err).not.toMatch(unsafe);
  });

  it('terminalSafe escapes controls and bidi overrides and says how much it cut', () => {
    expect(terminalSafe('a\nb\rc\x1b\u009b\u202ed\te')).toBe('a\\nb\\rc\\u001b\\u009b\\u202ed\te');
    expect(terminalSafe('y'.repeat(10), 4)).toBe('yyyy… (6 more characters)');
    expect(terminalSafe(`a${'😀'}`, 2)).toBe('a… (2 more characters)');
  });
});

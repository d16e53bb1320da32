import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCommand } from './check.js';
import { commands } from './registry.js';
import { runCli } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
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

const jsonl = (events: object[]): string => events.map((e) => JSON.stringify(e)).join('\n');

// P0 writes 1; after it completes, P1 reads nil: sequentially consistent, not linearizable.
const stale = file(
  'stale.jsonl',
  jsonl([
    { process: 0, type: 'invoke', f: 'write', value: 1 },
    { process: 0, type: 'ok', f: 'write', value: 1 },
    { process: 1, type: 'invoke', f: 'read', value: null },
    { process: 1, type: 'ok', f: 'read', value: null },
  ]),
);
const good = file(
  'good.jsonl',
  jsonl([
    { process: 0, type: 'invoke', f: 'write', value: 1 },
    { process: 1, type: 'invoke', f: 'read', value: null },
    { process: 1, type: 'ok', f: 'read', value: null },
    { process: 0, type: 'ok', f: 'write', value: 1 },
  ]),
);
const jepsen = file(
  'etcd.log',
  [
    'INFO  jepsen.util - 0\t:invoke\t:write\t3',
    'INFO  jepsen.util - 0\t:ok\t:write\t3',
    'INFO  jepsen.util - 1\t:invoke\t:cas\t[3 4]',
    'INFO  jepsen.util - 1\t:ok\t:cas\t[3 4]',
    'INFO  jepsen.util - 2\t:invoke\t:read\tnil',
    'INFO  jepsen.util - 2\t:ok\t:read\t3',
  ].join('\n'),
);

/** Many concurrent writes, then reads no order explains: a long search before any verdict. */
function hard(n: number): string {
  const events: object[] = [];
  for (let p = 0; p < n; p++) events.push({ process: p, type: 'invoke', f: 'write', value: p });
  for (let p = 0; p < n; p++)
    events.push({ process: n + p, type: 'invoke', f: 'read', value: null });
  for (let p = 0; p < n; p++)
    events.push({ process: n + p, type: 'ok', f: 'read', value: (p * 7) % n });
  for (let p = 0; p < n; p++) events.push({ process: p, type: 'ok', f: 'write', value: p });
  events.push(
    { process: 999, type: 'invoke', f: 'read', value: null },
    { process: 999, type: 'ok', f: 'read', value: -1 },
  );
  return jsonl(events);
}

describe('faultline check', () => {
  it('is registered and documents its exit codes', () => {
    expect(commands).toContain(checkCommand);
    expect(checkCommand.usage).toMatch(/0 linearizable, 1 not linearizable, 2 unknown/);
  });

  it('exits 0 for a linearizable history and prints the JSON summary', async () => {
    const { code, out } = await cli(good, '--model', 'cas-register', '--json');
    expect(code).toBe(0);
    const parsed = JSON.parse(out) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['verdict', 'operations', 'partitions', 'ms']);
    expect(parsed).toMatchObject({ verdict: 'linearizable', operations: 2, partitions: 1 });
    expect(Number.isInteger(parsed['ms'])).toBe(true);
    expect(out.endsWith('}\n')).toBe(true);
  });

  it('exits 1 for a non-linearizable history and names the operation', async () => {
    const { code, out } = await cli(stale, '--model', 'register');
    expect(code).toBe(1);
    expect(out).toMatch(/NOT linearizable/);
    expect(out).toMatch(/cannot place: #1 process 1: read → nil \(line 3\)/);
    const json = await cli(jepsen, '--model', 'cas-register', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({ verdict: 'not-linearizable', operations: 3 });
  });

  it('checks sequential consistency on request', async () => {
    const { code, out } = await cli(
      stale,
      '--model',
      'register',
      '--criterion',
      'sequential',
      '--json',
    );
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ verdict: 'sequentially-consistent' });
  });

  it('exits 2 with verdict unknown when the timeout passes', async () => {
    const path = file('hard.jsonl', hard(14));
    const { code, out } = await cli(path, '--model', 'register', '--timeout-ms', '0', '--json');
    expect(code).toBe(2);
    expect(JSON.parse(out)).toMatchObject({ verdict: 'unknown' });
  });

  it('writes an HTML visualisation naming the operations', async () => {
    const html = join(dir, 'out.html');
    const { code, out } = await cli(jepsen, '--model', 'cas-register', '--html', html);
    expect(code).toBe(1);
    expect(out).toContain(`html: ${html}`);
    const page = readFileSync(html, 'utf8');
    for (const name of ['write 3', 'cas [3,4]', 'read → 3']) expect(page).toContain(name);
    expect(page).toContain('class="op failing"');
  });

  it('exits 64 for usage errors', async () => {
    for (const argv of [
      [good],
      [good, '--model', 'tree'],
      [good, '--model', 'kv', '--format', 'xml'],
      [good, '--model', 'kv', '--criterion', 'strict'],
      [good, '--model', 'kv', '--timeout-ms', '-3'],
      [good, '--model', 'kv', '--timeout-ms', '1.5'],
      [good, '--model', 'kv', '--bogus'],
      ['--model', 'kv'],
      [good, good, '--model', 'kv'],
    ]) {
      const { code, err } = await cli(...argv);
      expect(code, argv.join(' ')).toBe(64);
      expect(err).toMatch(/^faultline check: /);
    }
  });

  it('exits 65 for malformed input, naming the line', async () => {
    const bad = file(
      'bad.jsonl',
      `${jsonl([{ process: 0, type: 'invoke', f: 'read' }])}\n{"process": 0, "type": "ok"`,
    );
    const { code, err } = await cli(bad, '--model', 'register');
    expect(code).toBe(65);
    expect(err).toMatch(/line 2: invalid JSON/);
    const wrongFormat = await cli(jepsen, '--model', 'cas-register', '--format', 'json');
    expect(wrongFormat.code).toBe(65);
    expect(wrongFormat.err).toMatch(/line 1/);
    const unknownOp = await cli(jepsen, '--model', 'queue');
    expect(unknownOp.code).toBe(65);
    expect(unknownOp.err).toMatch(
      /line 1: the queue model has no operation "write" \(it has enqueue, dequeue; is it the right model\?\)/,
    );
  });

  it('exits 66 for a missing file', async () => {
    const { code, err } = await cli(join(dir, 'missing.log'), '--model', 'kv');
    expect(code).toBe(66);
    expect(err).toMatch(/no such file/);
    const directory = await cli(dir, '--model', 'kv');
    expect(directory.code).toBe(66);
    expect(directory.err).toMatch(/cannot read/);
  });

  it('explains how to pass a flag value that starts with a dash', async () => {
    const { code, err } = await cli(good, '--model', 'register', '--timeout-ms', '-5');
    expect(code).toBe(64);
    expect(err).toMatch(/--timeout-ms needs a value \(write --timeout-ms=VALUE/);
    const negative = await cli(good, '--model', 'register', '--timeout-ms=-5');
    expect(negative.code).toBe(64);
    expect(negative.err).toMatch(/--timeout-ms must be an integer >= 0 \(got "-5"\)/);
  });
});

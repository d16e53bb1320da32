import { describe, expect, it } from 'vitest';
import { exitCodes, UsageError } from '../src/cli/command.js';
import type { Command } from '../src/cli/command.js';
import { commands } from '../src/cli/registry.js';
import { runCli } from '../src/cli/run.js';

function buffers() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

const echo: Command = {
  name: 'echo',
  summary: 'prints its arguments',
  usage: 'Usage: faultline echo WORDS...',
  run: async (args, io) => {
    if (args.includes('--bad')) throw new UsageError('--bad is not allowed');
    io.out(args.join(' '));
    return 0;
  },
};

describe('faultline CLI', () => {
  it('prints help listing the registered commands', async () => {
    const b = buffers();
    expect(await runCli(['--help'], [echo, ...commands], b.io)).toBe(0);
    expect(b.out.join('')).toMatch(/echo\s+prints its arguments/);
  });

  it('prints the package version', async () => {
    const b = buffers();
    expect(await runCli(['--version'], commands, b.io)).toBe(0);
    expect(b.out.join('')).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('exits 64 with one line for an unknown command or option', async () => {
    for (const argv of [['nope'], ['--nope']]) {
      const b = buffers();
      expect(await runCli(argv, commands, b.io)).toBe(exitCodes.usage);
      expect(b.err.join('').trim().split('\n')).toHaveLength(1);
      expect(b.err.join('')).toContain(argv[0]);
    }
  });

  it('dispatches to a command, shows its usage, and maps usage errors to 64', async () => {
    const b = buffers();
    expect(await runCli(['echo', 'a', 'b'], [echo], b.io)).toBe(0);
    expect(b.out.join('')).toBe('a b');
    const h = buffers();
    expect(await runCli(['echo', '--help'], [echo], h.io)).toBe(0);
    expect(h.out.join('')).toContain('Usage: faultline echo');
    const e = buffers();
    expect(await runCli(['echo', '--bad'], [echo], e.io)).toBe(64);
    expect(e.err.join('')).toBe('faultline echo: --bad is not allowed\n');
  });

  it('gives every registered command a name, summary and usage', () => {
    const names = commands.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const c of commands) {
      expect(c.summary.length).toBeGreaterThan(0);
      expect(c.usage).toContain(c.name);
    }
  });
});

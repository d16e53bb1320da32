/**
 * Benchmark runner: `npm run --silent bench -- <suite> [--json] [suite args...]`.
 * Prints a table (stdout) or exactly one JSON document with --json; progress goes to stderr.
 */
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchSuite } from './types.js';
import { formatTable } from './util.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const infrastructure = new Set(['main.ts', 'types.ts', 'util.ts']);

function suiteNames(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !infrastructure.has(f))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const rest = argv.filter((a) => a !== '--json');
  const [name, ...args] = rest;
  const names = suiteNames();
  if (name === undefined || !names.includes(name)) {
    process.stderr.write(
      `usage: npm run --silent bench -- <suite> [--json]\nsuites: ${names.join(', ') || '(none)'}\n`,
    );
    return 64;
  }
  const mod = (await import(pathToFileURL(`${here}${name}.ts`).href)) as { default: BenchSuite };
  const suite = mod.default;
  const log = (m: string) => void process.stderr.write(`[${suite.name}] ${m}\n`);
  const rows = await suite.run({ args, log });
  if (json) {
    const environment = {
      node: process.version,
      platform: `${os.platform()} ${os.arch()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    };
    process.stdout.write(`${JSON.stringify({ suite: suite.name, environment, cases: rows })}\n`);
  } else {
    process.stdout.write(`${suite.description}\n\n${formatTable(rows)}\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${String((error as Error)?.stack ?? error)}\n`);
    process.exitCode = 1;
  },
);

/**
 * Parses the top-level command line and dispatches to a subcommand. Kept apart from `main.ts` so
 * tests can run the CLI in-process.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { exitCodes, UsageError } from './command.js';
import type { Command, CommandIo } from './command.js';
import { terminalSafe } from './text.js';

function version(): string {
  const url = new URL('../../package.json', import.meta.url);
  const pkg = JSON.parse(readFileSync(url, 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

function help(commands: readonly Command[]): string {
  const width = Math.max(8, ...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'faultline: distributed-systems problems, made solvable and visible',
    '',
    'Usage: faultline <command> [options]',
    '       faultline <command> --help',
    '',
    'Commands:',
    ...(lines.length > 0 ? lines : ['  (none yet)']),
    '',
    'Options:',
    '  -h, --help     show this help',
    '  -v, --version  print the version',
    '',
  ].join('\n');
}

/**
 * Runs the CLI with `argv` (without the node and script paths) and resolves to the exit code.
 * Usage errors print one line to `io.err` and resolve to 64.
 */
export async function runCli(
  argv: readonly string[],
  commands: readonly Command[],
  io: CommandIo,
): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    io.out(help(commands));
    return exitCodes.ok;
  }
  if (first === '-v' || first === '--version') {
    io.out(`${version()}\n`);
    return exitCodes.ok;
  }
  const command = commands.find((c) => c.name === first);
  if (command === undefined) {
    const what = first.startsWith('-') ? `unknown option ${first}` : `unknown command ${first}`;
    io.err(`faultline: ${terminalSafe(what)} (see faultline --help)\n`);
    return exitCodes.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage.endsWith('\n') ? command.usage : `${command.usage}\n`);
    return exitCodes.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.err(
        `faultline ${command.name}: ${terminalSafe((error as Error).message.split('\n')[0] ?? '')}\n`,
      );
      return exitCodes.usage;
    }
    throw error;
  }
}

/** `node:util` parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for bad flags. */
function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

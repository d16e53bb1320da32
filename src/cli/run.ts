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
    '       faultline help <command>',
    '',
    'Commands:',
    ...(lines.length > 0 ? lines : ['  (none yet)']),
    '',
    'Options:',
    '  -h, --help     show this help',
    '  -v, --version  print the version',
    '  --json         (with a command that takes it) errors too are one JSON document on stdout:',
    '                 {"error": {"exitCode", "kind", "message", "line"?}}',
    '',
  ].join('\n');
}

/** The names of the exit codes that mean an error, for `--json` error documents. */
const errorKinds: Readonly<Record<number, string>> = {
  64: 'usage',
  65: 'data-error',
  66: 'no-input',
  70: 'software',
  73: 'cannot-create',
};

/**
 * The JSON document of an error under `--json`: `{"error": {"exitCode", "kind", "message",
 * "line"?}}`, `message` without the `faultline <command>:` prefix.
 */
export function jsonError(exitCode: number, text: string): string {
  const message = text
    .trim()
    .split('\n')
    .map((l) => l.replace(/^faultline(?: [\w-]+)?: /, ''))
    .join('\n');
  const line = /\bline (\d+):/.exec(message)?.[1];
  const error = {
    exitCode,
    kind: errorKinds[exitCode] ?? 'error',
    message,
    ...(line === undefined ? {} : { line: Number(line) }),
  };
  return `${JSON.stringify({ error })}\n`;
}

/**
 * Runs the CLI with `argv` (without the node and script paths) and resolves to the exit code.
 * Usage errors print one line to `io.err` and resolve to 64. With `--json` anywhere on the command
 * line, an error (exit code 64 and above) is one JSON document on stdout instead (see
 * {@link jsonError}), so a script reading stdout always gets JSON.
 */
export async function runCli(
  argv: readonly string[],
  commands: readonly Command[],
  io: CommandIo,
): Promise<number> {
  if (!argv.includes('--json')) return dispatch(argv, commands, io);
  let errors = '';
  const buffered: CommandIo = {
    out: (text) => io.out(text),
    // Progress lines (they start with a carriage return) still go to the terminal.
    err: (text) => (text.startsWith('\r') ? io.err(text) : void (errors += text)),
    ...(io.errIsTty === undefined ? {} : { errIsTty: io.errIsTty }),
  };
  let code: number;
  try {
    code = await dispatch(argv, commands, buffered);
  } catch (error) {
    io.out(jsonError(exitCodes.software, `internal error: ${terminalSafe(String(error))}`));
    return exitCodes.software;
  }
  if (code >= exitCodes.usage && errors !== '') io.out(jsonError(code, errors));
  else if (errors !== '') io.err(errors);
  return code;
}

async function dispatch(
  argv: readonly string[],
  commands: readonly Command[],
  io: CommandIo,
): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help') {
    io.out(help(commands));
    return exitCodes.ok;
  }
  if (first === 'help') return helpCommand(rest, commands, io);
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
    io.out(usageOf(command));
    return exitCodes.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      const message = (error as Error).message.split('\n')[0] ?? '';
      io.err(`faultline ${command.name}: ${terminalSafe(message)}\n`);
      return exitCodes.usage;
    }
    throw error;
  }
}

function usageOf(command: Command): string {
  return command.usage.endsWith('\n') ? command.usage : `${command.usage}\n`;
}

/** `faultline help [command]`: the overview, or one command's usage. */
function helpCommand(rest: readonly string[], commands: readonly Command[], io: CommandIo): number {
  const words = rest.filter((w) => w !== '--json');
  if (words.length === 0) {
    io.out(help(commands));
    return exitCodes.ok;
  }
  const command = commands.find((c) => c.name === words[0]);
  if (command === undefined || words.length > 1) {
    const what = command === undefined ? `unknown command ${words[0]}` : 'help takes one command';
    io.err(`faultline help: ${terminalSafe(what ?? '')} (see faultline --help)\n`);
    return exitCodes.usage;
  }
  io.out(usageOf(command));
  return exitCodes.ok;
}

/** `node:util` parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for bad flags. */
function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/**
 * `faultline check FILE --model NAME`: checks a recorded history for linearizability (or
 * sequential consistency) and optionally writes an HTML visualisation.
 *
 * @module
 */
import { writeFile } from 'node:fs/promises';
import { systemRuntime } from '../core/system.js';
import type { CheckProgress, CheckResult, Criterion } from '../check/checker.js';
import { check } from '../check/checker.js';
import type { HistoryFormat } from '../check/formats/index.js';
import { historyFormats, parseHistory } from '../check/formats/index.js';
import { isHistoryError, toOperations } from '../check/history.js';
import type { Operation } from '../check/history.js';
import { operationText } from '../check/describe.js';
import { renderHtml } from '../check/html.js';
import type { Model } from '../check/model.js';
import type { ModelName } from '../check/models.js';
import { modelByName, modelNames } from '../check/models.js';
import { integerFlag, oneOf, parseFlags, verdictExitCode, verdictExitCodes } from './args.js';
import type { Command, CommandIo } from './command.js';
import { exitCodes, UsageError } from './command.js';
import { readInputFile } from './input.js';
import { progressLine } from './progress.js';
import { terminalSafe } from './text.js';

/** The default of `--max-input-mb`. */
const defaultMaxInputMb = 64;
/** The default of `--max-memory-mb`. */
const defaultMaxMemoryMb = 1024;

const usage = `Usage: faultline check FILE --model MODEL [options]

Checks a history for linearizability (or sequential consistency).

Options:
  --model MODEL        ${modelNames.join(' | ')} (required)
  --format FORMAT      jepsen | edn | json (default: inferred from the file)
  --criterion C        linearizable (default) | sequential
  --timeout-ms N       give up after N ms with verdict unknown, reading and parsing the file
                       included (default: no timeout)
  --max-input-mb N     refuse files larger than N MiB (default ${defaultMaxInputMb})
  --max-memory-mb N    bound the search's caches, all partitions together, to about N MiB;
                       past it the verdict is unknown (default ${defaultMaxMemoryMb})
  --json               print {"verdict","operations","partitions","ms"} as one JSON line
  --html OUT           write a self-contained HTML visualisation to OUT
  -h, --help           show this help

Exit codes: 0 linearizable, 1 not linearizable, 2 unknown (timeout or memory bound),
64 usage error, 65 malformed input (the message names the line; also a file over
--max-input-mb or not valid UTF-8), 66 missing or unreadable file (or not a regular file:
FIFOs and devices are refused), 73 cannot write --html.
`;

interface Args {
  file: string;
  model: ModelName;
  format: HistoryFormat | undefined;
  criterion: Criterion;
  timeoutMs: number | undefined;
  maxInputMb: number;
  maxMemoryMb: number;
  json: boolean;
  html: string | undefined;
}

function parse(argv: readonly string[]): Args {
  const { values, positionals } = parseFlags(argv, {
    model: { type: 'string' },
    format: { type: 'string' },
    criterion: { type: 'string' },
    'timeout-ms': { type: 'string' },
    'max-input-mb': { type: 'string' },
    'max-memory-mb': { type: 'string' },
    json: { type: 'boolean', default: false },
    html: { type: 'string' },
  });
  if (positionals.length !== 1)
    throw new UsageError(`expected exactly one FILE (got ${positionals.length})`);
  const model = oneOf('model', values.model, modelNames);
  if (model === undefined) throw new UsageError('--model is required');
  return {
    file: positionals[0] as string,
    model,
    format: oneOf('format', values.format, historyFormats),
    criterion:
      oneOf('criterion', values.criterion, ['linearizable', 'sequential'] as const) ??
      'linearizable',
    timeoutMs: integerFlag('timeout-ms', values['timeout-ms'], 0),
    maxInputMb:
      integerFlag('max-input-mb', values['max-input-mb'], 1, 2 ** 20) ?? defaultMaxInputMb,
    maxMemoryMb:
      integerFlag('max-memory-mb', values['max-memory-mb'], 1, 2 ** 20) ?? defaultMaxMemoryMb,
    json: values.json,
    html: values.html,
  };
}

function verdictText(result: CheckResult): string {
  if (result.kind === 'unknown') return 'unknown';
  const legal = result.kind === 'legal';
  if (result.criterion === 'linearizable') return legal ? 'linearizable' : 'not-linearizable';
  return legal ? 'sequentially-consistent' : 'not-sequentially-consistent';
}

function describeOp(model: Model<unknown>, op: Operation): string {
  const text = operationText(model, op);
  const line = op.line === undefined ? '' : ` (line ${op.line})`;
  return `#${op.id} process ${terminalSafe(String(op.process), 40)}: ${terminalSafe(text, 200)}${line}`;
}

function humanSummary(
  file: string,
  model: Model<unknown>,
  result: CheckResult,
  ms: number,
): string {
  const verdict = verdictText(result).replace('not-', 'NOT ').replace(/-/g, ' ');
  const parts = result.partitions === 1 ? 'partition' : 'partitions';
  const lines = [
    `${terminalSafe(file)}: ${verdict} (${model.name}, ${result.operations} operations, ${result.partitions} ${parts}, ${ms.toFixed(1)} ms)`,
  ];
  if (result.kind === 'unknown') lines.push(`  stopped: ${result.reason}`);
  if (result.kind === 'illegal') {
    const cx = result.counterexample;
    lines.push(
      `  longest partial order: ${cx.linearized.length} of ${cx.operations.length} operations of partition ${cx.partition}`,
    );
    if (cx.failing !== undefined) lines.push(`  cannot place: ${describeOp(model, cx.failing)}`);
    for (const op of cx.pending.slice(0, 5)) lines.push(`  nor:          ${describeOp(model, op)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The verdict when the timeout passes before the search starts. */
function timedOut(criterion: Criterion, operations: number): CheckResult {
  return { criterion, operations, partitions: 0, visited: 0, kind: 'unknown', reason: 'timeout' };
}

/** Reads and checks the file; a number is an exit code after an error was printed. */
async function verdictOf(
  args: Args,
  io: CommandIo,
): Promise<number | { ops: Operation[]; result: CheckResult; ms: number }> {
  const runtime = systemRuntime();
  const clock = runtime.clock;
  const started = clock.monotonicMs();
  // The timeout covers reading and parsing the file too: a slow disk or a huge file counts.
  const deadline = args.timeoutMs === undefined ? Infinity : started + args.timeoutMs;
  const name = terminalSafe(args.file);
  const input = await readInputFile(args.file, {
    maxBytes: args.maxInputMb * 2 ** 20,
    clock,
    deadline,
  });
  if (input.kind === 'timeout')
    return { ops: [], result: timedOut(args.criterion, 0), ms: clock.monotonicMs() - started };
  if (input.kind === 'unreadable') {
    io.err(`faultline check: ${terminalSafe(input.message)}\n`);
    return exitCodes.noInput;
  }
  if (input.kind === 'invalid') {
    const where = input.line === undefined ? '' : `line ${input.line}: `;
    io.err(`faultline check: ${name}: ${where}${terminalSafe(input.message)}\n`);
    return exitCodes.dataError;
  }
  let ops: Operation[];
  let result: CheckResult;
  const progress = progressLine(io, clock);
  try {
    ops = toOperations(parseHistory(input.text, args.format));
    const options = {
      criterion: args.criterion,
      maxCacheBytes: args.maxMemoryMb * 2 ** 20,
      ...(progress === undefined
        ? {}
        : {
            onProgress: (p: CheckProgress) =>
              progress.update(
                () =>
                  `${args.file}: ${p.phase} search, ${p.partitions - p.undecided}/${p.partitions} partitions decided, ${p.visited} configurations`,
              ),
          }),
    };
    const left = deadline - clock.monotonicMs();
    result =
      args.timeoutMs === undefined
        ? check(ops, modelByName(args.model), options)
        : left <= 0
          ? timedOut(args.criterion, ops.length)
          : check(ops, modelByName(args.model), { ...options, timeoutMs: left, runtime });
  } catch (error) {
    if (!isHistoryError(error)) throw error;
    io.err(`faultline check: ${name}: ${terminalSafe(error.message)}\n`);
    return exitCodes.dataError;
  } finally {
    progress?.done();
  }
  return { ops, result, ms: clock.monotonicMs() - started };
}

async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parse(argv);
  const model = modelByName(args.model);
  const outcome = await verdictOf(args, io);
  if (typeof outcome === 'number') return outcome;
  const { ops, result, ms } = outcome;
  if (args.json) {
    const out = {
      verdict: verdictText(result),
      operations: result.operations,
      partitions: result.partitions,
      ms: Math.round(ms),
    };
    io.out(`${JSON.stringify(out)}\n`);
  } else {
    io.out(humanSummary(args.file, model, result, ms));
  }
  if (args.html !== undefined) {
    try {
      await writeFile(
        args.html,
        renderHtml(ops, result, model, { title: `faultline check ${args.file}` }),
      );
    } catch (error) {
      io.err(
        `faultline check: cannot write ${terminalSafe(args.html)}: ${terminalSafe((error as Error).message)}\n`,
      );
      return verdictExitCodes.cannotCreate;
    }
    if (!args.json) io.out(`  html: ${terminalSafe(args.html)}\n`);
  }
  return verdictExitCode(result);
}

/** The `faultline check` command. */
export const checkCommand: Command = {
  name: 'check',
  summary: 'check a history for linearizability (Jepsen, EDN or JSON)',
  usage,
  run,
};

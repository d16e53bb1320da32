/**
 * `faultline check FILE --model NAME`: checks a recorded history for linearizability (or
 * sequential consistency) and optionally writes an HTML visualisation.
 *
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises';
import { systemRuntime } from '../core/system.js';
import type { CheckResult, Criterion } from '../check/checker.js';
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

const usage = `Usage: faultline check FILE --model MODEL [options]

Checks a history for linearizability (or sequential consistency).

Options:
  --model MODEL        ${modelNames.join(' | ')} (required)
  --format FORMAT      jepsen | edn | json (default: inferred from the file)
  --criterion C        linearizable (default) | sequential
  --timeout-ms N       give up after N ms with verdict unknown (default: no timeout)
  --json               print {"verdict","operations","partitions","ms"} as one JSON line
  --html OUT           write a self-contained HTML visualisation to OUT
  -h, --help           show this help

Exit codes: 0 linearizable, 1 not linearizable, 2 unknown (timeout), 64 usage error,
65 malformed input (the message names the line), 66 missing or unreadable file,
73 cannot write --html.
`;

interface Args {
  file: string;
  model: ModelName;
  format: HistoryFormat | undefined;
  criterion: Criterion;
  timeoutMs: number | undefined;
  json: boolean;
  html: string | undefined;
}

function parse(argv: readonly string[]): Args {
  const { values, positionals } = parseFlags(argv, {
    model: { type: 'string' },
    format: { type: 'string' },
    criterion: { type: 'string' },
    'timeout-ms': { type: 'string' },
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
    json: values.json,
    html: values.html,
  };
}

function verdictOf(result: CheckResult): string {
  if (result.kind === 'unknown') return 'unknown';
  const legal = result.kind === 'legal';
  if (result.criterion === 'linearizable') return legal ? 'linearizable' : 'not-linearizable';
  return legal ? 'sequentially-consistent' : 'not-sequentially-consistent';
}

function describeOp(model: Model<unknown>, op: Operation): string {
  const text = operationText(model, op);
  return `#${op.id} process ${String(op.process)}: ${text}${op.line === undefined ? '' : ` (line ${op.line})`}`;
}

function humanSummary(
  file: string,
  model: Model<unknown>,
  result: CheckResult,
  ms: number,
): string {
  const verdict = verdictOf(result).replace('not-', 'NOT ').replace(/-/g, ' ');
  const parts = result.partitions === 1 ? 'partition' : 'partitions';
  const lines = [
    `${file}: ${verdict} (${model.name}, ${result.operations} operations, ${result.partitions} ${parts}, ${ms.toFixed(1)} ms)`,
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

async function readInput(file: string, io: CommandIo): Promise<string | number> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') {
      io.err(`faultline check: no such file: ${file}\n`);
      return exitCodes.noInput;
    }
    // Any other reason the file cannot be read (a directory, no permission) is still an input
    // that cannot be opened, not malformed data.
    io.err(`faultline check: cannot read ${file}: ${(error as Error).message}\n`);
    return exitCodes.noInput;
  }
}

async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parse(argv);
  const text = await readInput(args.file, io);
  if (typeof text === 'number') return text;
  const model = modelByName(args.model);
  const runtime = systemRuntime();
  const started = runtime.clock.monotonicMs();
  let ops: Operation[];
  let result: CheckResult;
  try {
    ops = toOperations(parseHistory(text, args.format));
    const options =
      args.timeoutMs === undefined
        ? { criterion: args.criterion }
        : { criterion: args.criterion, timeoutMs: args.timeoutMs, runtime };
    result = check(ops, model, options);
  } catch (error) {
    if (!isHistoryError(error)) throw error;
    io.err(`faultline check: ${args.file}: ${error.message}\n`);
    return exitCodes.dataError;
  }
  const ms = runtime.clock.monotonicMs() - started;
  if (args.json) {
    const out = {
      verdict: verdictOf(result),
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
      io.err(`faultline check: cannot write ${args.html}: ${(error as Error).message}\n`);
      return verdictExitCodes.cannotCreate;
    }
    if (!args.json) io.out(`  html: ${args.html}\n`);
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

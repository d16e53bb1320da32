/**
 * `faultline sim`: runs the simulator's key-value example workload from a seed and prints the
 * seed, the event count, the trace hash and the operations, so any run can be replayed; with
 * `--check` it also checks the recorded history for linearizability.
 *
 * @module
 */
import { writeFile } from 'node:fs/promises';
import type { CheckProgress, CheckResult } from '../check/checker.js';
import { systemRuntime } from '../core/system.js';
import { progressLine } from './progress.js';
import { check } from '../check/checker.js';
import type { Operation } from '../check/history.js';
import { casRegister, register } from '../check/models.js';
import { explainResult } from '../check/report.js';
import { kvServerKinds, runKvWorkload } from '../lab/kv/kv.js';
import type { KvServerKind, KvWorkloadResult } from '../lab/kv/kv.js';
import { integerFlag, oneOf, parseFlags, verdictExitCode, verdictExitCodes } from './args.js';
import type { Command, CommandIo } from './command.js';
import { exitCodes, UsageError } from './command.js';
import { protocols } from './protocols.js';
import { protocolUsage, runProtocol } from './sim-protocol.js';

const kvUsage = `Usage: faultline sim [options]
       faultline sim <protocol> --seeds N [--seed S] [--variant NAME] [--json] [--list-variants]

Runs the simulated key-value workload (one server, three clients) deterministically from a seed.

Options:
  --seed N           seed of the run (default 1); the same seed replays the same run
  --duration-ms N    virtual ms during which clients issue operations (default 2000, at
                     most 600000)
  --faults MODE      none (default) | random (swarm testing: the seed picks the fault kinds)
  --server KIND      correct (default: durable before acknowledged) | lossy (acknowledges
                     before it is durable and loses writes on a crash: a bug for --check to find)
  --cas              clients also issue compare-and-set (a false one is recorded fail)
  --check            check the history for linearizability (register model, cas-register with
                     --cas) and print the verdict; not linearizable prints the partial
                     linearization and exits 1
  --history          with --check, print every operation too (without --check they are always
                     printed); the check prints its summary and counterexample only
  --trace OUT.json   write the trace (events with virtual times) to OUT.json
  --json             print {"seed","server","events","traceHash","faults","ops"} as one JSON
                     line, plus "check": {"verdict", "operations"} with --check
  -h, --help         show this help

Exit codes: 0 success (linearizable with --check), 1 not linearizable, 2 check undecided (cache
bound), 64 usage error, 73 cannot write --trace.
`;

const usage = `${kvUsage}\n${protocolUsage(protocols)}`;

/**
 * The longest workload `--duration-ms` accepts: 10 virtual minutes (about 280,000 events, a second
 * of real time). Much longer runs outgrow the history and trace bounds of the simulation.
 */
const maxDurationMs = 600_000;

interface Args {
  seed: number;
  durationMs: number;
  faults: 'none' | 'random';
  server: KvServerKind;
  cas: boolean;
  check: boolean;
  history: boolean;
  trace: string | undefined;
  json: boolean;
}

function parse(argv: readonly string[]): Args {
  const { values, positionals } = parseFlags(argv, {
    seed: { type: 'string' },
    'duration-ms': { type: 'string' },
    faults: { type: 'string' },
    server: { type: 'string' },
    cas: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    history: { type: 'boolean', default: false },
    trace: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.trace === '') throw new UsageError('--trace needs a file name');
  return {
    seed: integerFlag('seed', values.seed, 0) ?? 1,
    durationMs: integerFlag('duration-ms', values['duration-ms'], 1, maxDurationMs) ?? 2000,
    faults: oneOf('faults', values.faults, ['none', 'random'] as const) ?? 'none',
    server: oneOf('server', values.server, kvServerKinds) ?? 'correct',
    cas: values.cas,
    check: values.check,
    history: values.history,
    trace: values.trace,
    json: values.json,
  };
}

function summary(result: KvWorkloadResult): {
  ok: number;
  fail: number;
  info: number;
  invoke: number;
} {
  const counts = { ok: 0, fail: 0, info: 0, invoke: 0 };
  for (const e of result.history) counts[e.type]++;
  return counts;
}

function printText(io: CommandIo, args: Args, result: KvWorkloadResult): void {
  const c = summary(result);
  io.out(`seed        ${args.seed}\n`);
  io.out(`server      ${result.server}\n`);
  io.out(`events      ${result.events}\n`);
  io.out(`trace hash  ${result.traceHash}\n`);
  io.out(
    `faults      ${args.faults === 'none' ? 'none' : `${result.faults.length} (${result.enabledFaults.join(', ')})`}\n`,
  );
  io.out(`ops         ${c.invoke} invoked: ${c.ok} ok, ${c.fail} fail, ${c.info} info\n`);
  // With --check the verdict and its counterexample are what matter; thousands of operations
  // above them would bury both.
  if (args.check && !args.history) return;
  for (const e of result.history) {
    const value = e.value === undefined ? '' : ` ${JSON.stringify(e.value)}`;
    io.out(
      `  ${e.timeMs.toFixed(3).padStart(10)} ms  ${e.process.padEnd(4)} ${e.type.padEnd(6)} ${e.f}${value}\n`,
    );
  }
}

/** The virtual times of an operation: its invocation and completion are history positions. */
function virtualTimes(result: KvWorkloadResult): (op: Operation) => string {
  const at = (i: number): string =>
    Number.isFinite(i) ? (result.history[i]?.timeMs ?? NaN).toFixed(3) : '∞';
  return (op) => `[${at(op.call)} .. ${at(op.ret)} ms]`;
}

function verdictOf(result: CheckResult): 'linearizable' | 'not-linearizable' | 'unknown' {
  if (result.kind === 'legal') return 'linearizable';
  return result.kind === 'illegal' ? 'not-linearizable' : 'unknown';
}

function replayCommand(args: Args): string {
  const flags = [`--seed ${args.seed}`, `--duration-ms ${args.durationMs}`];
  if (args.faults !== 'none') flags.push(`--faults ${args.faults}`);
  if (args.server !== 'correct') flags.push(`--server ${args.server}`);
  if (args.cas) flags.push('--cas');
  return `faultline sim ${flags.join(' ')} --check`;
}

async function writeTrace(io: CommandIo, file: string, result: KvWorkloadResult): Promise<boolean> {
  try {
    await writeFile(file, `${JSON.stringify(result.simulation.trace.toJSON())}\n`);
    return true;
  } catch (error) {
    io.err(`faultline sim: cannot write ${file}: ${(error as Error).message}\n`);
    return false;
  }
}

/** Prints the run and, with --check, the verdict; returns the exit code. */
function report(io: CommandIo, args: Args, result: KvWorkloadResult): number {
  const model = args.cas ? casRegister() : register();
  const progress = progressLine(io, systemRuntime().clock);
  const onProgress = (p: CheckProgress): void =>
    progress?.update(() => `checking seed ${args.seed}: ${p.visited} configurations`);
  const checked = args.check
    ? check(result.history, model, progress === undefined ? {} : { onProgress })
    : undefined;
  progress?.done();
  const verdict = checked === undefined ? undefined : verdictOf(checked);
  if (args.json) {
    const out = {
      seed: args.seed,
      server: result.server,
      events: result.events,
      traceHash: result.traceHash,
      faults: result.faults,
      ops: result.history,
      ...(checked === undefined ? {} : { check: { verdict, operations: checked.operations } }),
    };
    io.out(`${JSON.stringify(out)}\n`);
  } else {
    printText(io, args, result);
    if (checked !== undefined) {
      const text = explainResult(checked, model, { annotate: virtualTimes(result) });
      io.out(`check       ${text}\n`);
    }
  }
  if (verdict === 'not-linearizable' || verdict === 'unknown') {
    const what = verdict === 'unknown' ? 'could not be checked' : 'is NOT linearizable';
    io.err(
      `faultline sim: seed ${args.seed}: the history ${what}; replay: ${replayCommand(args)}\n`,
    );
  }
  return checked === undefined ? exitCodes.ok : verdictExitCode(checked);
}

/** The `sim` subcommand. */
export const simCommand: Command = {
  name: 'sim',
  summary: 'run the simulated key-value workload from a seed (deterministic replay, --check)',
  usage,
  async run(argv: readonly string[], io: CommandIo): Promise<number> {
    const [first, ...rest] = argv;
    if (first !== undefined && !first.startsWith('-')) {
      const protocol = protocols.find((p) => p.name === first);
      if (protocol === undefined)
        throw new UsageError(
          `unknown protocol ${JSON.stringify(first)} (one of ${protocols.map((p) => p.name).join(', ')})`,
        );
      return runProtocol(protocol, rest, io);
    }
    const args = parse(argv);
    const result = await runKvWorkload({
      seed: args.seed,
      durationMs: args.durationMs,
      faults: args.faults,
      server: args.server,
      cas: args.cas,
      trace: { record: args.trace !== undefined, hash: true },
    });
    if (args.trace !== undefined && !(await writeTrace(io, args.trace, result))) {
      return verdictExitCodes.cannotCreate;
    }
    return report(io, args, result);
  },
};

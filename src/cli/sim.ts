/**
 * `faultline sim`: runs the simulator's key-value example workload from a seed and prints the
 * seed, the event count, the trace hash and the operations, so any run can be replayed.
 *
 * @module
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { runKvWorkload } from '../sim/examples/kv.js';
import type { KvWorkloadResult } from '../sim/examples/kv.js';
import type { Command, CommandIo } from './command.js';
import { exitCodes, UsageError } from './command.js';

const usage = `Usage: faultline sim [options]

Runs the simulated key-value workload (one server, three clients) deterministically from a seed.

Options:
  --seed N           seed of the run (default 1); the same seed replays the same run
  --duration-ms N    virtual ms during which clients issue operations (default 2000)
  --faults MODE      none (default) | random (swarm testing: the seed picks the fault kinds)
  --trace OUT.json   write the trace (events with virtual times) to OUT.json
  --json             print {"seed","events","traceHash","faults","ops"} as one JSON line
  -h, --help         show this help

Exit codes: 0 success, 64 usage error, 73 cannot write --trace.
`;

interface Args {
  seed: number;
  durationMs: number;
  faults: 'none' | 'random';
  trace: string | undefined;
  json: boolean;
}

function integerFlag(
  flag: string,
  value: string | undefined,
  fallback: number,
  min: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${flag} must be an integer >= ${min} (got ${JSON.stringify(value)})`);
  }
  return n;
}

function parse(argv: readonly string[]): Args {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      seed: { type: 'string' },
      'duration-ms': { type: 'string' },
      faults: { type: 'string' },
      trace: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const faults = values.faults ?? 'none';
  if (faults !== 'none' && faults !== 'random') {
    throw new UsageError(`--faults must be one of none, random (got ${JSON.stringify(faults)})`);
  }
  if (values.trace === '') throw new UsageError('--trace needs a file name');
  return {
    seed: integerFlag('seed', values.seed, 1, 0),
    durationMs: integerFlag('duration-ms', values['duration-ms'], 2000, 1),
    faults,
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
  io.out(`events      ${result.events}\n`);
  io.out(`trace hash  ${result.traceHash}\n`);
  io.out(
    `faults      ${args.faults === 'none' ? 'none' : `${result.faults.length} (${result.enabledFaults.join(', ')})`}\n`,
  );
  io.out(`ops         ${c.invoke} invoked: ${c.ok} ok, ${c.fail} fail, ${c.info} info\n`);
  for (const e of result.history) {
    const value = e.value === undefined ? '' : ` ${JSON.stringify(e.value)}`;
    io.out(
      `  ${e.timeMs.toFixed(3).padStart(10)} ms  ${e.process.padEnd(4)} ${e.type.padEnd(6)} ${e.f}${value}\n`,
    );
  }
}

/** The `sim` subcommand. */
export const simCommand: Command = {
  name: 'sim',
  summary: 'run the simulated key-value workload from a seed (deterministic replay)',
  usage,
  async run(argv: readonly string[], io: CommandIo): Promise<number> {
    const args = parse(argv);
    const result = await runKvWorkload({
      seed: args.seed,
      durationMs: args.durationMs,
      faults: args.faults,
      trace: { record: args.trace !== undefined, hash: true },
    });
    if (args.trace !== undefined) {
      try {
        await writeFile(args.trace, `${JSON.stringify(result.simulation.trace.toJSON())}\n`);
      } catch (error) {
        io.err(`faultline sim: cannot write ${args.trace}: ${(error as Error).message}\n`);
        return 73;
      }
    }
    if (args.json) {
      const out = {
        seed: args.seed,
        events: result.events,
        traceHash: result.traceHash,
        faults: result.faults,
        ops: result.history,
      };
      io.out(`${JSON.stringify(out)}\n`);
    } else {
      printText(io, args, result);
    }
    return exitCodes.ok;
  },
};

/**
 * `faultline sim <protocol>`: the contract every simulated protocol shares — run N seeds of one
 * variant, count the seeds whose checkers found a violation, and print a summary or one JSON
 * document.
 *
 * @module
 */
import type { ProtocolRunResult, ProtocolSim } from '../protocols/contract.js';
import { integerFlag, parseFlags } from './args.js';
import type { CommandIo } from './command.js';
import { exitCodes, UsageError } from './command.js';

/** The most seeds one command runs. */
const MAX_SEEDS = 1_000_000;
/** The failing seeds a JSON document lists at most (the count is always exact). */
const MAX_LISTED_SEEDS = 1000;

/** The usage text of `faultline sim <protocol>`. */
export function protocolUsage(list: readonly ProtocolSim[]): string {
  const width = Math.max(4, ...list.map((p) => p.name.length));
  return `Usage: faultline sim <protocol> [options]

Runs a protocol in the simulator for N seeds and counts the seeds whose checkers found a
safety violation.

Protocols:
${list.map((p) => `  ${p.name.padEnd(width)}  ${p.summary}`).join('\n')}

Options:
  --seeds N          seeds to run (default 100, at most ${MAX_SEEDS.toLocaleString('en-US')})
  --seed S           first seed (default 1); alone, runs just seed S
  --variant NAME     the variant (default correct; see --list-variants)
  --nodes N          cluster size, for protocols that take one
  --list-variants    print the variants, correct first, one per line
  --json             print one JSON document: {"protocol","variant","seeds","violations",
                     "failingSeeds":[...],"figures":{...}} (+ "histories" where clients run)
  -h, --help         show this help

Exit codes: 0 no violation, 1 violations found (the message names a seed to replay), 64 usage
error.
`;
}

interface Args {
  seeds: number;
  firstSeed: number;
  variant: string;
  nodes: number | undefined;
  listVariants: boolean;
  json: boolean;
}

function parse(protocol: ProtocolSim, argv: readonly string[]): Args {
  const { values, positionals } = parseFlags(argv, {
    seeds: { type: 'string' },
    seed: { type: 'string' },
    variant: { type: 'string' },
    nodes: { type: 'string' },
    'list-variants': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  });
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const variant = values.variant ?? 'correct';
  if (!protocol.variants.includes(variant))
    throw new UsageError(
      `--variant must be one of ${protocol.variants.join(', ')} (got ${JSON.stringify(variant)})`,
    );
  const range = protocol.nodes;
  if (values.nodes !== undefined && range === undefined)
    throw new UsageError(`--nodes: ${protocol.name} has a fixed cluster size`);
  const nodes =
    range === undefined ? undefined : integerFlag('nodes', values.nodes, range.min, range.max);
  const seed = integerFlag('seed', values.seed, 0, Number.MAX_SAFE_INTEGER - MAX_SEEDS);
  const seeds = integerFlag('seeds', values.seeds, 1, MAX_SEEDS);
  return {
    seeds: seeds ?? (seed === undefined ? 100 : 1),
    firstSeed: seed ?? 1,
    variant,
    nodes: nodes ?? range?.default,
    listVariants: values['list-variants'],
    json: values.json,
  };
}

interface Totals {
  violatingSeeds: number;
  failingSeeds: number[];
  first: { seed: number; result: ProtocolRunResult } | undefined;
  sums: Map<string, number>;
  histories: Record<'linearizable' | 'not-linearizable' | 'unknown', number> | undefined;
}

function add(totals: Totals, seed: number, result: ProtocolRunResult): void {
  if (result.violations > 0) {
    totals.violatingSeeds++;
    if (totals.failingSeeds.length < MAX_LISTED_SEEDS) totals.failingSeeds.push(seed);
    totals.first ??= { seed, result };
  }
  for (const [name, value] of Object.entries(result.figures))
    totals.sums.set(name, (totals.sums.get(name) ?? 0) + value);
  if (result.history !== undefined) {
    totals.histories ??= { linearizable: 0, 'not-linearizable': 0, unknown: 0 };
    totals.histories[result.history]++;
  }
}

function replay(protocol: ProtocolSim, args: Args, seed: number): string {
  const nodes = args.nodes === undefined ? '' : ` --nodes ${args.nodes}`;
  return `faultline sim ${protocol.name} --seed ${seed} --variant ${args.variant}${nodes}`;
}

/** Runs `faultline sim <protocol> ...` and resolves to the exit code. */
export async function runProtocol(
  protocol: ProtocolSim,
  argv: readonly string[],
  io: CommandIo,
): Promise<number> {
  const args = parse(protocol, argv);
  if (args.listVariants) {
    io.out(`${protocol.variants.join('\n')}\n`);
    return exitCodes.ok;
  }
  const totals: Totals = {
    violatingSeeds: 0,
    failingSeeds: [],
    first: undefined,
    sums: new Map(),
    histories: undefined,
  };
  for (let i = 0; i < args.seeds; i++) {
    const seed = args.firstSeed + i;
    if (io.errIsTty === true && (i % 10 === 0 || i === args.seeds - 1))
      io.err(
        `\r\x1b[K${protocol.name} ${args.variant}: seed ${seed} (${i + 1}/${args.seeds}), ${totals.violatingSeeds} violating`,
      );
    const result = await protocol.run({
      seed,
      variant: args.variant,
      ...(args.nodes === undefined ? {} : { nodes: args.nodes }),
    });
    add(totals, seed, result);
  }
  if (io.errIsTty === true) io.err('\r\x1b[K');
  const figures: Record<string, number> = {};
  for (const [name, sum] of totals.sums)
    figures[name] = Math.round((sum / args.seeds) * 1000) / 1000;
  if (args.json) {
    io.out(
      `${JSON.stringify({
        protocol: protocol.name,
        variant: args.variant,
        seeds: args.seeds,
        firstSeed: args.firstSeed,
        ...(args.nodes === undefined ? {} : { nodes: args.nodes }),
        violations: totals.violatingSeeds,
        ...(totals.histories === undefined ? {} : { histories: totals.histories }),
        failingSeeds: totals.failingSeeds,
        figures,
      })}\n`,
    );
  } else {
    const last = args.firstSeed + args.seeds - 1;
    io.out(`protocol    ${protocol.name} (${args.variant})\n`);
    io.out(`seeds       ${args.firstSeed}..${last} (${args.seeds})\n`);
    io.out(`violations  ${totals.violatingSeeds} seed(s)\n`);
    if (totals.histories !== undefined) {
      const h = totals.histories;
      io.out(
        `histories   ${h.linearizable} linearizable, ${h['not-linearizable']} not, ${h.unknown} unknown\n`,
      );
    }
    for (const [name, value] of Object.entries(figures))
      io.out(`${name.padEnd(11)} ${value} (mean)\n`);
  }
  const first = totals.first;
  if (first === undefined) return exitCodes.ok;
  const what = first.result.firstViolation;
  const detail = what === undefined ? '' : ` at ${what.timeMs.toFixed(3)} ms: ${what.summary}`;
  io.err(
    `faultline sim ${protocol.name}: seed ${first.seed}${detail}; replay: ${replay(protocol, args, first.seed)}\n`,
  );
  return 1;
}

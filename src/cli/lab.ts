/**
 * `faultline lab`: runs the lab's scenarios (each classic problem's naive design and its fix) over
 * a range of seeds and prints the table, one JSON document, an offline report page, or serves
 * the page.
 *
 * @module
 */
import { catalogue, scenarioByName } from '../lab/catalogue.js';
import { buildReport } from '../lab/report.js';
import type { LabProgress, ScenarioSummary, VariantSummary } from '../lab/run.js';
import { DEFAULT_SEEDS, labPassed, runLab, runVariant, variantsOf } from '../lab/run.js';
import type { FigureSpec, Scenario } from '../lab/types.js';
import { integerFlag, parseFlags, verdictExitCodes } from './args.js';
import type { Command, CommandIo } from './command.js';
import { exitCodes, UsageError } from './command.js';
import { isLabPageMissingError, serveLab, writeReport } from './lab-web.js';

const MAX_CLI_SEEDS = 100_000;

const usage = `Usage: faultline lab [options]

Reproduces each classic problem of distributed systems and its fix: every scenario runs a naive
(unsafe) design and faultline's (safe) fix on the deterministic simulator, over a range of seeds,
and a checker outside the code under test decides each run.

Options:
  --list               list the scenarios and exit
  --scenario NAME      run only this scenario (repeatable; default: all)
  --seeds N            seeds per scenario (default ${DEFAULT_SEEDS}, at most ${MAX_CLI_SEEDS})
  --seed S             first seed (default 1); alone, runs just seed S and shows its evidence
  --json               print one JSON document instead of the table
  --report DIR         also write an offline page (DIR/index.html) with space-time diagrams
  --serve              serve that page on 127.0.0.1 and keep running (Ctrl-C stops)
  --port N             port for --serve (default 0: any free port)
  -h, --help           show this help

Exit codes: 0 every safe variant held on every seed and every unsafe variant failed on at least
one; 1 otherwise (the message names the scenario and the seed to replay); 64 usage error;
73 cannot write --report.
`;

interface Args {
  list: boolean;
  scenarios: readonly Scenario[];
  seeds: number;
  firstSeed: number;
  single: boolean;
  json: boolean;
  report: string | undefined;
  serve: boolean;
  port: number;
}

function parse(argv: readonly string[]): Args {
  const { values, positionals } = parseFlags(argv, {
    list: { type: 'boolean', default: false },
    scenario: { type: 'string', multiple: true },
    seeds: { type: 'string' },
    seed: { type: 'string' },
    json: { type: 'boolean', default: false },
    report: { type: 'string' },
    serve: { type: 'boolean', default: false },
    port: { type: 'string' },
  });
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.report === '') throw new UsageError('--report needs a directory');
  if (values.port !== undefined && !values.serve) throw new UsageError('--port needs --serve');
  const names = values.scenario ?? [];
  const scenarios: Scenario[] = [];
  for (const name of names) {
    const scenario = scenarioByName(name);
    if (scenario === undefined)
      throw new UsageError(`unknown scenario ${JSON.stringify(name)} (see faultline lab --list)`);
    if (!scenarios.includes(scenario)) scenarios.push(scenario);
  }
  const seed = integerFlag('seed', values.seed, 0, Number.MAX_SAFE_INTEGER - MAX_CLI_SEEDS);
  const seeds = integerFlag('seeds', values.seeds, 1, MAX_CLI_SEEDS);
  return {
    list: values.list,
    scenarios: scenarios.length > 0 ? scenarios : catalogue,
    seeds: seeds ?? (seed === undefined ? DEFAULT_SEEDS : 1),
    firstSeed: seed ?? 1,
    single: seed !== undefined && seeds === undefined,
    json: values.json,
    report: values.report,
    serve: values.serve,
    port: integerFlag('port', values.port, 0, 65_535) ?? 0,
  };
}

function listScenarios(args: Args, io: CommandIo): number {
  if (args.json) {
    const list = args.scenarios.map((s) => ({
      name: s.name,
      title: s.title,
      problem: s.problem,
      variants: variantsOf(s),
    }));
    io.out(`${JSON.stringify({ scenarios: list })}\n`);
    return exitCodes.ok;
  }
  const width = Math.max(...args.scenarios.map((s) => s.name.length));
  for (const s of args.scenarios) io.out(`${s.name.padEnd(width)}  ${s.title}\n`);
  return exitCodes.ok;
}

/** The progress line on a terminal: overwritten in place, cleared at the end. */
function progressPrinter(io: CommandIo): ((p: LabProgress) => void) | undefined {
  if (io.errIsTty !== true) return undefined;
  return (p) =>
    io.err(
      `\r\x1b[K[${p.scenarioIndex + 1}/${p.scenarios}] ${p.scenario}: seed ${p.seed} (${p.seedIndex + 1}/${p.seeds})`,
    );
}

function fmtNumber(x: number): string {
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString('en-US');
  return x.toFixed(Math.abs(x) >= 10 ? 1 : 2).replace(/\.?0+$/, '');
}

function verdictCell(summary: VariantSummary | undefined, seeds: number): string {
  if (summary === undefined) return '–';
  return summary.violated ? `FAILED ${summary.violatedSeeds}/${seeds}` : `held ${seeds}/${seeds}`;
}

function keyFigures(scenario: Scenario, summary: ScenarioSummary, textbook: boolean): string {
  const keys = scenario.figures.filter((f) => f.key === true);
  const shown = keys.length > 0 ? keys : scenario.figures.slice(0, 1);
  return shown.map((f) => figureText(f, summary, textbook)).join('; ');
}

/** `label unsafe → [textbook →] safe unit`; a dash where the table has a textbook column and this scenario has none. */
function figureText(figure: FigureSpec, summary: ScenarioSummary, textbook: boolean): string {
  const value = (v: VariantSummary | undefined): string =>
    v === undefined ? '–' : fmtNumber(v.figures[figure.name] ?? 0);
  const values = textbook
    ? [value(summary.unsafe), value(summary.textbook), value(summary.safe)]
    : [value(summary.unsafe), value(summary.safe)];
  const unit = figure.unit === '' ? '' : ` ${figure.unit}`;
  return `${figure.label} ${values.join(' → ')}${unit}`;
}

function table(scenarios: readonly Scenario[], summaries: readonly ScenarioSummary[]): string {
  const textbook = summaries.some((s) => s.textbook !== undefined);
  const header = [
    'scenario',
    'problem',
    'unsafe',
    ...(textbook ? ['textbook'] : []),
    'safe',
    `key figures (unsafe → ${textbook ? 'textbook → ' : ''}safe, mean per seed)`,
  ];
  const rows = summaries.map((s) => {
    const scenario = scenarios.find((x) => x.name === s.name) as Scenario;
    return [
      s.name,
      s.title,
      verdictCell(s.unsafe, s.seeds),
      ...(textbook ? [verdictCell(s.textbook, s.seeds)] : []),
      verdictCell(s.safe, s.seeds),
      keyFigures(scenario, s, textbook),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

async function evidenceLines(args: Args, summaries: readonly ScenarioSummary[]): Promise<string> {
  const out: string[] = [];
  for (const summary of summaries) {
    const scenario = args.scenarios.find((s) => s.name === summary.name) as Scenario;
    for (const variant of variantsOf(scenario)) {
      const seed = (summary[variant] as VariantSummary).firstViolatedSeed;
      if (seed === undefined) continue;
      const run = await runVariant(scenario, variant, { seed });
      const e = run.evidence;
      if (e === undefined) continue;
      out.push(
        `${summary.name} (${variant}, seed ${seed}) at ${e.timeMs.toFixed(3)} ms: ${e.summary}`,
      );
      for (const op of e.operations ?? []) out.push(`    ${op}`);
    }
  }
  return out.length === 0 ? '' : `\n${out.join('\n')}\n`;
}

function verdictLines(summaries: readonly ScenarioSummary[]): string {
  if (labPassed(summaries)) {
    const n = summaries.length;
    return `\nEvery safe variant held on every seed, and every unsafe and textbook variant failed on at least one (${n} scenario${n === 1 ? '' : 's'}).\n`;
  }
  return `\n${summaries.flatMap((s) => s.problems.map((p) => `faultline lab: ${p}`)).join('\n')}\n`;
}

async function runLabCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parse(argv);
  if (args.list) return listScenarios(args, io);
  const progress = progressPrinter(io);
  const summaries = await runLab(args.scenarios, {
    seeds: args.seeds,
    firstSeed: args.firstSeed,
    ...(progress === undefined ? {} : { onProgress: progress }),
  });
  if (progress !== undefined) io.err('\r\x1b[K');
  const passed = labPassed(summaries);
  if (args.json)
    io.out(
      `${JSON.stringify({ passed, seeds: args.seeds, firstSeed: args.firstSeed, scenarios: summaries })}\n`,
    );
  else {
    const last = args.firstSeed + args.seeds - 1;
    io.out(
      `faultline lab: ${summaries.length} scenarios, seeds ${args.firstSeed === last ? args.firstSeed : `${args.firstSeed}..${last}`}\n\n`,
    );
    io.out(table(args.scenarios, summaries));
    if (args.single || args.scenarios.length === 1) io.out(await evidenceLines(args, summaries));
    if (!passed) io.err(verdictLines(summaries));
    else io.out(verdictLines(summaries));
  }
  const code = passed ? exitCodes.ok : 1;
  if (args.report === undefined && !args.serve) return code;
  return publish(args, summaries, io, code);
}

/** Writes the report page and/or serves it; resolves to the exit code. */
async function publish(
  args: Args,
  summaries: readonly ScenarioSummary[],
  io: CommandIo,
  code: number,
): Promise<number> {
  const report = await buildReport(
    args.scenarios,
    summaries,
    args.single ? { seed: args.firstSeed } : {},
  );
  try {
    if (args.report !== undefined) {
      const path = await writeReport(args.report, report);
      io.err(`faultline lab: report written to ${path}\n`);
    }
    if (args.serve) await serveUntilStopped(report, args.port, io);
  } catch (error) {
    if (isLabPageMissingError(error)) {
      io.err(`faultline lab: ${error.message}\n`);
      return exitCodes.software;
    }
    io.err(`faultline lab: ${(error as Error).message}\n`);
    return verdictExitCodes.cannotCreate;
  }
  return code;
}

async function serveUntilStopped(
  report: Awaited<ReturnType<typeof buildReport>>,
  port: number,
  io: CommandIo,
): Promise<void> {
  const server = await serveLab(report, { port });
  io.err(`faultline lab: serving ${server.url} (Ctrl-C stops)\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
}

/** The `lab` subcommand. */
export const labCommand: Command = {
  name: 'lab',
  summary:
    'reproduce each classic problem and its fix in the simulator (table, JSON, report, page)',
  usage,
  run: runLabCommand,
};

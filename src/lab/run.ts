/**
 * Runs scenarios: one variant with one seed ({@link runVariant}), or every variant of several
 * scenarios over a range of seeds ({@link runLab}), with the verdict rule of the lab.
 *
 * @module
 */
import { assert } from '../core/assert.js';
import { FaultlineError } from '../core/errors.js';
import { integerIn, rangeError } from '../core/validate.js';
import { Simulation } from '../sim/simulation.js';
import type { SimulationOptions } from '../sim/simulation.js';
import type { TraceJson } from '../sim/trace.js';
import type { Evidence, LabContext, Scenario, VariantName, VariantOutcome } from './types.js';
import { variantNames } from './types.js';

/** A scenario's code broke the lab's contract (a lab bug, not a verdict). */
export class LabScenarioError extends FaultlineError {
  override name = 'LabScenarioError';
  constructor(
    readonly scenario: string,
    readonly variant: VariantName,
    readonly seed: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(
      'FAULTLINE_LAB_SCENARIO',
      `scenario ${scenario}, ${variant} variant, seed ${seed}: ${message}`,
      options,
    );
  }
}

/** True when `e` is a {@link LabScenarioError}. */
export function isLabScenarioError(e: unknown): e is LabScenarioError {
  return e instanceof LabScenarioError;
}

/** Options of {@link runVariant}. */
export interface RunVariantOptions {
  /** The seed (a safe integer >= 0). */
  seed: number;
  /** Knob values; missing ones take the scenario's defaults. */
  knobs?: Readonly<Record<string, number>>;
  /** Keep the trace's events for a diagram (default false: only the hash is kept). */
  record?: boolean;
  /** Upper bound on stored trace events when recording (default 200,000). */
  maxTraceEvents?: number;
}

/** The result of one run of one variant. */
export interface VariantRun {
  readonly scenario: string;
  readonly variant: VariantName;
  readonly seed: number;
  readonly knobs: Readonly<Record<string, number>>;
  readonly violated: boolean;
  readonly evidence?: Evidence;
  readonly figures: Readonly<Record<string, number>>;
  /** Events the simulation executed. */
  readonly events: number;
  /** Virtual time at the end of the run, ms. */
  readonly endMs: number;
  /** Same seed and knobs, same hash. */
  readonly traceHash: string;
  /** The trace, when `record` was set. */
  readonly trace?: TraceJson;
}

/** The variants a scenario has, in display order. */
export function variantsOf(scenario: Scenario): VariantName[] {
  return variantNames.filter((v) => scenario.variants[v] !== undefined);
}

/** Fills in default knob values and validates the given ones against the scenario's specs. */
export function resolveKnobs(
  scenario: Scenario,
  given: Readonly<Record<string, number>> = {},
): Record<string, number> {
  const specs = scenario.knobs ?? [];
  const out: Record<string, number> = {};
  for (const name of Object.keys(given)) {
    if (!specs.some((s) => s.name === name))
      throw rangeError('knobs', `one of ${specs.map((s) => s.name).join(', ') || '(none)'}`, name);
  }
  for (const spec of specs) {
    const value = Object.hasOwn(given, spec.name) ? given[spec.name] : spec.default;
    if (
      typeof value !== 'number' ||
      !Number.isFinite(value) ||
      value < spec.min ||
      value > spec.max
    )
      throw rangeError(`knobs.${spec.name}`, `a number in [${spec.min}, ${spec.max}]`, value);
    out[spec.name] = value;
  }
  return out;
}

/**
 * Runs one variant of `scenario` once. Deterministic: the same seed and knobs give the same
 * verdict, figures and trace hash.
 *
 * @example
 * const run = await runVariant(scenario, 'unsafe', { seed: 1, record: true });
 * if (run.violated) console.log(run.evidence?.summary, 'at', run.evidence?.timeMs, 'ms');
 */
export async function runVariant(
  scenario: Scenario,
  variant: VariantName,
  options: RunVariantOptions,
): Promise<VariantRun> {
  const spec = scenario.variants[variant];
  if (spec === undefined)
    throw rangeError('variant', `one of ${variantsOf(scenario).join(', ')}`, variant);
  const seed = integerIn('seed', options.seed, 0, Number.MAX_SAFE_INTEGER);
  const knobs = resolveKnobs(scenario, options.knobs);
  const record = options.record ?? false;
  const maxEvents = integerIn('maxTraceEvents', options.maxTraceEvents ?? 200_000, 1, 10_000_000);
  let sim: Simulation | undefined;
  const fail = (message: string, cause?: unknown): LabScenarioError =>
    new LabScenarioError(
      scenario.name,
      variant,
      seed,
      message,
      cause === undefined ? {} : { cause },
    );
  const context: LabContext = {
    seed,
    knobs,
    simulation(simOptions?: Omit<SimulationOptions, 'seed' | 'trace'>): Simulation {
      if (sim !== undefined) throw fail('created a second simulation');
      sim = new Simulation({
        ...simOptions,
        seed,
        trace: { record, hash: true, maxEvents },
      });
      return sim;
    },
    note(node: string, text: string): number {
      if (sim === undefined) throw fail('noted an event before creating its simulation');
      const index = sim.trace.size;
      sim.trace.add(sim.nowMs, 'note', node, undefined, undefined, undefined, text);
      return index;
    },
  };
  let outcome: VariantOutcome;
  try {
    outcome = await spec.run(context);
  } catch (error) {
    if (error instanceof LabScenarioError) throw error;
    throw fail(`threw ${String(error)}`, error);
  }
  if (sim === undefined) throw fail('returned without creating a simulation');
  checkOutcome(scenario, outcome, fail);
  return {
    scenario: scenario.name,
    variant,
    seed,
    knobs,
    violated: outcome.violated,
    ...(outcome.evidence === undefined ? {} : { evidence: outcome.evidence }),
    figures: outcome.figures,
    events: sim.events,
    endMs: sim.nowMs,
    traceHash: sim.trace.hash(),
    ...(record ? { trace: sim.trace.toJSON() } : {}),
  };
}

function checkOutcome(
  scenario: Scenario,
  outcome: VariantOutcome,
  fail: (message: string) => LabScenarioError,
): void {
  if (typeof outcome.violated !== 'boolean') throw fail('returned no boolean verdict');
  if (outcome.violated && outcome.evidence === undefined)
    throw fail('reported a violation without evidence');
  for (const figure of scenario.figures) {
    const value = outcome.figures[figure.name];
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw fail(`figure ${figure.name} is ${String(value)}, not a finite number`);
  }
  for (const name of Object.keys(outcome.figures)) {
    if (!scenario.figures.some((f) => f.name === name))
      throw fail(`reported undeclared figure ${name}`);
  }
}

/** Per variant, what a range of seeds gave. */
export interface VariantSummary {
  /** True when at least one seed violated the property. */
  readonly violated: boolean;
  /** How many seeds violated it. */
  readonly violatedSeeds: number;
  /** The first violating seed, to replay with `--seed`. */
  readonly firstViolatedSeed?: number;
  /** Mean of each figure over the seeds. */
  readonly figures: Readonly<Record<string, number>>;
}

/** One scenario over a range of seeds. */
export interface ScenarioSummary {
  readonly name: string;
  readonly title: string;
  readonly problem: string;
  readonly seeds: number;
  readonly firstSeed: number;
  readonly unsafe: VariantSummary;
  readonly safe: VariantSummary;
  readonly textbook?: VariantSummary;
  /** Broken expectations: a safe variant that violated, an unsafe one that never did. */
  readonly problems: readonly string[];
}

/** Progress of {@link runLab}, for a progress line. */
export interface LabProgress {
  readonly scenario: string;
  readonly scenarioIndex: number;
  readonly scenarios: number;
  readonly seed: number;
  readonly seedIndex: number;
  readonly seeds: number;
}

/** Options of {@link runLab}. */
export interface RunLabOptions {
  /** How many seeds per scenario (default {@link DEFAULT_SEEDS}). */
  seeds?: number;
  /** The first seed (default 1): seeds run from `firstSeed` to `firstSeed + seeds - 1`. */
  firstSeed?: number;
  /** Called before each seed of each scenario. */
  onProgress?: (progress: LabProgress) => void;
  /** Yields between runs (e.g. to keep a page responsive or to print progress). */
  yieldEvery?: () => Promise<void>;
}

/** Seeds per scenario when none are given: every unsafe variant must fail on one of them. */
export const DEFAULT_SEEDS = 10;

/** The most seeds one `runLab` call accepts per scenario. */
export const MAX_SEEDS = 100_000;

/**
 * Runs every variant of each scenario over a range of seeds and summarises: how many seeds
 * violated, the mean figures, and the problems found (a safe variant that violated on any seed,
 * an unsafe or textbook variant that never violated: it proves nothing).
 */
export async function runLab(
  scenarios: readonly Scenario[],
  options: RunLabOptions = {},
): Promise<ScenarioSummary[]> {
  const seeds = integerIn('seeds', options.seeds ?? DEFAULT_SEEDS, 1, MAX_SEEDS);
  const firstSeed = integerIn(
    'firstSeed',
    options.firstSeed ?? 1,
    0,
    Number.MAX_SAFE_INTEGER - seeds,
  );
  const out: ScenarioSummary[] = [];
  for (const [scenarioIndex, scenario] of scenarios.entries()) {
    const runs = new Map<VariantName, VariantRun[]>(variantsOf(scenario).map((v) => [v, []]));
    for (let i = 0; i < seeds; i++) {
      const seed = firstSeed + i;
      options.onProgress?.({
        scenario: scenario.name,
        scenarioIndex,
        scenarios: scenarios.length,
        seed,
        seedIndex: i,
        seeds,
      });
      for (const [variant, list] of runs) list.push(await runVariant(scenario, variant, { seed }));
      await options.yieldEvery?.();
    }
    out.push(summarise(scenario, seeds, firstSeed, runs));
  }
  return out;
}

function summarise(
  scenario: Scenario,
  seeds: number,
  firstSeed: number,
  runs: ReadonlyMap<VariantName, readonly VariantRun[]>,
): ScenarioSummary {
  const of = (v: VariantName): VariantSummary | undefined => {
    const list = runs.get(v);
    return list === undefined ? undefined : summariseVariant(scenario, list);
  };
  const unsafe = of('unsafe');
  const safe = of('safe');
  const textbook = of('textbook');
  assert(unsafe !== undefined && safe !== undefined, 'a scenario has unsafe and safe variants');
  const problems: string[] = [];
  if (safe.violated)
    problems.push(
      `${scenario.name}: the safe variant violated on ${safe.violatedSeeds} seed(s); replay: faultline lab --scenario ${scenario.name} --seed ${safe.firstViolatedSeed}`,
    );
  for (const [name, summary] of [
    ['unsafe', unsafe],
    ['textbook', textbook],
  ] as const) {
    if (summary !== undefined && !summary.violated)
      problems.push(
        `${scenario.name}: the ${name} variant never violated in seeds ${firstSeed}..${firstSeed + seeds - 1} (it proves nothing there)`,
      );
  }
  return {
    name: scenario.name,
    title: scenario.title,
    problem: scenario.problem,
    seeds,
    firstSeed,
    unsafe,
    safe,
    ...(textbook === undefined ? {} : { textbook }),
    problems,
  };
}

function summariseVariant(scenario: Scenario, runs: readonly VariantRun[]): VariantSummary {
  const violating = runs.filter((r) => r.violated);
  const figures: Record<string, number> = {};
  for (const { name } of scenario.figures) {
    let sum = 0;
    for (const r of runs) sum += r.figures[name] ?? 0;
    figures[name] = roundFigure(sum / runs.length);
  }
  const first = violating[0];
  return {
    violated: first !== undefined,
    violatedSeeds: violating.length,
    ...(first === undefined ? {} : { firstViolatedSeed: first.seed }),
    figures,
  };
}

/** Rounds a mean to 3 significant decimals so that JSON stays readable and stable. */
function roundFigure(x: number): number {
  if (Number.isInteger(x)) return x;
  return Math.round(x * 1000) / 1000;
}

/** True when the lab's verdict rule holds for every summary (the exit-0 condition). */
export function labPassed(summaries: readonly ScenarioSummary[]): boolean {
  return summaries.every((s) => s.problems.length === 0);
}

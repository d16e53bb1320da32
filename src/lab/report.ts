/**
 * The lab's report document: what `faultline lab --report` embeds in its page and `--serve`
 * serves, and what the page renders (scenario texts, summaries over seeds, and one recorded run
 * per variant with its trace for the space-time diagram).
 *
 * @module
 */
import type { ScenarioSummary, VariantRun } from './run.js';
import { labPassed, runVariant, variantsOf } from './run.js';
import type { FigureSpec, KnobSpec, Scenario } from './types.js';

/** A variant's texts. */
export interface VariantMeta {
  readonly summary: string;
  readonly why?: string;
}

/** A scenario's texts and specs: everything but its code. */
export interface ScenarioMeta {
  readonly name: string;
  readonly title: string;
  readonly problem: string;
  readonly reference: string;
  readonly property: string;
  readonly standIn?: string;
  readonly api: string;
  readonly figures: readonly FigureSpec[];
  readonly knobs: readonly KnobSpec[];
  readonly variants: {
    readonly unsafe: VariantMeta;
    readonly safe: VariantMeta;
    readonly textbook?: VariantMeta;
  };
}

/** One scenario in the report. */
export interface ScenarioReport {
  readonly meta: ScenarioMeta;
  readonly summary: ScenarioSummary;
  /** One recorded run per variant, all with the same seed (see {@link LabReport}). */
  readonly runs: readonly VariantRun[];
}

/** The whole report. */
export interface LabReport {
  readonly version: 1;
  /** Seeds per scenario of the summaries. */
  readonly seeds: number;
  readonly firstSeed: number;
  /** True when every safe variant held and every unsafe one violated on some seed. */
  readonly passed: boolean;
  readonly scenarios: readonly ScenarioReport[];
}

/** The texts and specs of `scenario`, for the page. */
export function scenarioMeta(scenario: Scenario): ScenarioMeta {
  const variant = (v: { summary: string; why?: string }): VariantMeta =>
    v.why === undefined ? { summary: v.summary } : { summary: v.summary, why: v.why };
  const { unsafe, safe, textbook } = scenario.variants;
  return {
    name: scenario.name,
    title: scenario.title,
    problem: scenario.problem,
    reference: scenario.reference,
    property: scenario.property,
    ...(scenario.standIn === undefined ? {} : { standIn: scenario.standIn }),
    api: scenario.api,
    figures: scenario.figures,
    knobs: scenario.knobs ?? [],
    variants: {
      unsafe: variant(unsafe),
      safe: variant(safe),
      ...(textbook === undefined ? {} : { textbook: variant(textbook) }),
    },
  };
}

/**
 * The seed whose runs the report records: the given one, else the unsafe variant's first
 * violating seed (so that the diagram shows the failure), else the first seed.
 */
export function diagramSeed(summary: ScenarioSummary, seed?: number): number {
  return seed ?? summary.unsafe.firstViolatedSeed ?? summary.firstSeed;
}

/** Options of {@link buildReport}. */
export interface BuildReportOptions {
  /** Record this seed for every scenario instead of {@link diagramSeed}'s choice. */
  seed?: number;
  /** Upper bound on stored trace events per run (default 50,000). */
  maxTraceEvents?: number;
}

/**
 * Builds the report for `scenarios` (in the order of `summaries`, matched by name), recording one
 * run per variant with its trace.
 */
export async function buildReport(
  scenarios: readonly Scenario[],
  summaries: readonly ScenarioSummary[],
  options: BuildReportOptions = {},
): Promise<LabReport> {
  const out: ScenarioReport[] = [];
  for (const summary of summaries) {
    const scenario = scenarios.find((s) => s.name === summary.name);
    if (scenario === undefined) continue;
    const seed = diagramSeed(summary, options.seed);
    const runs: VariantRun[] = [];
    for (const variant of variantsOf(scenario)) {
      runs.push(
        await runVariant(scenario, variant, {
          seed,
          record: true,
          maxTraceEvents: options.maxTraceEvents ?? 50_000,
        }),
      );
    }
    out.push({ meta: scenarioMeta(scenario), summary, runs });
  }
  const first = summaries[0];
  return {
    version: 1,
    seeds: first?.seeds ?? 0,
    firstSeed: first?.firstSeed ?? 0,
    passed: labPassed(summaries),
    scenarios: out,
  };
}

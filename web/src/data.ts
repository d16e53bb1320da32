/**
 * The page's data: the report embedded by `faultline lab --report` (or `--serve`), or, in the
 * bare built page, runs of the bundled catalogue made right here with the same production code.
 *
 * @module
 */
import { scenarioByName } from '../../src/lab/catalogue.js';
import type { LabReport, ScenarioMeta } from '../../src/lab/report.js';
import { resolveKnobs, runVariant, variantsOf } from '../../src/lab/run.js';
import type { ScenarioSummary, VariantRun, VariantSummary } from '../../src/lab/run.js';
import type { VariantName } from '../../src/lab/types.js';

/** The id of the `<script type="application/json">` element holding the report. */
export const REPORT_ELEMENT_ID = 'faultline-lab-report';

/** Upper bound on stored trace events of a run made in the page. */
export const PAGE_MAX_TRACE_EVENTS = 50_000;

/** One scenario as the page shows it. */
export interface ScenarioView {
  readonly meta: ScenarioMeta;
  /** Over the report's seeds, or over the page's one seed. Undefined until the first run. */
  summary: ScenarioSummary | undefined;
  /** The recorded runs the diagrams show, one per variant, all with `seed`. */
  runs: VariantRun[];
  seed: number;
  knobs: Record<string, number>;
  /** Where `runs` come from: the embedded report, or a run made in this page. */
  origin: 'report' | 'page';
  status: 'pending' | 'running' | 'ready' | 'error';
  /** What is running or what went wrong, for the status line. */
  message: string;
}

/** Reads the embedded report; undefined when there is none, an Error when it is unreadable. */
export function readEmbeddedReport(doc: Document): LabReport | Error | undefined {
  const element = doc.getElementById(REPORT_ELEMENT_ID);
  if (element === null) return undefined;
  try {
    const data = JSON.parse(element.textContent ?? '') as Partial<LabReport> | null;
    if (
      data === null ||
      typeof data !== 'object' ||
      data.version !== 1 ||
      !Array.isArray(data.scenarios)
    )
      return new Error('the embedded report is not a version-1 lab report');
    return data as LabReport;
  } catch (error) {
    return new Error(`the embedded report is not valid JSON: ${String(error)}`);
  }
}

/** The views of a report's scenarios. */
export function viewsOfReport(report: LabReport): ScenarioView[] {
  return report.scenarios.map((s) => ({
    meta: s.meta,
    summary: s.summary,
    runs: [...s.runs],
    seed: s.runs[0]?.seed ?? report.firstSeed,
    knobs: { ...(s.runs[0]?.knobs ?? defaultKnobs(s.meta)) },
    origin: 'report',
    status: 'ready',
    message: '',
  }));
}

/** The knob defaults of a scenario. */
export function defaultKnobs(meta: ScenarioMeta): Record<string, number> {
  return Object.fromEntries(meta.knobs.map((k) => [k.name, k.default]));
}

/** True when the page bundles the scenario's code and can re-run it. */
export function canRerun(meta: ScenarioMeta): boolean {
  return scenarioByName(meta.name) !== undefined;
}

/**
 * Runs every variant of the view's scenario with its seed and knobs, recording traces. Between
 * variants (and between simulated events) the page gets the event loop back, so it stays usable.
 */
export async function runInPage(
  view: ScenarioView,
  onVariant: (variant: VariantName) => void,
): Promise<VariantRun[]> {
  const scenario = scenarioByName(view.meta.name);
  if (scenario === undefined)
    throw new Error(`this page does not bundle the scenario ${view.meta.name}`);
  const knobs = resolveKnobs(scenario, view.knobs);
  const runs: VariantRun[] = [];
  for (const variant of variantsOf(scenario)) {
    onVariant(variant);
    await nextFrame();
    runs.push(
      await runVariant(scenario, variant, {
        seed: view.seed,
        knobs,
        record: true,
        maxTraceEvents: PAGE_MAX_TRACE_EVENTS,
      }),
    );
  }
  return runs;
}

/** The summary of one seed's runs (the bare page's own verdicts). */
export function summaryOfRuns(
  meta: ScenarioMeta,
  runs: readonly VariantRun[],
  seed: number,
): ScenarioSummary {
  const of = (variant: VariantName): VariantSummary | undefined => {
    const run = runs.find((r) => r.variant === variant);
    if (run === undefined) return undefined;
    return {
      violated: run.violated,
      violatedSeeds: run.violated ? 1 : 0,
      ...(run.violated ? { firstViolatedSeed: run.seed } : {}),
      figures: run.figures,
    };
  };
  const empty: VariantSummary = { violated: false, violatedSeeds: 0, figures: {} };
  const unsafe = of('unsafe') ?? empty;
  const safe = of('safe') ?? empty;
  const textbook = of('textbook');
  const problems: string[] = [];
  if (safe.violated) problems.push(`${meta.name}: the safe variant violated on seed ${seed}`);
  if (!unsafe.violated)
    problems.push(`${meta.name}: the unsafe variant held on seed ${seed} (try another seed)`);
  return {
    name: meta.name,
    title: meta.title,
    problem: meta.problem,
    seeds: 1,
    firstSeed: seed,
    unsafe,
    safe,
    ...(textbook === undefined ? {} : { textbook }),
    problems,
  };
}

/** Resolves after the browser had a chance to paint (or soon, in a hidden tab without frames). */
export function nextFrame(): Promise<void> {
  return new Promise((resolve) => {
    requestAnimationFrame(() => resolve());
    setTimeout(resolve, 100);
  });
}

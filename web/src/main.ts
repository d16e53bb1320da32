/**
 * The lab page: shows the embedded report (or, in the bare built page, runs the bundled catalogue
 * for seed 1), lists the scenarios with their verdicts, and shows one scenario at a time with its
 * space-time diagrams and a form to re-run it in the page.
 *
 * @module
 */
import { catalogue } from '../../src/lab/catalogue.js';
import { scenarioMeta } from '../../src/lab/report.js';
import type { ScenarioView } from './data.js';
import {
  defaultKnobs,
  readEmbeddedReport,
  runInPage,
  summaryOfRuns,
  viewsOfReport,
} from './data.js';
import type { SpaceTimeDiagram } from './diagram/view.js';
import { listItem, renderDetail } from './render.js';
import './styles.css';

const list = document.getElementById('scenario-list') as HTMLOListElement;
const main = document.getElementById('scenario') as HTMLElement;
const labStatus = document.getElementById('lab-status') as HTMLElement;

let views: ScenarioView[] = [];
let currentName: string | undefined;
let diagrams: SpaceTimeDiagram[] = [];

function routeName(): string | undefined {
  const m = /^#s\/(.+)$/.exec(location.hash);
  return m?.[1] === undefined ? undefined : decodeURIComponent(m[1]);
}

function current(): ScenarioView | undefined {
  return views.find((v) => v.meta.name === currentName) ?? views[0];
}

function renderList(): void {
  const shown = current();
  list.replaceChildren(...views.map((v) => listItem(v, v === shown)));
}

function renderCurrent(): void {
  for (const d of diagrams) d.dispose();
  const view = current();
  diagrams = view === undefined ? [] : renderDetail(main, view, { rerun: (v) => void rerun(v) });
  if (view === undefined) main.replaceChildren();
}

/** Re-renders after a run changed `view`, keeping focus where the user was. */
function refresh(view: ScenarioView): void {
  renderList();
  if (view !== current()) return;
  const focusedId = document.activeElement?.id;
  renderCurrent();
  if (focusedId) document.getElementById(focusedId)?.focus();
}

/** Runs every variant of `view` in the page and shows the new runs. */
async function rerun(view: ScenarioView): Promise<void> {
  if (view.status === 'running') return;
  view.status = 'running';
  view.message = '';
  refresh(view);
  const started = performance.now();
  try {
    const runs = await runInPage(view, (variant) => {
      view.message = `${variant} variant, seed ${view.seed}`;
      const status = document.getElementById('run-status');
      if (status !== null && view === current()) status.textContent = `running… ${view.message}`;
    });
    view.runs = runs;
    view.origin = 'page';
    if (view.summary === undefined || view.summary.seeds === 1)
      view.summary = summaryOfRuns(view.meta, runs, view.seed);
    view.status = 'ready';
    view.message = `Ran seed ${view.seed} in ${Math.round(performance.now() - started)} ms.`;
  } catch (error) {
    view.status = 'error';
    view.message = error instanceof Error ? error.message : String(error);
  }
  refresh(view);
  updateLabStatus();
}

function updateLabStatus(source?: string): void {
  const done = views.filter((v) => v.summary !== undefined);
  const problems = done.filter((v) => (v.summary?.problems.length ?? 0) > 0).length;
  const running = views.length - done.length;
  const head = source ?? labStatus.dataset['source'] ?? '';
  labStatus.dataset['source'] = head;
  const verdict =
    running > 0
      ? `running… ${done.length} of ${views.length} scenarios done`
      : problems === 0
        ? `✓ every unsafe variant failed and every safe one held`
        : `⚠ ${problems} of ${views.length} scenarios not as expected`;
  labStatus.textContent = `${head} ${verdict}`;
}

async function runCatalogue(): Promise<void> {
  for (const view of views) await rerun(view);
}

function start(): void {
  const report = readEmbeddedReport(document);
  if (report instanceof Error) {
    labStatus.textContent = `⚠ ${report.message}`;
    return;
  }
  if (report !== undefined) {
    views = viewsOfReport(report);
    updateLabStatus(
      `Report: ${views.length} scenarios, seeds ${report.firstSeed}–${report.firstSeed + report.seeds - 1}.`,
    );
  } else {
    views = catalogue.map((s) => {
      const meta = scenarioMeta(s);
      return {
        meta,
        summary: undefined,
        runs: [],
        seed: 1,
        knobs: defaultKnobs(meta),
        origin: 'page',
        status: 'pending',
        message: 'waiting to run…',
      };
    });
    updateLabStatus(`No report embedded: running ${views.length} scenarios here for seed 1.`);
  }
  currentName = routeName();
  renderList();
  renderCurrent();
  window.addEventListener('hashchange', () => {
    const name = routeName();
    if (name === undefined || !views.some((v) => v.meta.name === name)) return;
    currentName = name;
    renderList();
    renderCurrent();
    main.focus();
  });
  if (report === undefined) void runCatalogue();
}

start();

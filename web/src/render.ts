/**
 * The page's DOM: the scenario list with verdict badges, and one scenario's detail (texts,
 * verdicts per variant, figures side by side, the API lines, the re-run form and the diagrams).
 *
 * @module
 */
import type { ScenarioMeta } from '../../src/lab/report.js';
import type { VariantRun, VariantSummary } from '../../src/lab/run.js';
import type { FigureSpec, KnobSpec, VariantName } from '../../src/lab/types.js';
import { variantNames } from '../../src/lab/types.js';
import type { ScenarioView } from './data.js';
import { canRerun } from './data.js';
import { buildDiagram, formatMs } from './diagram/model.js';
import { KEYS, SpaceTimeDiagram } from './diagram/view.js';
import type { Child } from './dom.js';
import { h } from './dom.js';
import { legend } from './legend.js';

/** The variants of a scenario, in display order (unsafe, textbook, safe). */
export function variantsOfMeta(meta: ScenarioMeta): VariantName[] {
  return variantNames.filter((v) => meta.variants[v] !== undefined);
}

/** What each variant should do: the naive design fails, the fix holds. */
export function expectedToViolate(variant: VariantName): boolean {
  return variant !== 'safe';
}

/** A verdict badge with an icon and words, never colour alone. */
export function verdictBadge(violated: boolean, text: string): HTMLElement {
  return h(
    'span',
    { class: `badge ${violated ? 'violated' : 'held'}` },
    h('span', { class: 'icon', 'aria-hidden': 'true' }, violated ? '✗' : '✓'),
    ` ${text}`,
  );
}

/** `violated on 7 of 10 seeds` / `held on all 10 seeds` / `held on seed 3`. */
export function seedsText(s: VariantSummary, seeds: number, firstSeed: number): string {
  if (seeds === 1) return `${s.violated ? 'violated' : 'held'} on seed ${firstSeed}`;
  if (!s.violated) return `held on all ${seeds} seeds`;
  return `violated on ${s.violatedSeeds} of ${seeds} seeds`;
}

/** One list entry: the title and a badge per variant. */
export function listItem(view: ScenarioView, current: boolean): HTMLElement {
  const badges: Child[] = [];
  const summary = view.summary;
  for (const variant of variantsOfMeta(view.meta)) {
    const s = summary?.[variant];
    if (summary === undefined || s === undefined) {
      badges.push(
        h(
          'span',
          { class: 'badge pending' },
          `${variant}: ${view.status === 'error' ? 'error' : view.status === 'running' ? 'running…' : 'waiting…'}`,
        ),
      );
      continue;
    }
    const text =
      summary.seeds === 1
        ? `${variant}: ${s.violated ? 'violated' : 'held'}`
        : `${variant}: ${s.violated ? `violated ${s.violatedSeeds}/${summary.seeds}` : `held ${summary.seeds}/${summary.seeds}`}`;
    badges.push(verdictBadge(s.violated, text));
  }
  const problem = summary !== undefined && summary.problems.length > 0;
  return h(
    'li',
    {},
    h(
      'a',
      {
        href: `#s/${encodeURIComponent(view.meta.name)}`,
        'aria-current': current ? 'page' : undefined,
        class: 'scenario-link',
      },
      h(
        'span',
        { class: 'title' },
        view.meta.title,
        problem ? h('span', { class: 'flag', title: 'not as expected' }, ' ⚠') : null,
      ),
      h('span', { class: 'badges' }, ...badges),
    ),
  );
}

/** What the detail view calls back for. */
export interface DetailActions {
  rerun(view: ScenarioView): void;
}

/** Renders one scenario; returns the diagrams created (to dispose on the next render). */
export function renderDetail(
  container: HTMLElement,
  view: ScenarioView,
  actions: DetailActions,
): SpaceTimeDiagram[] {
  const { meta } = view;
  const diagrams: SpaceTimeDiagram[] = [];
  container.replaceChildren(
    h('h2', { id: 'scenario-title' }, meta.title),
    statusLine(view),
    texts(meta),
    verdicts(view),
    figures(view),
    rerunForm(view, actions),
    h(
      'section',
      { class: 'card diagrams', 'aria-labelledby': 'diagrams-title' },
      h('h3', { id: 'diagrams-title' }, 'Space-time diagrams'),
      h('p', { class: 'hint' }, diagramHint(view)),
      legend(),
      keyHelp(),
      ...view.runs.map((run) => {
        const d = diagramOf(view, run, focusTime(view.runs));
        if (d.diagram !== undefined) diagrams.push(d.diagram);
        return d.element;
      }),
    ),
    api(meta),
  );
  return diagrams;
}

function statusLine(view: ScenarioView): HTMLElement {
  const s = view.summary;
  if (s === undefined) return h('p', { class: 'status-line' }, view.message || 'running…');
  if (s.problems.length === 0)
    return h(
      'p',
      { class: 'status-line ok' },
      '✓ As expected: the naive design fails and faultline’s fix holds.',
    );
  return h(
    'div',
    { class: 'status-line problem' },
    h('strong', {}, '⚠ Not as expected:'),
    h('ul', {}, ...s.problems.map((p) => h('li', {}, p))),
  );
}

function texts(meta: ScenarioMeta): HTMLElement {
  return h(
    'section',
    { class: 'card texts', 'aria-label': 'The problem' },
    h('p', { class: 'problem' }, meta.problem),
    h(
      'dl',
      {},
      h('dt', {}, 'Reference'),
      h('dd', {}, h('cite', {}, meta.reference)),
      h('dt', {}, 'Property'),
      h('dd', {}, meta.property),
      meta.standIn === undefined ? null : h('dt', {}, 'Stand-in'),
      meta.standIn === undefined ? null : h('dd', { class: 'stand-in' }, meta.standIn),
    ),
  );
}

function verdicts(view: ScenarioView): HTMLElement {
  const { meta, summary } = view;
  const cards = variantsOfMeta(meta).map((variant) => {
    const v = meta.variants[variant];
    const s = summary?.[variant];
    const run = view.runs.find((r) => r.variant === variant);
    return h(
      'article',
      { class: `variant variant-${variant}`, 'aria-labelledby': `variant-${variant}` },
      h(
        'h4',
        { id: `variant-${variant}` },
        h('span', { class: `tag tag-${variant}` }, variant),
        expectationText(variant),
      ),
      h('p', {}, v?.summary ?? ''),
      v?.why === undefined
        ? null
        : h('p', { class: 'why' }, h('strong', {}, 'Why it still fails: '), v.why),
      s === undefined || summary === undefined
        ? null
        : h(
            'p',
            { class: 'verdict-seeds' },
            verdictBadge(s.violated, seedsText(s, summary.seeds, summary.firstSeed)),
          ),
      run === undefined ? null : runVerdict(run),
    );
  });
  return h('section', { class: 'variants', 'aria-label': 'Verdicts' }, ...cards);
}

function expectationText(variant: VariantName): string {
  switch (variant) {
    case 'unsafe':
      return ' the naive design (expected to fail)';
    case 'textbook':
      return ' the fix as usually taught (expected to fail)';
    case 'safe':
      return ' faultline’s fix (expected to hold)';
  }
}

function runVerdict(run: VariantRun): HTMLElement {
  const where = run.evidence === undefined ? '' : ` at ${formatMs(run.evidence.timeMs)}`;
  return h(
    'div',
    { class: 'run-verdict', 'data-variant': run.variant },
    h(
      'p',
      {},
      h('span', { class: 'label' }, `Seed ${run.seed}: `),
      verdictBadge(run.violated, run.violated ? `violated${where}` : 'held'),
      h(
        'span',
        { class: 'hash' },
        ` trace ${run.traceHash} · ${run.events.toLocaleString('en')} events · ${formatMs(run.endMs)}`,
      ),
    ),
    run.evidence === undefined
      ? null
      : h('p', { class: 'evidence-text' }, h('strong', {}, '⚠ Evidence: '), run.evidence.summary),
  );
}

function figures(view: ScenarioView): HTMLElement {
  const { meta, summary } = view;
  const variants = variantsOfMeta(meta);
  const seedOf = view.runs[0]?.seed;
  const head = h(
    'tr',
    {},
    h('th', { scope: 'col' }, 'Figure'),
    ...variants.map((v) => h('th', { scope: 'col' }, h('span', { class: `tag tag-${v}` }, v))),
  );
  const rows = meta.figures.map((f) =>
    h(
      'tr',
      {},
      h(
        'th',
        { scope: 'row' },
        f.label,
        f.unit ? h('span', { class: 'unit' }, ` (${f.unit})`) : null,
        h('span', { class: 'better' }, betterText(f)),
      ),
      ...variants.map((v) => {
        const run = view.runs.find((r) => r.variant === v);
        const mean =
          summary !== undefined && summary.seeds > 1 ? summary[v]?.figures[f.name] : undefined;
        return h(
          'td',
          {},
          run === undefined
            ? '–'
            : h('span', { class: 'value' }, formatFigure(run.figures[f.name])),
          mean === undefined
            ? null
            : h(
                'span',
                { class: 'mean' },
                `mean ${formatFigure(mean)} over ${summary?.seeds} seeds`,
              ),
        );
      }),
    ),
  );
  return h(
    'section',
    { class: 'card figures', 'aria-labelledby': 'figures-title' },
    h(
      'h3',
      { id: 'figures-title' },
      'Figures',
      seedOf === undefined
        ? null
        : h(
            'span',
            { class: 'sub' },
            ` · seed ${seedOf}${view.origin === 'page' ? ' (run in this page)' : ''}`,
          ),
    ),
    h('table', {}, h('thead', {}, head), h('tbody', {}, ...rows)),
  );
}

function betterText(f: FigureSpec): string {
  if (f.better === 'lower') return ' ↓ lower is better';
  if (f.better === 'higher') return ' ↑ higher is better';
  return '';
}

/** A figure for display: integers as they are, others with up to 3 significant decimals. */
export function formatFigure(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  if (Number.isInteger(x)) return x.toLocaleString('en');
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

function api(meta: ScenarioMeta): HTMLElement {
  return h(
    'section',
    { class: 'card api', 'aria-labelledby': 'api-title' },
    h('h3', { id: 'api-title' }, 'The fix in your service'),
    h('pre', {}, h('code', {}, meta.api)),
  );
}

function rerunForm(view: ScenarioView, actions: DetailActions): HTMLElement {
  const rerunnable = canRerun(view.meta);
  const running = view.status === 'running';
  const seedInput = h('input', {
    id: 'seed',
    name: 'seed',
    type: 'number',
    min: 0,
    step: 1,
    value: view.seed,
    inputmode: 'numeric',
    required: true,
    'aria-describedby': 'seed-help',
  });
  const knobs = view.meta.knobs.map((k) => knobControl(k, view.knobs[k.name] ?? k.default));
  const status = h(
    'p',
    { id: 'run-status', class: 'run-status', role: 'status', 'aria-live': 'polite' },
    running
      ? `running… ${view.message}`
      : view.status === 'error'
        ? `⚠ ${view.message}`
        : view.message,
  );
  const form = h(
    'form',
    {
      class: 'card rerun',
      'aria-labelledby': 'rerun-title',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const seed = Number(seedInput.value);
        if (!Number.isSafeInteger(seed) || seed < 0) {
          status.textContent = '⚠ The seed must be a whole number ≥ 0.';
          seedInput.focus();
          return;
        }
        view.seed = seed;
        for (const k of view.meta.knobs) {
          const input = form.querySelector<HTMLInputElement>(
            `input[name="knob-${CSS.escape(k.name)}"][type="number"]`,
          );
          if (input !== null) view.knobs[k.name] = Number(input.value);
        }
        actions.rerun(view);
      },
    },
    h('h3', { id: 'rerun-title' }, 'Re-run in this page'),
    h(
      'p',
      { class: 'hint', id: 'seed-help' },
      rerunnable
        ? 'Change the seed or a fault knob and run every variant again, here in the browser, with the same production code. Same seed and knobs, same trace hash.'
        : 'This page does not bundle this scenario’s code, so it cannot re-run it.',
    ),
    h(
      'div',
      { class: 'controls' },
      h('label', { class: 'control' }, h('span', { class: 'name' }, 'Seed'), seedInput),
      ...knobs,
    ),
    h(
      'div',
      { class: 'actions' },
      h(
        'button',
        {
          id: 'rerun-button',
          type: 'submit',
          class: 'primary',
          // aria-disabled while running, not disabled: a disabled button would drop the focus.
          disabled: !rerunnable,
          'aria-disabled': running ? 'true' : undefined,
          'aria-describedby': 'run-status',
        },
        running ? 'Running…' : '▶ Re-run',
      ),
      status,
    ),
  );
  return form;
}

function knobControl(k: KnobSpec, value: number): HTMLElement {
  const id = `knob-${k.name}`;
  const number = h('input', {
    id,
    name: id,
    type: 'number',
    min: k.min,
    max: k.max,
    step: k.step,
    value,
    required: true,
  });
  const range = h('input', {
    name: id,
    type: 'range',
    min: k.min,
    max: k.max,
    step: k.step,
    value,
    'aria-label': `${k.label} slider${k.unit ? ` (${k.unit})` : ''}`,
  });
  range.addEventListener('input', () => (number.value = range.value));
  number.addEventListener('input', () => (range.value = number.value));
  return h(
    'div',
    { class: 'control knob' },
    h(
      'label',
      { for: id, class: 'name' },
      k.label,
      k.unit ? h('span', { class: 'unit' }, ` (${k.unit})`) : null,
    ),
    h('div', { class: 'knob-inputs' }, range, number),
    h(
      'span',
      { class: 'range-hint' },
      `${k.min}–${k.max}${k.unit ? ` ${k.unit}` : ''}, default ${k.default}`,
    ),
  );
}

function diagramHint(view: ScenarioView): string {
  const seed = view.runs[0]?.seed;
  if (seed === undefined) return 'The diagrams appear once the scenario has run.';
  return `One lane per node, time to the right; seed ${seed}. Select a diagram and use the keys below, or the buttons.`;
}

function keyHelp(): HTMLElement {
  return h(
    'details',
    { class: 'keys' },
    h('summary', {}, 'Keyboard'),
    h(
      'dl',
      {},
      ...KEYS.flatMap(([key, what]) => [h('dt', {}, h('kbd', {}, key)), h('dd', {}, what)]),
    ),
  );
}

/** The first evidence among the runs: every diagram of the scenario opens around it, for comparison. */
function focusTime(runs: readonly VariantRun[]): number | undefined {
  return runs.find((r) => r.evidence !== undefined)?.evidence?.timeMs;
}

function diagramOf(
  view: ScenarioView,
  run: VariantRun,
  centreMs: number | undefined,
): { element: HTMLElement; diagram?: SpaceTimeDiagram } {
  const title = `${view.meta.title}, ${run.variant} variant, seed ${run.seed}`;
  if (run.trace === undefined) {
    const element = h(
      'section',
      { class: 'run' },
      h('h4', {}, title),
      h('p', {}, 'This run has no recorded trace.'),
    );
    return { element };
  }
  const model = buildDiagram(run.trace, run.endMs, run.evidence);
  const diagram = new SpaceTimeDiagram(model, title, centreMs, `diagram-${run.variant}`);
  const truncated = run.trace.truncated
    ? ` (the first ${run.trace.events.length.toLocaleString('en')} of ${run.trace.count.toLocaleString('en')} events are stored)`
    : '';
  const element = h(
    'section',
    { class: `run run-${run.variant}`, 'aria-labelledby': `run-${run.variant}` },
    h(
      'h4',
      { id: `run-${run.variant}` },
      h('span', { class: `tag tag-${run.variant}` }, run.variant),
      ' ',
      verdictBadge(run.violated, run.violated ? 'violated' : 'held'),
      h('span', { class: 'sub' }, ` seed ${run.seed} · trace ${run.traceHash}${truncated}`),
    ),
    diagram.element,
  );
  return { element, diagram };
}

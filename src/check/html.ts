/**
 * A self-contained HTML page (inline CSS and JavaScript, nothing fetched) that shows a checked
 * history: one timeline per process, operations as bars from invocation to completion, the longest
 * partial linearization numbered and highlighted, the operation that could not be placed marked.
 *
 * @module
 */
import { positive } from '../core/validate.js';
import type { CheckResult } from './checker.js';
import type { Operation } from './history.js';
import { operationText, statesAlong } from './describe.js';
import type { Model } from './model.js';

/** Options of {@link renderHtml}. */
export interface HtmlOptions {
  /** Page title. Default: "faultline check". */
  readonly title?: string;
  /** Horizontal pixels per distinct event time (default: 24 to 90, wider for short histories); hover a bar for its full label. */
  readonly pxPerStep?: number;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface Layout {
  readonly x: (time: number) => number;
  readonly width: number;
  readonly lanes: Map<string, number>;
}

function layout(ops: readonly Operation[], pxPerStep: number | undefined): Layout {
  const times = [...new Set(ops.flatMap((op) => [op.call, op.ret]).filter(Number.isFinite))].sort(
    (a, b) => a - b,
  );
  // Short histories get room for their labels; long ones scroll.
  const px = pxPerStep ?? Math.max(24, Math.min(90, Math.floor(1200 / Math.max(1, times.length))));
  const rank = new Map(times.map((t, i) => [t, i]));
  const end = times.length + 1;
  const x = (time: number): number =>
    40 + (Number.isFinite(time) ? (rank.get(time) ?? 0) : end) * px;
  const lanes = new Map<string, number>();
  for (const op of ops)
    if (!lanes.has(String(op.process))) lanes.set(String(op.process), lanes.size);
  return { x, width: x(Infinity) + 160, lanes };
}

function bars<S>(
  model: Model<S>,
  ops: readonly Operation[],
  result: CheckResult,
  lay: Layout,
): string {
  const cx = result.kind === 'illegal' ? result.counterexample : undefined;
  const order = new Map((cx?.linearized ?? []).map((op, i) => [op.id, i + 1]));
  const pending = new Set((cx?.pending ?? []).map((op) => op.id));
  return ops
    .map((op) => {
      const lane = lay.lanes.get(String(op.process)) ?? 0;
      const left = lay.x(op.call);
      const width = Math.max(22, lay.x(op.ret) - left);
      const n = order.get(op.id);
      const cls = [
        'op',
        n !== undefined ? 'lin' : '',
        cx?.failing?.id === op.id ? 'failing' : '',
        pending.has(op.id) ? 'pending' : '',
        op.status === 'info' ? 'info' : '',
        op.status === 'fail' ? 'fail' : '',
      ].filter((c) => c !== '');
      const text = operationText(model, op);
      const badge = n === undefined ? '' : `<b>${n}</b>`;
      const title = `#${op.id} process ${String(op.process)}: ${text} (${op.status})${op.line === undefined ? '' : `, line ${op.line}`}`;
      return `<div class="${cls.join(' ')}" data-id="${op.id}" style="left:${left}px;top:${lane * 30 + 4}px;width:${width}px" title="${escapeHtml(title)}">${badge}${escapeHtml(text)}</div>`;
    })
    .join('\n');
}

function summary<S>(model: Model<S>, result: CheckResult): string {
  const what = result.criterion === 'linearizable' ? 'linearizable' : 'sequentially consistent';
  switch (result.kind) {
    case 'legal':
      return `The history is ${what}.`;
    case 'unknown':
      return `Unknown: the check stopped (${result.reason}).`;
    case 'illegal': {
      const f = result.counterexample.failing;
      const where =
        f === undefined
          ? ''
          : ` Operation #${f.id} (process ${String(f.process)}: ${operationText(model, f)}) cannot be placed.`;
      return `The history is NOT ${what} (partition ${result.counterexample.partition}).${where}`;
    }
  }
}

function steps<S>(model: Model<S>, result: CheckResult): string {
  if (result.kind !== 'illegal') return '';
  const cx = result.counterexample;
  const states = statesAlong(model, cx.operations, cx.linearized);
  const rows = cx.linearized.map(
    (op, i) =>
      `<li data-id="${op.id}">${escapeHtml(operationText(model, op))} <span class="who">process ${escapeHtml(String(op.process))}</span> <span class="state">⇒ ${escapeHtml(states[i] ?? '')}</span></li>`,
  );
  const failing =
    cx.failing === undefined
      ? ''
      : `<li class="bad" data-id="${cx.failing.id}">✗ ${escapeHtml(operationText(model, cx.failing))} <span class="who">process ${escapeHtml(String(cx.failing.process))}</span></li>`;
  const pending = cx.pending
    .map(
      (op) => `<li class="pend" data-id="${op.id}">✗ ${escapeHtml(operationText(model, op))}</li>`,
    )
    .join('');
  return `<h2>Longest partial linearization (${cx.linearized.length} of ${cx.operations.length})</h2><ol>${rows.join('')}</ol><h2>Could not be placed next</h2><ul>${failing}${pending}</ul>`;
}

const style = `body{font:13px system-ui,sans-serif;margin:16px;color:#222}
.wrap{overflow-x:auto;border:1px solid #ccc;background:#fafafa}
.tl{position:relative}.lane{position:absolute;left:0;height:30px;border-bottom:1px dashed #ddd;font-size:11px;color:#888}
.op{position:absolute;height:22px;line-height:22px;overflow:hidden;white-space:nowrap;font-size:11px;background:#ddd;border:1px solid #999;border-radius:3px;padding:0 3px;box-sizing:border-box;cursor:pointer}
.op.lin{background:#b7e4b0;border-color:#3a8a2e}.op.failing{background:#f4a3a3;border:2px solid #c00}.op.pending{background:#fde2b3;border-color:#d08a00}
.op.info{border-right-style:dashed;opacity:.85}.op.fail{text-decoration:line-through}
.op b{background:#3a8a2e;color:#fff;border-radius:8px;padding:0 4px;margin-right:3px}
.op.hl,li.hl{outline:3px solid #06c}.who{color:#777}.state{color:#246}li.bad{color:#c00}li.pend{color:#a60}li{cursor:pointer}
.legend span{display:inline-block;padding:0 6px;margin-right:6px;border:1px solid #999}`;

const script = `document.addEventListener('click',function(e){var t=e.target.closest('[data-id]');if(!t)return;
var id=t.getAttribute('data-id');document.querySelectorAll('.hl').forEach(function(n){n.classList.remove('hl')});
document.querySelectorAll('[data-id="'+id+'"]').forEach(function(n){n.classList.add('hl')});
var bar=document.querySelector('.op[data-id="'+id+'"]');if(bar&&t!==bar)bar.scrollIntoView({block:'nearest',inline:'center'});});`;

/**
 * Renders a checked history as a standalone HTML page. For an illegal result it shows the illegal
 * partition; otherwise every operation.
 *
 * @example
 * const result = check(history, model);
 * writeFileSync('out.html', renderHtml(history, result, model));
 */
export function renderHtml<S>(
  operations: readonly Operation[],
  result: CheckResult,
  model: Model<S>,
  options: HtmlOptions = {},
): string {
  if (options.pxPerStep !== undefined) positive('pxPerStep', options.pxPerStep);
  const ops = result.kind === 'illegal' ? result.counterexample.operations : operations;
  const lay = layout(ops, options.pxPerStep);
  const lanes = [...lay.lanes.entries()]
    .map(
      ([p, i]) =>
        `<div class="lane" style="top:${i * 30}px;width:${lay.width}px">&nbsp;p${escapeHtml(p)}</div>`,
    )
    .join('');
  const title = escapeHtml(options.title ?? 'faultline check');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title><style>${style}</style></head><body>
<h1>${title}: ${escapeHtml(model.name)}</h1><p>${escapeHtml(summary(model, result))}</p>
<p class="legend"><span style="background:#b7e4b0">linearized (numbered in order)</span><span style="background:#f4a3a3">could not be placed</span><span style="background:#fde2b3">other candidates</span><span>dashed end: indeterminate (never returned)</span></p>
<div class="wrap"><div class="tl" style="height:${lay.lanes.size * 30 + 8}px;width:${lay.width}px">${lanes}
${bars(model, ops, result, lay)}</div></div>
${steps(model, result)}
<script>${script}</script></body></html>
`;
}

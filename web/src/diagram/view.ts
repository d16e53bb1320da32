/**
 * The interactive space-time diagram: a canvas with a toolbar (step through events, zoom, go to
 * the evidence), keyboard control when the canvas has focus, pointer zoom and pan, and a details
 * panel that describes the selected event in text (announced to screen readers).
 *
 * @module
 */
import type { TraceEvent } from '../../../src/sim/trace.js';
import { h } from '../dom.js';
import type { Patterns } from './draw.js';
import {
  GEOMETRY,
  Scale,
  diagramHeight,
  faultText,
  laneHeightFor,
  makePatterns,
  paint,
} from './draw.js';
import type { DiagramModel } from './model.js';
import { formatMs, initialWindow, lowerBound, short } from './model.js';

/** The keys the diagram answers to, for the help text and the docs. */
export const KEYS: readonly (readonly [string, string])[] = [
  ['→ or N', 'next event'],
  ['← or P', 'previous event'],
  ['Home / End', 'first / last event'],
  ['E', 'go to the evidence'],
  ['+ / −', 'zoom in / out around the selected event'],
  ['0', 'fit the whole run'],
  ['Shift + ← / →', 'pan the time axis'],
];

/** A `performance` mark set when the page's first diagram is drawn (the benchmark reads it). */
export const FIRST_DIAGRAM_MARK = 'faultline-lab:first-diagram';
let firstDrawMarked = false;

/** Zoom factor of one step. */
const ZOOM_STEP = 2;

/** One diagram on the page. */
export class SpaceTimeDiagram {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly patterns: Patterns;
  private readonly details: HTMLElement;
  private readonly position: HTMLElement;
  private viewStartMs: number;
  private viewEndMs: number;
  private selected = -1;
  private width = 600;
  private frame = 0;
  private draws = 0;
  private readonly observer: ResizeObserver;

  constructor(
    private readonly model: DiagramModel,
    private readonly title: string,
    /** Where the first view is centred (e.g. the scenario's evidence), default the start. */
    centreMs?: number,
    /** The canvas's id (so that focus can return to it after the page re-renders). */
    id?: string,
  ) {
    [this.viewStartMs, this.viewEndMs] = initialWindow(model, centreMs);
    this.canvas = h('canvas', {
      id,
      class: 'diagram-canvas',
      tabindex: '0',
      role: 'application',
      'aria-roledescription': 'space-time diagram',
      'aria-label': `${title}: ${model.lanes.length} nodes, ${model.events.length} events. Arrow keys step through events, plus and minus zoom, E goes to the evidence.`,
    });
    const ctx = this.canvas.getContext('2d');
    if (ctx === null) throw new Error('this browser has no 2D canvas');
    this.ctx = ctx;
    this.patterns = makePatterns(ctx);
    this.details = h('div', { class: 'event-details', 'aria-live': 'polite' });
    this.position = h('span', { class: 'position' });
    this.element = h(
      'div',
      { class: 'diagram' },
      this.toolbar(),
      h('div', { class: 'canvas-wrap' }, this.canvas),
      this.details,
    );
    this.bindInput();
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(this.element);
    const start = model.evidence?.at ?? -1;
    this.select(start >= 0 ? start : -1, false);
  }

  /** Stops observing the page (call when the diagram is removed). */
  dispose(): void {
    this.observer.disconnect();
    cancelAnimationFrame(this.frame);
  }

  /** Zooms by `factor` (> 1 zooms in) around the selected event, or the middle. */
  zoom(factor: number, aroundMs?: number): void {
    const span = this.viewEndMs - this.viewStartMs;
    const total = fullEnd(this.model) - this.model.startMs;
    const minSpan = Math.max(total / 1e6, 1e-3);
    const next = Math.min(total, Math.max(minSpan, span / factor));
    const centre = aroundMs ?? this.focusTime();
    const ratio = span > 0 ? (centre - this.viewStartMs) / span : 0.5;
    this.setView(centre - next * ratio, centre - next * ratio + next);
  }

  /** Shows the whole run. */
  fit(): void {
    this.setView(this.model.startMs, fullEnd(this.model));
  }

  /** Selects event position `i` (clamped); scrolls it into view. */
  select(i: number, announce = true): void {
    const n = this.model.events.length;
    this.selected = n === 0 || i < 0 ? -1 : Math.min(n - 1, Math.max(0, i));
    const e = this.model.events[this.selected];
    if (e !== undefined && (e.timeMs < this.viewStartMs || e.timeMs > this.viewEndMs)) {
      const span = this.viewEndMs - this.viewStartMs;
      this.setView(e.timeMs - span * 0.3, e.timeMs + span * 0.7);
    }
    this.describe(announce);
    this.invalidate();
  }

  /** Selects the evidence event and zooms so that it has some context around it. */
  goToEvidence(): void {
    const ev = this.model.evidence;
    if (ev === undefined) return;
    const total = fullEnd(this.model) - this.model.startMs;
    const span = Math.min(this.viewEndMs - this.viewStartMs, Math.max(total / 8, 1e-3));
    this.setView(ev.timeMs - span / 2, ev.timeMs + span / 2);
    this.select(ev.at);
  }

  /** Draws now (the benchmark calls it to time one frame). */
  draw(): void {
    this.frame = 0;
    const dpr = window.devicePixelRatio || 1;
    const height = diagramHeight(this.model.lanes.length);
    const w = Math.round(this.width * dpr);
    const hgt = Math.round(height * dpr);
    if (this.canvas.width !== w || this.canvas.height !== hgt) {
      this.canvas.width = w;
      this.canvas.height = hgt;
      this.canvas.style.height = `${height}px`;
    }
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const started = performance.now();
    paint({
      ctx: this.ctx,
      model: this.model,
      width: this.width,
      height,
      viewStartMs: this.viewStartMs,
      viewEndMs: this.viewEndMs,
      selected: this.selected,
      patterns: this.patterns,
    });
    // The cost of the last frame and a frame count, for the page benchmark (bench/lab-page.ts).
    this.canvas.dataset['drawMs'] = (performance.now() - started).toFixed(3);
    this.canvas.dataset['draws'] = String(++this.draws);
    if (!firstDrawMarked) {
      firstDrawMarked = true;
      performance.mark(FIRST_DIAGRAM_MARK);
    }
  }

  private toolbar(): HTMLElement {
    const button = (label: string, text: string, action: () => void, keyHint: string) =>
      h(
        'button',
        {
          type: 'button',
          class: 'tool',
          'aria-label': label,
          title: `${label} (${keyHint})`,
          onclick: action,
        },
        text,
      );
    const hasEvidence = this.model.evidence !== undefined;
    return h(
      'div',
      { class: 'toolbar', role: 'toolbar', 'aria-label': `${this.title}: controls` },
      h(
        'div',
        { class: 'group' },
        button('First event', '« First', () => this.select(0), 'Home'),
        button('Previous event', '◀ Prev', () => this.step(-1), '←'),
        button('Next event', 'Next ▶', () => this.step(1), '→'),
        button('Last event', 'Last »', () => this.select(this.model.events.length - 1), 'End'),
      ),
      h(
        'div',
        { class: 'group' },
        button('Zoom in', '+ Zoom in', () => this.zoom(ZOOM_STEP), '+'),
        button('Zoom out', '− Zoom out', () => this.zoom(1 / ZOOM_STEP), '−'),
        button('Fit the whole run', 'Fit', () => this.fit(), '0'),
      ),
      hasEvidence
        ? h(
            'div',
            { class: 'group' },
            button('Go to the evidence', '⚠ Evidence', () => this.goToEvidence(), 'E'),
          )
        : null,
      this.position,
    );
  }

  private step(delta: number): void {
    this.select(
      this.selected < 0 ? (delta > 0 ? 0 : this.model.events.length - 1) : this.selected + delta,
    );
  }

  private focusTime(): number {
    const e = this.model.events[this.selected];
    if (e !== undefined && e.timeMs >= this.viewStartMs && e.timeMs <= this.viewEndMs)
      return e.timeMs;
    return (this.viewStartMs + this.viewEndMs) / 2;
  }

  private setView(start: number, end: number): void {
    const lo = this.model.startMs;
    const hi = fullEnd(this.model);
    const span = Math.min(end - start, hi - lo);
    let s = Math.max(lo, start);
    if (s + span > hi) s = hi - span;
    this.viewStartMs = s;
    this.viewEndMs = s + span;
    this.updatePosition();
    this.invalidate();
  }

  private invalidate(): void {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => this.draw());
  }

  private resize(): void {
    const w = Math.max(320, Math.floor(this.element.clientWidth));
    if (w === this.width) return;
    this.width = w;
    this.invalidate();
  }

  private bindInput(): void {
    this.canvas.addEventListener('keydown', (e) => this.onKey(e));
    this.canvas.addEventListener('click', (e) => {
      const i = this.hit(e.offsetX, e.offsetY);
      if (i >= 0) this.select(i);
    });
    this.canvas.addEventListener(
      'wheel',
      (e) => {
        if (!(e.ctrlKey || e.metaKey || e.altKey)) return;
        e.preventDefault();
        const scale = this.scale();
        this.zoom(e.deltaY < 0 ? 1.25 : 0.8, scale.time(e.offsetX));
      },
      { passive: false },
    );
    let dragFrom: { x: number; start: number; end: number } | undefined;
    this.canvas.addEventListener('pointerdown', (e) => {
      dragFrom = { x: e.clientX, start: this.viewStartMs, end: this.viewEndMs };
    });
    window.addEventListener('pointerup', () => (dragFrom = undefined));
    this.canvas.addEventListener('pointermove', (e) => {
      if (dragFrom === undefined || e.buttons === 0) return;
      const scale = new Scale(
        dragFrom.start,
        dragFrom.end,
        this.width,
        laneHeightFor(this.model.lanes.length),
      );
      const dt = ((e.clientX - dragFrom.x) / scale.plotWidth) * (dragFrom.end - dragFrom.start);
      if (Math.abs(e.clientX - dragFrom.x) > 3)
        this.setView(dragFrom.start - dt, dragFrom.end - dt);
    });
  }

  private onKey(e: KeyboardEvent): void {
    const span = this.viewEndMs - this.viewStartMs;
    const handled = (): void => e.preventDefault();
    if (e.shiftKey && (e.key === 'ArrowRight' || e.key === 'ArrowLeft')) {
      const d = (e.key === 'ArrowRight' ? 0.25 : -0.25) * span;
      this.setView(this.viewStartMs + d, this.viewEndMs + d);
      return handled();
    }
    switch (e.key) {
      case 'ArrowRight':
      case 'n':
        this.step(1);
        return handled();
      case 'ArrowLeft':
      case 'p':
        this.step(-1);
        return handled();
      case 'Home':
        this.select(0);
        return handled();
      case 'End':
        this.select(this.model.events.length - 1);
        return handled();
      case '+':
      case '=':
        this.zoom(ZOOM_STEP);
        return handled();
      case '-':
      case '_':
        this.zoom(1 / ZOOM_STEP);
        return handled();
      case '0':
        this.fit();
        return handled();
      case 'e':
      case 'E':
        this.goToEvidence();
        return handled();
      default:
        return;
    }
  }

  private scale(): Scale {
    return new Scale(
      this.viewStartMs,
      this.viewEndMs,
      this.width,
      laneHeightFor(this.model.lanes.length),
    );
  }

  /** The event nearest to a click (within a few pixels), or -1. */
  private hit(px: number, py: number): number {
    const scale = this.scale();
    const m = this.model;
    const lane = Math.floor(
      (py - GEOMETRY.axisHeight - GEOMETRY.faultRowHeight) / scale.laneHeight,
    );
    const i0 = lowerBound(m.times, scale.time(px - 8));
    const i1 = lowerBound(m.times, scale.time(px + 8));
    let best = -1;
    let bestD = Number.POSITIVE_INFINITY;
    for (let i = i0; i < i1 && i < i0 + 2000; i++) {
      const l = m.eventLanes[i] as number;
      if (l !== lane && !(lane < 0 && l < 0)) continue;
      const y = l < 0 ? GEOMETRY.axisHeight + GEOMETRY.faultRowHeight / 2 : scale.laneY(l);
      const d = Math.hypot(scale.x(m.times[i] as number) - px, (y - py) / 3);
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    return best;
  }

  private updatePosition(): void {
    const n = this.model.events.length;
    const at = this.selected < 0 ? '–' : (this.selected + 1).toLocaleString('en');
    this.position.textContent = `event ${at} of ${n.toLocaleString('en')} · showing ${formatMs(this.viewStartMs)} – ${formatMs(this.viewEndMs)}`;
  }

  private describe(announce: boolean): void {
    this.updatePosition();
    const e = this.model.events[this.selected];
    this.details.replaceChildren(
      ...(e === undefined ? [h('p', {}, 'No event selected.')] : this.describeEvent(e)),
    );
    if (!announce) this.details.setAttribute('aria-live', 'off');
    else this.details.setAttribute('aria-live', 'polite');
  }

  private describeEvent(e: TraceEvent): HTMLElement[] {
    const out: HTMLElement[] = [
      h('p', { class: 'event-line' }, eventSentence(e, this.model, this.selected)),
    ];
    const ev = this.model.evidence;
    if (ev !== undefined && ev.at === this.selected) {
      out.push(
        h(
          'div',
          { class: 'evidence-callout' },
          h('strong', {}, '⚠ Evidence: '),
          `${ev.summary} (at ${formatMs(ev.timeMs)})`,
          ev.operations.length > 0
            ? h('ul', {}, ...ev.operations.map((o) => h('li', {}, h('code', {}, o))))
            : null,
        ),
      );
    }
    if (e.detail !== undefined && e.kind !== 'note')
      out.push(h('pre', { class: 'event-detail' }, short(e.detail, 600)));
    return out;
  }
}

function fullEnd(model: DiagramModel): number {
  return model.endMs > model.startMs ? model.endMs : model.startMs + 1;
}

/** One sentence describing an event, for the details panel and screen readers. */
export function eventSentence(e: TraceEvent, model: DiagramModel, at: number): string {
  const head = `#${e.index} at ${formatMs(e.timeMs)}`;
  const m = model.messages[model.messageOf[at] ?? -1];
  switch (e.kind) {
    case 'send':
      return `${head}: ${e.node ?? '?'} sends message ${e.msg ?? '?'} to ${e.to ?? '?'}${m === undefined ? '' : m.fate === 'delivered' ? ` (delivered after ${formatMs(m.endMs - m.sendMs)})` : m.fate === 'dropped' ? ` (dropped: ${m.reason ?? 'lost'})` : ' (still in flight at the end)'}.`;
    case 'deliver':
      return `${head}: ${e.node ?? '?'} receives message ${e.msg ?? '?'} from ${e.from ?? '?'}${m === undefined ? '' : ` (sent at ${formatMs(m.sendMs)}${m.duplicate ? ', a duplicate' : ''})`}.`;
    case 'drop':
      return `${head}: message ${e.msg ?? '(intercepted)'} from ${e.from ?? '?'} to ${e.to ?? '?'} is dropped (${short(e.detail ?? 'lost')}).`;
    case 'duplicate':
      return `${head}: the network duplicates message ${e.msg ?? '?'} from ${e.from ?? '?'} to ${e.to ?? '?'}.`;
    case 'pause':
      return `${head}: ${e.node ?? '?'} pauses${typeof e.detail === 'number' ? ` for ${formatMs(e.detail)}` : ''} (a GC pause: it runs nothing, its clock keeps moving).`;
    case 'resume':
      return `${head}: ${e.node ?? '?'} resumes.`;
    case 'crash':
      return `${head}: ${e.node ?? '?'} crashes (unsynced writes are lost).`;
    case 'restart':
      return `${head}: ${e.node ?? '?'} restarts.`;
    case 'fault':
      return `${head}: fault injected: ${faultText(e.detail)}.`;
    case 'op':
      return `${head}: ${e.node ?? '?'} ${opText(e.detail)}.`;
    case 'note':
      return `${head}: on ${e.node ?? '?'}: ${short(e.detail, 400)}`;
    case 'timer':
      return `${head}: a timer fires on ${e.node ?? '?'}.`;
    case 'buggify':
      return `${head}: buggify point ${short(e.detail)} fires.`;
  }
}

function opText(detail: unknown): string {
  if (typeof detail !== 'object' || detail === null) return `operation ${short(detail)}`;
  const d = detail as { type?: unknown; f?: unknown; value?: unknown };
  const value = d.value === null || d.value === undefined ? '' : ` ${short(d.value)}`;
  switch (d.type) {
    case 'invoke':
      return `invokes ${String(d.f)}${value}`;
    case 'ok':
      return `completes ${String(d.f)}${value}`;
    case 'fail':
      return `fails ${String(d.f)}${value} (it did not happen)`;
    default:
      return `times out on ${String(d.f)}${value} (indeterminate: it may have happened)`;
  }
}

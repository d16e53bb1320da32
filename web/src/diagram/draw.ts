/**
 * Draws a {@link DiagramModel} window onto a canvas: lanes, shaded intervals, operations, message
 * arrows, point markers, the evidence and the selection. Only what intersects the visible time
 * window is drawn (binary searches on sorted times), so a 10,000-event trace stays cheap.
 *
 * Meaning never rests on colour alone: drops are dashed and end in a cross, duplicates carry a
 * double arrowhead, pauses are hatched, crashes cross-hatched, partitions striped and labelled.
 *
 * @module
 */
import type { TraceEvent } from '../../../src/sim/trace.js';
import type { DiagramModel, Interval, MessageArrow, OperationBar } from './model.js';
import { formatMs, lowerBound, niceStep, short, visibleMessageRange } from './model.js';

/** Geometry of the drawing, in CSS pixels. */
export const GEOMETRY = {
  labelWidth: 104,
  axisHeight: 26,
  faultRowHeight: 22,
  laneHeight: 48,
  rightPad: 14,
  bottomPad: 10,
} as const;

/** Colours (each paired with a shape or a pattern). */
export const COLOURS = {
  ink: '#1d2433',
  muted: '#5b6474',
  grid: '#d9dde5',
  lane: '#8a93a3',
  message: '#2f5aa8',
  drop: '#b42318',
  duplicate: '#6b3fb5',
  pause: '#b26a00',
  crash: '#5d1a12',
  partition: '#0f6e6e',
  note: '#1f6f3a',
  evidence: '#c4320a',
  selection: '#0b57d0',
  op: '#3c4454',
} as const;

/** What the view hands the painter. */
export interface Frame {
  readonly ctx: CanvasRenderingContext2D;
  readonly model: DiagramModel;
  /** CSS pixel size of the canvas. */
  readonly width: number;
  readonly height: number;
  readonly viewStartMs: number;
  readonly viewEndMs: number;
  /** Selected event position, -1 for none. */
  readonly selected: number;
  readonly patterns: Patterns;
}

/** Fill patterns for shaded intervals. */
export interface Patterns {
  readonly paused: CanvasPattern | string;
  readonly crashed: CanvasPattern | string;
  readonly partition: CanvasPattern | string;
  readonly loss: CanvasPattern | string;
}

/** Lane height for a number of lanes: 48 px, shrinking (to 16) so that many nodes stay in view. */
export function laneHeightFor(lanes: number): number {
  return Math.max(16, Math.min(GEOMETRY.laneHeight, Math.floor(720 / Math.max(1, lanes))));
}

/** Canvas height for a number of lanes, CSS pixels. */
export function diagramHeight(lanes: number): number {
  const g = GEOMETRY;
  return g.axisHeight + g.faultRowHeight + Math.max(1, lanes) * laneHeightFor(lanes) + g.bottomPad;
}

/** Maps times to x and back, and lanes to y, for a frame. */
export class Scale {
  readonly left = GEOMETRY.labelWidth;
  readonly plotWidth: number;
  constructor(
    readonly startMs: number,
    readonly endMs: number,
    width: number,
    /** Height of one lane (see {@link laneHeightFor}). */
    readonly laneHeight: number = GEOMETRY.laneHeight,
  ) {
    this.plotWidth = Math.max(10, width - GEOMETRY.labelWidth - GEOMETRY.rightPad);
  }
  x(timeMs: number): number {
    return this.left + ((timeMs - this.startMs) / (this.endMs - this.startMs)) * this.plotWidth;
  }
  time(x: number): number {
    return this.startMs + ((x - this.left) / this.plotWidth) * (this.endMs - this.startMs);
  }
  /** Y of the middle of lane `i`. */
  laneY(i: number): number {
    return GEOMETRY.axisHeight + GEOMETRY.faultRowHeight + (i + 0.5) * this.laneHeight;
  }
  /** The lane at `y`, negative above the lanes. */
  laneAt(y: number): number {
    return Math.floor((y - GEOMETRY.axisHeight - GEOMETRY.faultRowHeight) / this.laneHeight);
  }
  /** Half the height of a band drawn on a lane. */
  get bandHalf(): number {
    return Math.min(15, this.laneHeight / 2 - 2);
  }
}

/** Builds the interval patterns (hatching) once per canvas. */
export function makePatterns(ctx: CanvasRenderingContext2D): Patterns {
  const make = (draw: (c: CanvasRenderingContext2D) => void, fallback: string) => {
    const tile = document.createElement('canvas');
    tile.width = 8;
    tile.height = 8;
    const c = tile.getContext('2d');
    if (c === null) return fallback;
    draw(c);
    return ctx.createPattern(tile, 'repeat') ?? fallback;
  };
  const line = (
    c: CanvasRenderingContext2D,
    colour: string,
    x0: number,
    y0: number,
    x1: number,
    y1: number,
  ) => {
    c.strokeStyle = colour;
    c.lineWidth = 1.2;
    c.beginPath();
    c.moveTo(x0, y0);
    c.lineTo(x1, y1);
    c.stroke();
  };
  return {
    paused: make((c) => {
      c.fillStyle = 'rgba(178,106,0,0.10)';
      c.fillRect(0, 0, 8, 8);
      line(c, 'rgba(178,106,0,0.75)', 0, 8, 8, 0);
    }, 'rgba(178,106,0,0.25)'),
    crashed: make((c) => {
      c.fillStyle = 'rgba(93,26,18,0.16)';
      c.fillRect(0, 0, 8, 8);
      line(c, 'rgba(93,26,18,0.8)', 0, 8, 8, 0);
      line(c, 'rgba(93,26,18,0.8)', 0, 0, 8, 8);
    }, 'rgba(93,26,18,0.3)'),
    partition: make((c) => {
      c.fillStyle = 'rgba(15,110,110,0.06)';
      c.fillRect(0, 0, 8, 8);
      line(c, 'rgba(15,110,110,0.45)', 0, 4, 8, 4);
    }, 'rgba(15,110,110,0.15)'),
    loss: make((c) => {
      c.fillStyle = 'rgba(180,35,24,0.05)';
      c.fillRect(0, 0, 8, 8);
      c.fillStyle = 'rgba(180,35,24,0.5)';
      c.fillRect(3, 3, 1.6, 1.6);
    }, 'rgba(180,35,24,0.12)'),
  };
}

/** Paints one frame. */
export function paint(f: Frame): void {
  const { ctx } = f;
  const scale = new Scale(f.viewStartMs, f.viewEndMs, f.width, laneHeightFor(f.model.lanes.length));
  ctx.save();
  ctx.clearRect(0, 0, f.width, f.height);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, f.width, f.height);
  ctx.font = '12px system-ui, -apple-system, "Segoe UI", sans-serif';
  ctx.textBaseline = 'middle';
  paintLanes(f, scale);
  ctx.save();
  ctx.beginPath();
  ctx.rect(scale.left, 0, scale.plotWidth + 1, f.height);
  ctx.clip();
  paintIntervals(f, scale);
  paintOperations(f, scale);
  paintMessages(f, scale);
  paintPoints(f, scale);
  paintEvidence(f, scale);
  paintSelection(f, scale);
  ctx.restore();
  paintAxis(f, scale);
  ctx.restore();
}

function paintLanes(f: Frame, scale: Scale): void {
  const { ctx, model } = f;
  const g = GEOMETRY;
  for (let i = 0; i < model.lanes.length; i++) {
    const y = scale.laneY(i);
    if (i % 2 === 1) {
      ctx.fillStyle = '#f6f7f9';
      ctx.fillRect(0, y - scale.laneHeight / 2, f.width, scale.laneHeight);
    }
    ctx.strokeStyle = COLOURS.lane;
    ctx.lineWidth = 1;
    ctx.setLineDash([]);
    ctx.beginPath();
    ctx.moveTo(scale.left, y);
    ctx.lineTo(scale.left + scale.plotWidth, y);
    ctx.stroke();
    ctx.fillStyle = COLOURS.ink;
    ctx.textAlign = 'right';
    ctx.font = '600 12px system-ui, -apple-system, "Segoe UI", sans-serif';
    ctx.fillText(fit(ctx, model.lanes[i] ?? '', g.labelWidth - 14), g.labelWidth - 8, y);
  }
  ctx.font = '12px system-ui, -apple-system, "Segoe UI", sans-serif';
  ctx.fillStyle = COLOURS.muted;
  ctx.textAlign = 'right';
  ctx.fillText('faults', g.labelWidth - 8, g.axisHeight + g.faultRowHeight / 2);
  ctx.strokeStyle = COLOURS.grid;
  ctx.beginPath();
  ctx.moveTo(0, g.axisHeight + g.faultRowHeight);
  ctx.lineTo(f.width, g.axisHeight + g.faultRowHeight);
  ctx.moveTo(g.labelWidth, 0);
  ctx.lineTo(g.labelWidth, f.height);
  ctx.stroke();
}

function paintIntervals(f: Frame, scale: Scale): void {
  const { ctx, model } = f;
  const g = GEOMETRY;
  const top = g.axisHeight + g.faultRowHeight;
  const bottom = top + model.lanes.length * scale.laneHeight;
  for (const iv of model.intervals) {
    if (iv.endMs < f.viewStartMs || iv.startMs > f.viewEndMs) continue;
    const x0 = scale.x(iv.startMs);
    const x1 = Math.max(x0 + 2, scale.x(iv.endMs));
    const [y0, y1] =
      iv.lane < 0
        ? [top, bottom]
        : [scale.laneY(iv.lane) - scale.bandHalf, scale.laneY(iv.lane) + scale.bandHalf];
    ctx.fillStyle = patternOf(f.patterns, iv);
    ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
    ctx.strokeStyle = intervalColour(iv);
    ctx.lineWidth = 1;
    ctx.setLineDash(iv.lane < 0 ? [3, 3] : []);
    ctx.strokeRect(x0 + 0.5, y0 + 0.5, x1 - x0 - 1, y1 - y0 - 1);
    ctx.setLineDash([]);
    const labelY = iv.lane < 0 ? g.axisHeight + g.faultRowHeight / 2 : y0 - 1;
    const room = x1 - Math.max(x0, scale.left) - 6;
    if (room > 24) {
      ctx.fillStyle = intervalColour(iv);
      ctx.textAlign = 'left';
      ctx.font = '600 11px system-ui, -apple-system, "Segoe UI", sans-serif';
      ctx.fillText(
        fit(ctx, iv.label, room),
        Math.max(x0, scale.left) + 3,
        labelY + (iv.lane < 0 ? 0 : -6),
      );
      ctx.font = '12px system-ui, -apple-system, "Segoe UI", sans-serif';
    }
  }
}

function patternOf(p: Patterns, iv: Interval): CanvasPattern | string {
  switch (iv.kind) {
    case 'paused':
      return p.paused;
    case 'crashed':
      return p.crashed;
    case 'loss':
      return p.loss;
    case 'partition':
    case 'isolated':
    case 'cut':
      return p.partition;
  }
}

function intervalColour(iv: Interval): string {
  switch (iv.kind) {
    case 'paused':
      return COLOURS.pause;
    case 'crashed':
      return COLOURS.crash;
    case 'loss':
      return COLOURS.drop;
    default:
      return COLOURS.partition;
  }
}

function paintOperations(f: Frame, scale: Scale): void {
  const { ctx, model } = f;
  const lastLabelEnd = new Map<number, number>();
  for (const op of visibleOperations(model, f.viewStartMs, f.viewEndMs)) {
    const y = scale.laneY(op.lane) - Math.min(9, scale.laneHeight / 2 - 3);
    const x0 = scale.x(op.startMs);
    const x1 = Math.max(x0 + 1, scale.x(op.endMs));
    ctx.strokeStyle = COLOURS.op;
    ctx.lineWidth = 2.5;
    ctx.setLineDash(op.outcome === 'ok' ? [] : op.outcome === 'fail' ? [5, 3] : [1.5, 3]);
    ctx.beginPath();
    ctx.moveTo(x0, y);
    ctx.lineTo(x1, y);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(x0, y - 4);
    ctx.lineTo(x0, y + 4);
    ctx.stroke();
    paintOutcome(ctx, op, x1, y);
    const labelStart = Math.max(x0, scale.left) + 2;
    if (
      scale.laneHeight >= 30 &&
      labelStart > (lastLabelEnd.get(op.lane) ?? -Infinity) &&
      x1 - x0 > 0
    ) {
      ctx.fillStyle = COLOURS.op;
      ctx.textAlign = 'left';
      ctx.font = '11px system-ui, -apple-system, "Segoe UI", sans-serif';
      const text = fit(ctx, op.label, 160);
      ctx.fillText(text, labelStart, y - 9);
      lastLabelEnd.set(op.lane, labelStart + ctx.measureText(text).width + 8);
      ctx.font = '12px system-ui, -apple-system, "Segoe UI", sans-serif';
    }
  }
}

function paintOutcome(ctx: CanvasRenderingContext2D, op: OperationBar, x: number, y: number): void {
  ctx.fillStyle = COLOURS.op;
  ctx.strokeStyle = COLOURS.op;
  switch (op.outcome) {
    case 'ok':
      ctx.fillRect(x - 3, y - 3, 6, 6);
      return;
    case 'fail':
      cross(ctx, x, y, 4);
      return;
    case 'info':
      ctx.textAlign = 'center';
      ctx.fillText('?', x, y);
      return;
    case 'open':
      return;
  }
}

function* visibleOperations(model: DiagramModel, v0: number, v1: number): Generator<OperationBar> {
  // Operations are sorted by start; open ones can be long, so scan from the start (few of them).
  for (const op of model.operations) {
    if (op.startMs > v1) return;
    if (op.endMs >= v0) yield op;
  }
}

function paintMessages(f: Frame, scale: Scale): void {
  const { ctx, model } = f;
  const [from, to] = visibleMessageRange(model, f.viewStartMs, f.viewEndMs);
  const dense = to - from > 1500;
  ctx.globalAlpha = dense ? 0.55 : 0.9;
  const paths = new ArrowPaths(ctx, dense ? 1 : 1.4, dense);
  // Zoomed out, many arrows land on the same pixels: draw each pixel-identical arrow once.
  const seen = dense ? new Set<number>() : undefined;
  for (let k = from; k < to; k++) {
    const m = model.messages[k] as MessageArrow;
    if (m.endMs < f.viewStartMs) continue;
    if (seen !== undefined) {
      const key = pixelKey(scale, m);
      if (seen.has(key)) continue;
      seen.add(key);
    }
    paths.add(scale, m);
  }
  paths.flush();
  ctx.globalAlpha = 1;
}

/** The arrow's pixels as one number: ends (x clamped to ±32,768), lanes (mod 256) and style. */
function pixelKey(scale: Scale, m: MessageArrow): number {
  const px = (t: number): number => Math.min(65_535, Math.max(0, Math.round(scale.x(t)) + 32_768));
  const style = m.fate === 'dropped' ? 1 : m.fate === 'in-flight' ? 2 : m.duplicate ? 3 : 0;
  return (
    (((px(m.sendMs) * 65_536 + px(m.endMs)) * 256 + (m.fromLane & 255)) * 256 + (m.toLane & 255)) *
      4 +
    style
  );
}

/** Arrows per batch of {@link ArrowPaths}. */
const ARROW_BATCH = 256;

/** Message arrows gathered by style into a few paths, each stroked or filled once. */
class ArrowPaths {
  private delivered = new Path2D();
  private duplicate = new Path2D();
  private inFlight = new Path2D();
  private dropped = new Path2D();
  private heads = new Path2D();
  private duplicateHeads = new Path2D();
  private crosses = new Path2D();
  private count = 0;

  constructor(
    private readonly ctx: CanvasRenderingContext2D,
    private readonly width: number,
    /** Zoomed far out: lines only, the arrowheads would be a smudge. */
    private readonly dense = false,
  ) {}

  add(scale: Scale, m: MessageArrow): void {
    if (m.fromLane < 0 || m.toLane < 0) return;
    // Small batches: one path of thousands of overlapping arrows rasterises far slower.
    if (++this.count > ARROW_BATCH) this.flush();
    this.place(scale, m);
  }

  private place(scale: Scale, m: MessageArrow): void {
    const x0 = scale.x(m.sendMs);
    const y0 = scale.laneY(m.fromLane);
    const y1 = scale.laneY(m.toLane);
    if (m.fate === 'dropped') {
      // Refused at once: a short stub from the sender with the cross at the sender's side.
      const atOnce = m.endMs - m.sendMs <= 0;
      const xe = atOnce ? x0 + 10 : scale.x(m.endMs);
      const ye = atOnce ? y0 + (y1 >= y0 ? 16 : -16) : y0 + (y1 - y0) * 0.85;
      segment(this.dropped, x0, y0, xe, ye);
      crossPath(this.crosses, xe, ye, 4.5);
      return;
    }
    const x1 = scale.x(m.endMs);
    if (m.fate === 'in-flight') {
      segment(this.inFlight, x0, y0, x1, y1);
      return;
    }
    if (m.duplicate) {
      segment(this.duplicate, x0, y0, x1, y1);
      if (this.dense) return;
      headPath(this.duplicateHeads, x0, y0, x1, y1, 7);
      headPath(this.duplicateHeads, x0, y0, x1 - (x1 - x0) * 0.12, y1 - (y1 - y0) * 0.12, 6);
      return;
    }
    segment(this.delivered, x0, y0, x1, y1);
    if (!this.dense) headPath(this.heads, x0, y0, x1, y1, 7);
  }

  flush(): void {
    this.paint(this.ctx, this.width);
    this.delivered = new Path2D();
    this.duplicate = new Path2D();
    this.inFlight = new Path2D();
    this.dropped = new Path2D();
    this.heads = new Path2D();
    this.duplicateHeads = new Path2D();
    this.crosses = new Path2D();
    this.count = 1;
  }

  private paint(ctx: CanvasRenderingContext2D, width: number): void {
    ctx.lineWidth = width;
    const stroke = (path: Path2D, colour: string, dash: number[]): void => {
      ctx.strokeStyle = colour;
      ctx.setLineDash(dash);
      ctx.stroke(path);
    };
    stroke(this.delivered, COLOURS.message, []);
    stroke(this.inFlight, COLOURS.message, [1.5, 3]);
    stroke(this.duplicate, COLOURS.duplicate, [8, 2, 2, 2]);
    stroke(this.dropped, COLOURS.drop, [4, 3]);
    ctx.setLineDash([]);
    ctx.lineWidth = Math.max(width, 1.4);
    stroke(this.crosses, COLOURS.drop, []);
    ctx.fillStyle = COLOURS.message;
    ctx.fill(this.heads);
    ctx.fillStyle = COLOURS.duplicate;
    ctx.fill(this.duplicateHeads);
  }
}

/** Draws one message arrow (the selected one, bold). */
export function paintMessage(
  ctx: CanvasRenderingContext2D,
  scale: Scale,
  m: MessageArrow,
  width: number,
): void {
  const paths = new ArrowPaths(ctx, width);
  paths.add(scale, m);
  paths.flush();
}

function segment(path: Path2D, x0: number, y0: number, x1: number, y1: number): void {
  path.moveTo(x0, y0);
  path.lineTo(x1, y1);
}

function crossPath(path: Path2D, x: number, y: number, r: number): void {
  path.moveTo(x - r, y - r);
  path.lineTo(x + r, y + r);
  path.moveTo(x - r, y + r);
  path.lineTo(x + r, y - r);
}

function headPath(
  path: Path2D,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  size: number,
): void {
  const angle = Math.atan2(y1 - y0, x1 - x0);
  path.moveTo(x1, y1);
  path.lineTo(x1 - size * Math.cos(angle - 0.45), y1 - size * Math.sin(angle - 0.45));
  path.lineTo(x1 - size * Math.cos(angle + 0.45), y1 - size * Math.sin(angle + 0.45));
  path.closePath();
}

function paintPoints(f: Frame, scale: Scale): void {
  const { ctx, model } = f;
  const i0 = lowerBound(model.times, f.viewStartMs);
  const i1 = lowerBound(model.times, f.viewEndMs + Number.EPSILON);
  const lastLabelEnd = new Map<number, number>();
  // Send dots gathered into one path; zoomed far out they are left to the arrows.
  const sends = i1 - i0 > 4000 ? undefined : new Path2D();
  for (let i = i0; i < i1; i++) {
    const e = model.events[i] as TraceEvent;
    const lane = model.eventLanes[i] as number;
    if (e.kind === 'send') {
      if (sends !== undefined && lane >= 0) {
        const x = scale.x(e.timeMs);
        sends.moveTo(x + 2.2, scale.laneY(lane));
        sends.arc(x, scale.laneY(lane), 2.2, 0, Math.PI * 2);
      }
      continue;
    }
    if (e.kind === 'deliver' || e.kind === 'op' || e.kind === 'drop' || e.kind === 'duplicate')
      continue;
    const x = scale.x(e.timeMs);
    const y = lane < 0 ? GEOMETRY.axisHeight + GEOMETRY.faultRowHeight / 2 : scale.laneY(lane);
    paintPoint(ctx, e, x, y, lastLabelEnd, lane);
  }
  if (sends !== undefined) {
    ctx.fillStyle = COLOURS.message;
    ctx.fill(sends);
  }
}

function paintPoint(
  ctx: CanvasRenderingContext2D,
  e: TraceEvent,
  x: number,
  y: number,
  lastLabelEnd: Map<number, number>,
  lane: number,
): void {
  switch (e.kind) {
    case 'crash':
      ctx.strokeStyle = COLOURS.crash;
      ctx.lineWidth = 2.5;
      cross(ctx, x, y, 7);
      return;
    case 'restart':
      ctx.fillStyle = COLOURS.crash;
      triangle(ctx, x, y, 6);
      labelAt(ctx, 'restart', x + 8, y + 13, COLOURS.crash, lastLabelEnd, lane + 0.5);
      return;
    case 'pause':
    case 'resume':
      ctx.strokeStyle = COLOURS.pause;
      ctx.lineWidth = 2;
      bracket(ctx, x, y, e.kind === 'pause' ? 1 : -1);
      return;
    case 'note':
      paintNote(ctx, e, x, y, lastLabelEnd, lane);
      return;
    case 'fault':
      ctx.fillStyle = COLOURS.partition;
      diamond(ctx, x, y, 5);
      labelAt(ctx, faultText(e.detail), x + 8, y, COLOURS.partition, lastLabelEnd, -1);
      return;
    case 'buggify':
      ctx.fillStyle = COLOURS.muted;
      ctx.textAlign = 'center';
      ctx.fillText('✱', x, y);
      return;
    case 'timer':
      ctx.strokeStyle = COLOURS.muted;
      ctx.lineWidth = 1;
      line(ctx, x, y - 4, x, y + 4);
      return;
    case 'send':
    case 'deliver':
    case 'drop':
    case 'duplicate':
    case 'op':
      return;
  }
}

function paintNote(
  ctx: CanvasRenderingContext2D,
  e: TraceEvent,
  x: number,
  y: number,
  lastLabelEnd: Map<number, number>,
  lane: number,
): void {
  ctx.strokeStyle = COLOURS.note;
  ctx.fillStyle = COLOURS.note;
  ctx.lineWidth = 1.5;
  line(ctx, x, y, x, y + 16);
  ctx.beginPath();
  ctx.moveTo(x, y + 16);
  ctx.lineTo(x + 7, y + 12.5);
  ctx.lineTo(x, y + 9);
  ctx.closePath();
  ctx.fill();
  labelAt(ctx, short(e.detail, 40), x + 9, y + 14, COLOURS.note, lastLabelEnd, lane + 0.25);
}

/** The text of a fault event's detail (`crash server`, `pause n1 300 ms`, `partition`). */
export function faultText(detail: unknown): string {
  if (typeof detail !== 'object' || detail === null) return short(detail);
  const d = detail as Record<string, unknown>;
  const parts = [String(d['kind'] ?? 'fault')];
  if (typeof d['node'] === 'string') parts.push(d['node']);
  if (typeof d['durationMs'] === 'number') parts.push(formatMs(d['durationMs']));
  if (typeof d['deltaMs'] === 'number')
    parts.push(`${d['deltaMs'] >= 0 ? '+' : ''}${formatMs(d['deltaMs'])}`);
  if (typeof d['driftPpm'] === 'number') parts.push(`${d['driftPpm']} ppm`);
  return parts.join(' ');
}

function paintEvidence(f: Frame, scale: Scale): void {
  const ev = f.model.evidence;
  if (ev === undefined || ev.timeMs < f.viewStartMs || ev.timeMs > f.viewEndMs) return;
  const { ctx } = f;
  const g = GEOMETRY;
  const x = scale.x(ev.timeMs);
  ctx.strokeStyle = COLOURS.evidence;
  ctx.lineWidth = 2.5;
  ctx.setLineDash([8, 4]);
  line(ctx, x, g.axisHeight, x, f.height - g.bottomPad);
  ctx.setLineDash([]);
  if (ev.lane >= 0) {
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    ctx.arc(x, scale.laneY(ev.lane), Math.min(11, scale.laneHeight / 2), 0, Math.PI * 2);
    ctx.stroke();
  }
  const text = '⚠ evidence';
  ctx.font = '700 11px system-ui, -apple-system, "Segoe UI", sans-serif';
  const w = ctx.measureText(text).width + 10;
  const bx = Math.min(x + 4, scale.left + scale.plotWidth - w);
  const by = g.axisHeight + 3;
  ctx.fillStyle = COLOURS.evidence;
  ctx.fillRect(bx, by, w, g.faultRowHeight - 6);
  ctx.fillStyle = '#ffffff';
  ctx.textAlign = 'left';
  ctx.fillText(text, bx + 5, by + (g.faultRowHeight - 6) / 2);
  paintEvidenceSummary(ctx, scale, ev.summary, bx, bx + w, by + (g.faultRowHeight - 6) / 2);
  ctx.font = '12px system-ui, -apple-system, "Segoe UI", sans-serif';
}

/** The checker's summary beside the evidence tag: right of it when there is room, else left. */
function paintEvidenceSummary(
  ctx: CanvasRenderingContext2D,
  scale: Scale,
  summary: string,
  tagLeft: number,
  tagRight: number,
  y: number,
): void {
  ctx.font = '600 11px system-ui, -apple-system, "Segoe UI", sans-serif';
  const right = scale.left + scale.plotWidth - tagRight - 8;
  const left = tagLeft - scale.left - 8;
  const onRight = right >= 160 || right >= left;
  const room = Math.min(onRight ? right : left, 460);
  if (room < 60) return;
  const text = fit(ctx, summary, room);
  const w = ctx.measureText(text).width;
  const x = onRight ? tagRight + 4 : tagLeft - 4 - w;
  ctx.fillStyle = 'rgba(255,255,255,0.92)';
  ctx.fillRect(x - 2, y - 8, w + 4, 16);
  ctx.fillStyle = COLOURS.evidence;
  ctx.textAlign = 'left';
  ctx.fillText(text, x, y);
}

function paintSelection(f: Frame, scale: Scale): void {
  const e = f.model.events[f.selected];
  if (e === undefined || e.timeMs < f.viewStartMs || e.timeMs > f.viewEndMs) return;
  const { ctx, model } = f;
  const m = model.messages[model.messageOf[f.selected] ?? -1];
  if (m !== undefined) {
    ctx.globalAlpha = 1;
    paintMessage(ctx, scale, m, 3);
  }
  const x = scale.x(e.timeMs);
  const lane = model.eventLanes[f.selected] as number;
  const y = lane < 0 ? GEOMETRY.axisHeight + GEOMETRY.faultRowHeight / 2 : scale.laneY(lane);
  ctx.strokeStyle = COLOURS.selection;
  ctx.lineWidth = 1;
  ctx.setLineDash([2, 2]);
  line(ctx, x, GEOMETRY.axisHeight, x, f.height - GEOMETRY.bottomPad);
  ctx.setLineDash([]);
  ctx.lineWidth = 2.5;
  ctx.strokeRect(x - 8, y - 8, 16, 16);
}

function paintAxis(f: Frame, scale: Scale): void {
  const { ctx } = f;
  const g = GEOMETRY;
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, f.width, g.axisHeight);
  ctx.strokeStyle = COLOURS.grid;
  ctx.lineWidth = 1;
  line(ctx, 0, g.axisHeight - 0.5, f.width, g.axisHeight - 0.5);
  const span = f.viewEndMs - f.viewStartMs;
  const step = niceStep(span / Math.max(2, scale.plotWidth / 90));
  const first = Math.ceil(f.viewStartMs / step) * step;
  ctx.fillStyle = COLOURS.muted;
  ctx.textAlign = 'center';
  ctx.font = '11px system-ui, -apple-system, "Segoe UI", sans-serif';
  for (let t = first; t <= f.viewEndMs + step * 1e-9; t += step) {
    const x = scale.x(t);
    ctx.strokeStyle = COLOURS.grid;
    line(ctx, x, g.axisHeight - 6, x, g.axisHeight);
    ctx.fillText(formatMs(roundTo(t, step)), x, g.axisHeight / 2 - 1);
  }
  ctx.textAlign = 'left';
  ctx.fillText('time →', 6, g.axisHeight / 2 - 1);
}

function roundTo(t: number, step: number): number {
  return Math.round(t / step) * step;
}

function labelAt(
  ctx: CanvasRenderingContext2D,
  text: string,
  x: number,
  y: number,
  colour: string,
  lastLabelEnd: Map<number, number>,
  row: number,
): void {
  if (x < (lastLabelEnd.get(row) ?? -Infinity)) return;
  ctx.font = '11px system-ui, -apple-system, "Segoe UI", sans-serif';
  const shown = fit(ctx, text, 220);
  const w = ctx.measureText(shown).width;
  ctx.fillStyle = 'rgba(255,255,255,0.85)';
  ctx.fillRect(x - 1, y - 7, w + 2, 14);
  ctx.fillStyle = colour;
  ctx.textAlign = 'left';
  ctx.fillText(shown, x, y);
  lastLabelEnd.set(row, x + w + 10);
  ctx.font = '12px system-ui, -apple-system, "Segoe UI", sans-serif';
}

/** `text` cut with an ellipsis to fit `maxWidth` pixels. */
function fit(ctx: CanvasRenderingContext2D, text: string, maxWidth: number): string {
  if (ctx.measureText(text).width <= maxWidth) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (ctx.measureText(`${text.slice(0, mid)}…`).width <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return `${text.slice(0, lo)}…`;
}

function line(ctx: CanvasRenderingContext2D, x0: number, y0: number, x1: number, y1: number): void {
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
}

/** An ✕ of half-size `r`. */
export function cross(ctx: CanvasRenderingContext2D, x: number, y: number, r: number): void {
  ctx.beginPath();
  ctx.moveTo(x - r, y - r);
  ctx.lineTo(x + r, y + r);
  ctx.moveTo(x - r, y + r);
  ctx.lineTo(x + r, y - r);
  ctx.stroke();
}

function triangle(ctx: CanvasRenderingContext2D, x: number, y: number, r: number): void {
  ctx.beginPath();
  ctx.moveTo(x - r * 0.6, y - r);
  ctx.lineTo(x + r, y);
  ctx.lineTo(x - r * 0.6, y + r);
  ctx.closePath();
  ctx.fill();
}

function diamond(ctx: CanvasRenderingContext2D, x: number, y: number, r: number): void {
  ctx.beginPath();
  ctx.moveTo(x, y - r);
  ctx.lineTo(x + r, y);
  ctx.lineTo(x, y + r);
  ctx.lineTo(x - r, y);
  ctx.closePath();
  ctx.fill();
}

function bracket(ctx: CanvasRenderingContext2D, x: number, y: number, dir: 1 | -1): void {
  ctx.beginPath();
  ctx.moveTo(x + dir * 4, y - 15);
  ctx.lineTo(x, y - 15);
  ctx.lineTo(x, y + 15);
  ctx.lineTo(x + dir * 4, y + 15);
  ctx.stroke();
}

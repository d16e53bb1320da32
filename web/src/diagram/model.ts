/**
 * The space-time diagram's model: a recorded trace turned into lanes, message arrows, shaded
 * intervals and point markers, with the indexes that let the view draw only the visible window
 * (binary searches on time) and step through events. Pure data: no DOM, testable in Node.
 *
 * @module
 */
import type { TraceEvent, TraceJson } from '../../../src/sim/trace.js';
import type { Evidence } from '../../../src/lab/types.js';

/** How a message ended. */
export type MessageFate = 'delivered' | 'dropped' | 'in-flight';

/** One arrow: a message from its send to its delivery (or drop). */
export interface MessageArrow {
  readonly msg: number | undefined;
  readonly fromLane: number;
  readonly toLane: number;
  readonly sendMs: number;
  /** Delivery or drop time; the end of the run for a message still in flight. */
  readonly endMs: number;
  readonly fate: MessageFate;
  /** True for the second and later deliveries of a duplicated message. */
  readonly duplicate: boolean;
  /** Why it was dropped (`partition`, `loss`, `crashed`...), for drops. */
  readonly reason?: string;
  /** Trace positions (in `events`) of the send and of the end, -1 when absent. */
  readonly sendAt: number;
  readonly endAt: number;
}

/** What a shaded interval shows. */
export type IntervalKind = 'paused' | 'crashed' | 'partition' | 'isolated' | 'cut' | 'loss';

/** A shaded stretch of time: on one lane, or across every lane (`lane` -1). */
export interface Interval {
  readonly kind: IntervalKind;
  readonly lane: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly label: string;
  /** Trace position of the event that started it. */
  readonly startAt: number;
}

/** A client operation: invoked, then completed (or still open at the end). */
export interface OperationBar {
  readonly lane: number;
  readonly startMs: number;
  readonly endMs: number;
  /** `ok`, `fail`, `info` (indeterminate) or `open` when it never completed. */
  readonly outcome: 'ok' | 'fail' | 'info' | 'open';
  readonly label: string;
  readonly startAt: number;
  readonly endAt: number;
}

/** The diagram of one run. */
export interface DiagramModel {
  readonly lanes: readonly string[];
  /** The trace's stored events, in trace order (which is time order). */
  readonly events: readonly TraceEvent[];
  /** `times[i]` is `events[i].timeMs`. */
  readonly times: Float64Array;
  /** Lane of each event, -1 for events of no node (faults, buggify points). */
  readonly eventLanes: Int32Array;
  /** Message arrows sorted by send time. */
  readonly messages: readonly MessageArrow[];
  /** `messageStarts[i]` is `messages[i].sendMs`. */
  readonly messageStarts: Float64Array;
  /** The longest message's duration, to find arrows crossing a window. */
  readonly longestMessageMs: number;
  /** For each event position, the message arrow it belongs to (-1 for none). */
  readonly messageOf: Int32Array;
  readonly intervals: readonly Interval[];
  readonly operations: readonly OperationBar[];
  readonly startMs: number;
  readonly endMs: number;
  /** Event count of the whole run (more than `events.length` when the trace was truncated). */
  readonly count: number;
  readonly truncated: boolean;
  readonly evidence?: DiagramEvidence;
}

/** Where the evidence sits in the diagram. */
export interface DiagramEvidence {
  readonly timeMs: number;
  readonly summary: string;
  readonly lane: number;
  /** Position in `events` of the evidence event (its `traceIndex`, else the nearest event). */
  readonly at: number;
  readonly operations: readonly string[];
}

/** Builds the model of a trace, ending at `endMs` (the run's virtual end time). */
export function buildDiagram(trace: TraceJson, endMs: number, evidence?: Evidence): DiagramModel {
  const events = trace.events;
  const lanes = laneNames(trace);
  const laneIndex = new Map(lanes.map((name, i) => [name, i]));
  const laneOfName = (name: string | undefined): number =>
    name === undefined ? -1 : (laneIndex.get(name) ?? -1);
  const times = new Float64Array(events.length);
  const eventLanes = new Int32Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as TraceEvent;
    times[i] = e.timeMs;
    eventLanes[i] = laneOfName(e.node);
  }
  const last = events.length > 0 ? (times[events.length - 1] as number) : 0;
  // A truncated trace says nothing past its last stored event: the diagram ends there.
  const end = trace.truncated ? last : Math.max(endMs, last, 0);
  const { messages, messageOf } = buildMessages(events, laneOfName, end);
  let longest = 0;
  for (const m of messages) longest = Math.max(longest, m.endMs - m.sendMs);
  const model: DiagramModel = {
    lanes,
    events,
    times,
    eventLanes,
    messages,
    messageStarts: Float64Array.from(messages, (m) => m.sendMs),
    longestMessageMs: longest,
    messageOf,
    intervals: buildIntervals(events, laneOfName, end),
    operations: buildOperations(events, laneOfName, end),
    startMs: 0,
    endMs: end,
    count: trace.count,
    truncated: trace.truncated,
  };
  if (evidence === undefined) return model;
  return { ...model, evidence: placeEvidence(model, evidence, laneOfName) };
}

/** The trace's nodes, then any node that appears only in events. */
function laneNames(trace: TraceJson): string[] {
  const out = [...new Set(trace.nodes)];
  const seen = new Set(out);
  for (const e of trace.events) {
    for (const name of [e.node, e.from, e.to]) {
      if (name !== undefined && !seen.has(name)) {
        seen.add(name);
        out.push(name);
      }
    }
  }
  return out;
}

type MutableArrow = { -readonly [K in keyof MessageArrow]: MessageArrow[K] };

function buildMessages(
  events: readonly TraceEvent[],
  laneOf: (name: string | undefined) => number,
  endMs: number,
): { messages: MessageArrow[]; messageOf: Int32Array } {
  const out: MutableArrow[] = [];
  const messageOf = new Int32Array(events.length).fill(-1);
  /** The first arrow of each message id, by id. */
  const byId = new Map<number, number>();
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as TraceEvent;
    if (e.kind === 'send' && e.msg !== undefined) {
      byId.set(e.msg, out.length);
      messageOf[i] = out.length;
      out.push(arrow(e, laneOf, i, endMs));
    } else if ((e.kind === 'deliver' || e.kind === 'drop') && e.msg !== undefined) {
      const first = byId.get(e.msg);
      if (first === undefined) {
        messageOf[i] = out.length;
        out.push(orphan(e, laneOf, i));
        continue;
      }
      const a = out[first] as MutableArrow;
      const fate: MessageFate = e.kind === 'deliver' ? 'delivered' : 'dropped';
      const reason = e.kind === 'drop' && typeof e.detail === 'string' ? e.detail : undefined;
      if (a.fate === 'in-flight') {
        a.fate = fate;
        a.endMs = e.timeMs;
        a.endAt = i;
        if (reason !== undefined) a.reason = reason;
        messageOf[i] = first;
      } else {
        // A duplicate's second delivery (or drop): an arrow of its own from the same send.
        messageOf[i] = out.length;
        out.push({
          ...a,
          fate,
          endMs: e.timeMs,
          endAt: i,
          duplicate: true,
          ...(reason === undefined ? {} : { reason }),
        });
      }
    } else if (e.kind === 'drop') {
      // Dropped before it was sent (an interceptor): a cross on the sender's lane.
      messageOf[i] = out.length;
      out.push(orphan(e, laneOf, i));
    }
  }
  out.sort((a, b) => a.sendMs - b.sendMs || a.sendAt - b.sendAt);
  // Sorting moved arrows: rebuild the event → arrow index.
  messageOf.fill(-1);
  out.forEach((a, k) => {
    if (a.sendAt >= 0 && messageOf[a.sendAt] === -1) messageOf[a.sendAt] = k;
    if (a.endAt >= 0) messageOf[a.endAt] = k;
  });
  return { messages: out, messageOf };
}

function arrow(
  e: TraceEvent,
  laneOf: (name: string | undefined) => number,
  at: number,
  endMs: number,
): MutableArrow {
  return {
    msg: e.msg,
    fromLane: laneOf(e.from ?? e.node),
    toLane: laneOf(e.to),
    sendMs: e.timeMs,
    endMs,
    fate: 'in-flight',
    duplicate: false,
    sendAt: at,
    endAt: -1,
  };
}

/** A delivery or drop whose send is not in the stored trace. */
function orphan(
  e: TraceEvent,
  laneOf: (name: string | undefined) => number,
  at: number,
): MutableArrow {
  const fate: MessageFate = e.kind === 'deliver' ? 'delivered' : 'dropped';
  return {
    msg: e.msg,
    fromLane: laneOf(e.from ?? e.node),
    toLane: laneOf(e.to ?? e.node),
    sendMs: e.timeMs,
    endMs: e.timeMs,
    fate,
    duplicate: false,
    ...(e.kind === 'drop' && typeof e.detail === 'string' ? { reason: e.detail } : {}),
    sendAt: -1,
    endAt: at,
  };
}

/** Pause → resume and crash → restart on each lane; network faults across lanes. */
function buildIntervals(
  events: readonly TraceEvent[],
  laneOf: (name: string | undefined) => number,
  endMs: number,
): Interval[] {
  const out: Interval[] = [];
  const open = new Map<string, { startMs: number; at: number; label: string }>();
  const openKey = (kind: 'paused' | 'crashed', lane: number): string => `${kind}:${lane}`;
  const close = (kind: 'paused' | 'crashed', lane: number, atMs: number): void => {
    const key = openKey(kind, lane);
    const start = open.get(key);
    if (start === undefined) return;
    open.delete(key);
    out.push({
      kind,
      lane,
      startMs: start.startMs,
      endMs: atMs,
      label: start.label,
      startAt: start.at,
    });
  };
  const network: { interval: Interval; fault: string }[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as TraceEvent;
    const lane = laneOf(e.node);
    switch (e.kind) {
      case 'pause':
        if (!open.has(openKey('paused', lane)))
          open.set(openKey('paused', lane), { startMs: e.timeMs, at: i, label: pauseLabel(e) });
        break;
      case 'resume':
        close('paused', lane, e.timeMs);
        break;
      case 'crash':
        close('paused', lane, e.timeMs);
        if (!open.has(openKey('crashed', lane)))
          open.set(openKey('crashed', lane), { startMs: e.timeMs, at: i, label: 'crashed' });
        break;
      case 'restart':
        close('crashed', lane, e.timeMs);
        break;
      case 'fault':
        network.push(...networkIntervals(e, i, laneOf, endMs));
        if (isFault(e.detail, 'heal')) healAt(network, e.timeMs);
        break;
      default:
        break;
    }
  }
  for (const [key, start] of open) {
    const [kind, lane] = key.split(':') as ['paused' | 'crashed', string];
    out.push({
      kind,
      lane: Number(lane),
      startMs: start.startMs,
      endMs,
      label: start.label,
      startAt: start.at,
    });
  }
  out.push(...network.map((n) => n.interval));
  return out.sort((a, b) => a.startMs - b.startMs);
}

function pauseLabel(e: TraceEvent): string {
  return typeof e.detail === 'number' ? `paused ${formatMs(e.detail)}` : 'paused';
}

/** A fault event's detail, when it is a fault of `kind`. */
function isFault(detail: unknown, kind: string): detail is Record<string, unknown> {
  return (
    typeof detail === 'object' && detail !== null && (detail as { kind?: unknown }).kind === kind
  );
}

/** Ends every network interval still open at `atMs` (a `heal` fault). */
function healAt(network: { interval: Interval; fault: string }[], atMs: number): void {
  for (const n of network) {
    if (n.fault !== 'loss' && n.interval.startMs <= atMs && n.interval.endMs > atMs)
      n.interval = { ...n.interval, endMs: atMs };
  }
}

function networkIntervals(
  e: TraceEvent,
  at: number,
  laneOf: (name: string | undefined) => number,
  endMs: number,
): { interval: Interval; fault: string }[] {
  const d = e.detail;
  if (typeof d !== 'object' || d === null) return [];
  const f = d as Record<string, unknown>;
  const duration = typeof f['durationMs'] === 'number' ? f['durationMs'] : undefined;
  const end = duration === undefined ? endMs : Math.min(endMs, e.timeMs + duration);
  const make = (kind: IntervalKind, lane: number, label: string) => ({
    fault: String(f['kind']),
    interval: { kind, lane, startMs: e.timeMs, endMs: end, label, startAt: at },
  });
  switch (f['kind']) {
    case 'partition': {
      const groups = Array.isArray(f['groups']) ? (f['groups'] as unknown[]) : [];
      const text = groups.map((g) => (Array.isArray(g) ? g.join(', ') : String(g))).join(' | ');
      return [make('partition', -1, `partition ${text}`)];
    }
    case 'isolate':
      return [make('isolated', laneOf(String(f['node'])), 'isolated')];
    case 'cut': {
      const arrowText = f['oneWay'] === true ? '→' : '↔';
      const label = `cut ${String(f['from'])} ${arrowText} ${String(f['to'])}`;
      return [
        make('cut', laneOf(String(f['from'])), label),
        make('cut', laneOf(String(f['to'])), label),
      ];
    }
    case 'loss': {
      const p = typeof f['probability'] === 'number' ? f['probability'] : 0;
      return [make('loss', -1, `message loss ${Math.round(p * 100)}%`)];
    }
    default:
      return [];
  }
}

/** Invocations paired with the next completion on the same lane (a process runs one at a time). */
function buildOperations(
  events: readonly TraceEvent[],
  laneOf: (name: string | undefined) => number,
  endMs: number,
): OperationBar[] {
  const out: OperationBar[] = [];
  const open = new Map<number, { startMs: number; at: number; f: string; value: unknown }>();
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as TraceEvent;
    if (e.kind !== 'op' || typeof e.detail !== 'object' || e.detail === null) continue;
    const d = e.detail as { type?: unknown; f?: unknown; value?: unknown };
    const lane = laneOf(e.node);
    const f = String(d.f ?? 'op');
    if (d.type === 'invoke') {
      open.set(lane, { startMs: e.timeMs, at: i, f, value: d.value });
      continue;
    }
    const start = open.get(lane);
    if (start === undefined) continue;
    open.delete(lane);
    const outcome = d.type === 'ok' || d.type === 'fail' ? d.type : 'info';
    out.push({
      lane,
      startMs: start.startMs,
      endMs: e.timeMs,
      outcome,
      label: operationLabel(f, start.value, d.value, outcome),
      startAt: start.at,
      endAt: i,
    });
  }
  for (const [lane, start] of open) {
    out.push({
      lane,
      startMs: start.startMs,
      endMs,
      outcome: 'open',
      label: operationLabel(start.f, start.value, undefined, 'open'),
      startAt: start.at,
      endAt: -1,
    });
  }
  return out.sort((a, b) => a.startMs - b.startMs);
}

function operationLabel(f: string, input: unknown, output: unknown, outcome: string): string {
  const shown = (v: unknown): string => (v === null || v === undefined ? '' : ` ${short(v)}`);
  const base = `${f}${shown(input)}`;
  if (outcome === 'ok' && output !== null && output !== undefined && input !== output)
    return `${base} → ${short(output)}`;
  if (outcome === 'fail') return `${base} failed`;
  if (outcome === 'info') return `${base} ?`;
  return base;
}

/** A short, single-line text of a JSON-like value. */
export function short(value: unknown, max = 24): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function placeEvidence(
  model: DiagramModel,
  evidence: Evidence,
  laneOf: (name: string | undefined) => number,
): DiagramEvidence {
  let at = -1;
  if (evidence.traceIndex !== undefined) at = positionOfIndex(model.events, evidence.traceIndex);
  const lane = laneOf(evidence.node ?? model.events[at]?.node);
  if (at < 0) at = nearestEvent(model, evidence.timeMs, lane);
  return {
    timeMs: evidence.timeMs,
    summary: evidence.summary,
    lane,
    at,
    operations: evidence.operations ?? [],
  };
}

/** The position in `events` of the event with trace index `index`, or -1. */
export function positionOfIndex(events: readonly TraceEvent[], index: number): number {
  let lo = 0;
  let hi = events.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = (events[mid] as TraceEvent).index;
    if (v === index) return mid;
    if (v < index) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** The first position whose time is >= `timeMs` (`times.length` when none). */
export function lowerBound(times: Float64Array, timeMs: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((times[mid] as number) < timeMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The event nearest to `timeMs`, preferring events on `lane`; -1 for an empty trace. */
export function nearestEvent(model: DiagramModel, timeMs: number, lane = -1): number {
  const n = model.times.length;
  if (n === 0) return -1;
  const i = lowerBound(model.times, timeMs);
  let best = -1;
  let bestDistance = Number.POSITIVE_INFINITY;
  // Look a bounded distance either side for an event on the lane before settling for any event.
  for (let k = Math.max(0, i - 64); k < Math.min(n, i + 64); k++) {
    const onLane = lane < 0 || model.eventLanes[k] === lane;
    const d = Math.abs((model.times[k] as number) - timeMs) + (onLane ? 0 : 1e9);
    if (d < bestDistance) {
      bestDistance = d;
      best = k;
    }
  }
  return best;
}

/** Milliseconds as short text: `0.25 ms`, `12.3 ms`, `1.50 s`. */
export function formatMs(ms: number): string {
  const a = Math.abs(ms);
  if (a >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (a >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (a >= 100) return `${ms.toFixed(0)} ms`;
  if (a >= 10) return `${ms.toFixed(1)} ms`;
  if (a >= 1) return `${ms.toFixed(2)} ms`;
  if (a === 0) return '0 ms';
  return `${ms.toPrecision(2)} ms`;
}

/**
 * A first view that shows about `events` events around `centreMs` (or from the start), so a
 * long run does not open as a solid block of arrows; the whole run when it is short.
 */
export function initialWindow(
  model: DiagramModel,
  centreMs?: number,
  events = 160,
): [number, number] {
  const n = model.times.length;
  const end = model.endMs > model.startMs ? model.endMs : model.startMs + 1;
  if (n <= events * 1.5) {
    // A short trace: all of it, but not the idle stretch after its last event.
    const last = n > 0 ? (model.times[n - 1] as number) : end;
    const pad = Math.max((last - model.startMs) * 0.08, 1);
    return [model.startMs, Math.min(end, last + pad)];
  }
  const at = centreMs === undefined ? 0 : Math.min(n - 1, lowerBound(model.times, centreMs));
  const from = Math.max(0, at - (centreMs === undefined ? 0 : events / 2));
  const to = Math.min(n - 1, from + events);
  let t0 = model.times[from] as number;
  let t1 = model.times[to] as number;
  if (centreMs !== undefined) {
    const half = Math.max(centreMs - t0, t1 - centreMs);
    t0 = centreMs - half;
    t1 = centreMs + half;
  }
  const pad = Math.max((t1 - t0) * 0.06, 1e-3);
  return [Math.max(model.startMs, t0 - pad), Math.min(end, t1 + pad)];
}

/** Arrows that intersect [v0, v1]: sends from v0 - longest message to v1. */
export function visibleMessageRange(model: DiagramModel, v0: number, v1: number): [number, number] {
  const from = lowerBound(model.messageStarts, v0 - model.longestMessageMs);
  const to = lowerBound(model.messageStarts, v1 + Number.EPSILON);
  return [from, to];
}

/** A round step (1, 2 or 5 times a power of ten) at least `raw`. */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

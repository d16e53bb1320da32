/**
 * Causality: nodes with skewed clocks exchange messages. Stamped with wall-clock time, a message
 * can be received "before" it was sent; Lamport and vector clocks carried on the messages never
 * misorder a happened-before pair, and vector clocks also tell concurrent events apart.
 *
 * @module
 */
import { LamportClock, compareLamport } from '../../clocks/lamport.js';
import type { LamportTimestamp } from '../../clocks/lamport.js';
import { VectorClock } from '../../clocks/vector.js';
import type { Envelope, Node } from '../../sim/node.js';
import type { Evidence, LabContext, Scenario, VariantOutcome } from '../types.js';

const NODES = ['n1', 'n2', 'n3', 'n4'] as const;
/** Nodes act (a local event or a send) until this virtual time; the rest delivers what is in flight. */
const ACT_UNTIL_MS = 300;
const END_MS = 400;
const EPOCH_MS = 1_700_000_000_000;

type EventKind = 'local' | 'send' | 'receive';

/** How a design stamps the events of one node. */
interface Stamper {
  local(): Stamp;
  send(): Stamp;
  receive(carried: Stamp): Stamp;
}

/** A timestamp of either design; `wallMs` is set by the naive one, the others by the fix. */
interface Stamp {
  readonly wallMs?: number;
  readonly lamport?: LamportTimestamp;
  readonly vector?: VectorClock;
}

/** One event as the checker saw it (the simulator's program order and message edges). */
interface EventRecord {
  readonly id: number;
  readonly node: string;
  readonly kind: EventKind;
  readonly stamp: Stamp;
  /** The previous event on the same node, or -1. */
  readonly previous: number;
  /** For a receive: the send event it delivers, or -1. */
  readonly cause: number;
  readonly noteIndex: number;
  readonly timeMs: number;
  readonly text: string;
}

/** The payload: the design's stamp, and the send event's id (the lab's instrumentation only). */
interface Message {
  readonly stamp: Stamp;
  readonly sendEvent: number;
}

/** The naive design: every event is stamped with the node's wall clock. */
function wallStamper(node: Node): Stamper {
  const stamp = (): Stamp => ({ wallMs: node.runtime.clock.wallMs() });
  return { local: stamp, send: stamp, receive: stamp };
}

/** faultline's fix: a LamportClock and a VectorClock per node, carried on every message. */
function logicalStamper(node: Node): Stamper {
  const lamport = new LamportClock({ nodeId: node.name });
  let vector = VectorClock.empty();
  return {
    local() {
      vector = vector.increment(node.name);
      return { lamport: lamport.tick(), vector };
    },
    send() {
      vector = vector.increment(node.name);
      return { lamport: lamport.send(), vector };
    },
    receive(carried) {
      const remote = carried.lamport;
      vector = vector.merge(carried.vector ?? VectorClock.empty()).increment(node.name);
      return { lamport: remote === undefined ? lamport.tick() : lamport.receive(remote), vector };
    },
  };
}

function stampText(stamp: Stamp): string {
  if (stamp.wallMs !== undefined) return `wall ${(stamp.wallMs - EPOCH_MS).toFixed(2)} ms`;
  return `L=${stamp.lamport?.time ?? 0} V=${stamp.vector?.toString() ?? '{}'}`;
}

/** Runs the workload: each node, every 5–24 ms, does a local event or sends to a random peer. */
function runWorkload(context: LabContext, design: 'wall' | 'logical'): EventRecord[] {
  const skewMs = context.knobs['skewMs'] ?? 20;
  const sim = context.simulation({
    network: { latency: { kind: 'uniform', minMs: 1, maxMs: 10 } },
  });
  const offsets = sim.random.fork('clock-offsets');
  const events: EventRecord[] = [];
  const last = new Map<string, number>();
  const record = (node: Node, kind: EventKind, stamp: Stamp, cause: number, what: string) => {
    const id = events.length;
    const text = `${what} [${stampText(stamp)}]`;
    const noteIndex = context.note(node.name, `e${id} ${text}`);
    events.push({
      id,
      node: node.name,
      kind,
      stamp,
      previous: last.get(node.name) ?? -1,
      cause,
      noteIndex,
      timeMs: sim.nowMs,
      text: `e${id} ${node.name} ${text}`,
    });
    last.set(node.name, id);
    return id;
  };
  for (const name of NODES) {
    // Each clock is off by up to ±skewMs: what NTP leaves between machines on a bad day.
    const node = sim.node(name, { offsetMs: (offsets.next() * 2 - 1) * skewMs });
    const stamper = design === 'wall' ? wallStamper(node) : logicalStamper(node);
    node.onMessage((m: Envelope<Message>) => {
      const stamp = stamper.receive(m.payload.stamp);
      record(node, 'receive', stamp, m.payload.sendEvent, `receive from ${m.from}`);
    });
    const act = (): void => {
      if (sim.nowMs >= ACT_UNTIL_MS) return;
      const random = node.runtime.random;
      if (random.next() < 0.3) {
        record(node, 'local', stamper.local(), -1, 'local event');
      } else {
        const peers = NODES.filter((n) => n !== name);
        const to = peers[random.int(peers.length)] as string;
        const stamp = stamper.send();
        const sendEvent = record(node, 'send', stamp, -1, `send to ${to}`);
        node.send(to, { stamp, sendEvent } satisfies Message);
      }
      node.runtime.timers.setTimer(5 + random.int(20), act);
    };
    node.runtime.timers.setTimer(1 + node.runtime.random.int(10), act);
  }
  sim.runSync({ untilMs: END_MS });
  return events;
}

/**
 * The happened-before relation, computed by the checker from the simulated run alone (program
 * order on each node plus send → receive), as one ancestor bitset per event.
 */
function happenedBefore(events: readonly EventRecord[]): Uint8Array[] {
  const n = events.length;
  const anc: Uint8Array[] = [];
  for (const e of events) {
    const set = new Uint8Array(n);
    for (const p of [e.previous, e.cause]) {
      if (p < 0) continue;
      set[p] = 1;
      const parent = anc[p] as Uint8Array;
      for (let i = 0; i < p; i++) if (parent[i] === 1) set[i] = 1;
    }
    anc.push(set);
  }
  return anc;
}

/** Does the design's timestamp order put `a` strictly before `b`? */
function orderedBefore(a: Stamp, b: Stamp): boolean {
  if (a.wallMs !== undefined && b.wallMs !== undefined) return a.wallMs < b.wallMs;
  const lamportOk =
    a.lamport !== undefined && b.lamport !== undefined && compareLamport(a.lamport, b.lamport) < 0;
  const vectorOk =
    a.vector !== undefined && b.vector !== undefined && a.vector.compare(b.vector) === 'before';
  return lamportOk && vectorOk;
}

/** Does the design's timestamp say that `a` and `b` are concurrent? */
function detectedConcurrent(a: Stamp, b: Stamp): boolean {
  if (a.wallMs !== undefined && b.wallMs !== undefined) return a.wallMs === b.wallMs;
  return (
    a.vector !== undefined && b.vector !== undefined && a.vector.compare(b.vector) === 'concurrent'
  );
}

async function run(context: LabContext, design: 'wall' | 'logical'): Promise<VariantOutcome> {
  const events = runWorkload(context, design);
  const anc = happenedBefore(events);
  let hbPairs = 0;
  let misordered = 0;
  let concurrentPairs = 0;
  let detected = 0;
  let first: { cause: EventRecord; effect: EventRecord; kind: 'misordered' | 'missed' } | undefined;
  for (const f of events) {
    const before = anc[f.id] as Uint8Array;
    for (let i = 0; i < f.id; i++) {
      const e = events[i] as EventRecord;
      if (before[i] === 1) {
        hbPairs++;
        if (orderedBefore(e.stamp, f.stamp)) continue;
        misordered++;
        first ??= { cause: e, effect: f, kind: 'misordered' };
      } else {
        concurrentPairs++;
        if (detectedConcurrent(e.stamp, f.stamp)) detected++;
        else if (design === 'logical') {
          // The fix promises to detect concurrency; the naive design does not claim to.
          first ??= { cause: e, effect: f, kind: 'missed' };
        }
      }
    }
  }
  return {
    violated: first !== undefined,
    ...(first === undefined ? {} : { evidence: evidenceOf(first) }),
    figures: {
      misorderedPairs: misordered,
      concurrentDetected: detected,
      happenedBeforePairs: hbPairs,
      concurrentPairs,
    },
  };
}

function evidenceOf(pair: {
  cause: EventRecord;
  effect: EventRecord;
  kind: 'misordered' | 'missed';
}): Evidence {
  const { cause, effect } = pair;
  const summary =
    pair.kind === 'misordered'
      ? `e${cause.id} on ${cause.node} happened before e${effect.id} on ${effect.node}, but its timestamp does not order it first: the effect looks older than its cause.`
      : `e${cause.id} and e${effect.id} are concurrent, but their vector clocks order them.`;
  return {
    timeMs: effect.timeMs,
    summary,
    node: effect.node,
    traceIndex: effect.noteIndex,
    operations: [cause.text, effect.text],
  };
}

/** The causality scenario. */
export const causality: Scenario = {
  name: 'causality',
  title: 'Causality and clocks',
  problem:
    'Ordering events by the wall-clock timestamps of machines whose clocks disagree puts effects ' +
    'before their causes: a message received on a node whose clock is behind is stamped earlier ' +
    'than its send. Such timestamps also order concurrent events as if one caused the other.',
  reference:
    'Lamport, Time, Clocks, and the Ordering of Events in a Distributed System (CACM 1978); ' +
    'Fidge (1988) and Mattern (1989) on vector time',
  property:
    'For every happened-before pair (program order plus send → receive, computed by the checker ' +
    'from the simulated run) the timestamps order the cause first; with vector clocks, every pair ' +
    'of concurrent events is also detected as concurrent.',
  api: [
    "import { LamportClock, VectorClock, compareLamport } from 'faultline';",
    "const lamport = new LamportClock({ nodeId: 'n1' });",
    "let vector = VectorClock.empty().increment('n1');",
    'send({ body, lamport: lamport.send(), vector });                 // on send',
    "lamport.receive(m.lamport); vector = vector.merge(m.vector).increment('n1'); // on receive",
    "a.vector.compare(b.vector); // 'before' | 'after' | 'equal' | 'concurrent'",
  ].join('\n'),
  figures: [
    {
      name: 'misorderedPairs',
      label: 'happened-before pairs misordered',
      unit: 'pairs',
      better: 'lower',
      key: true,
    },
    {
      name: 'concurrentDetected',
      label: 'concurrent pairs detected',
      unit: 'pairs',
      better: 'higher',
      key: true,
    },
    { name: 'happenedBeforePairs', label: 'happened-before pairs', unit: 'pairs', better: 'none' },
    { name: 'concurrentPairs', label: 'concurrent pairs', unit: 'pairs', better: 'none' },
  ],
  knobs: [
    {
      name: 'skewMs',
      label: 'clock offset, up to ±',
      min: 0,
      max: 200,
      step: 5,
      default: 20,
      unit: 'ms',
    },
  ],
  variants: {
    unsafe: {
      summary:
        'Every event is stamped with its node’s wall clock, and events are ordered by stamp.',
      run: (context) => run(context, 'wall'),
    },
    safe: {
      summary:
        'Every event is stamped with a LamportClock and a VectorClock; messages carry both and receives merge them.',
      run: (context) => run(context, 'logical'),
    },
  },
};

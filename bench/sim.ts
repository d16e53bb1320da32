/**
 * Simulated events per second of the deterministic simulator: `npm run --silent bench -- sim [--json]`.
 *
 * Cases: `ping-pong` (two nodes bouncing 16 messages), `broadcast-5` (five nodes, each
 * broadcasting to the four others on a 1 ms timer) and `kernel` (the bare scheduler posting and
 * running events). Impls: `faultline` with tracing off, `faultline/traced` with the trace recorded
 * and hashed, and for `kernel` a plain binary heap of event objects as a baseline. Rounds run
 * interleaved; rows report medians.
 */
import { performance } from 'node:perf_hooks';
import { Scheduler, Simulation } from '../src/sim/index.js';
import type { BenchRow, BenchSuite } from './types.js';
import { interleaved } from './util.js';

const ROUNDS = 7;

function measure(run: () => number): number {
  const start = performance.now();
  const events = run();
  return (events / (performance.now() - start)) * 1000;
}

function pingPong(traced: boolean, horizonMs: number): number {
  const sim = new Simulation({
    seed: 1,
    trace: traced ? { record: true, hash: true, maxEvents: 2_000_000 } : false,
    network: { latency: { kind: 'uniform', minMs: 1, maxMs: 3 } },
  });
  const a = sim.node('a');
  const b = sim.node('b');
  a.onMessage((m) => a.send('b', m.payload));
  b.onMessage((m) => b.send('a', m.payload));
  for (let i = 0; i < 16; i++) a.send('b', i);
  return sim.runSync({ untilMs: horizonMs });
}

function broadcast(traced: boolean, horizonMs: number): number {
  const sim = new Simulation({
    seed: 1,
    trace: traced ? { record: true, hash: true, maxEvents: 2_000_000 } : false,
    network: { latency: { kind: 'exponential', minMs: 0.5, meanMs: 1 } },
  });
  const names = ['n1', 'n2', 'n3', 'n4', 'n5'];
  for (const name of names) {
    const node = sim.node(name);
    let received = 0;
    node.onMessage(() => void received++);
    const peers = names.filter((n) => n !== name);
    const tick = (): void => {
      for (const peer of peers) node.send(peer, received);
      node.runtime.timers.setTimer(1, tick);
    };
    tick();
  }
  return sim.runSync({ untilMs: horizonMs });
}

function kernel(events: number): number {
  const s = new Scheduler({ seed: 1 });
  let n = 0;
  const fn = (k: number): void => {
    if (++n < events) s.post(s.nowMs + (k & 7), fn, k + 1);
  };
  for (let i = 0; i < 64; i++) s.post(i, fn, i);
  return s.runUntilIdle();
}

/** The baseline: a textbook binary heap of `{ time, seq, fn, arg }` objects. */
function plainHeap(events: number): number {
  type E = { time: number; seq: number; fn: (k: number) => void; arg: number };
  const heap: E[] = [];
  let seq = 0;
  let now = 0;
  const less = (x: E, y: E) => x.time < y.time || (x.time === y.time && x.seq < y.seq);
  const push = (e: E): void => {
    let i = heap.length;
    heap.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(e, heap[p]!)) break;
      heap[i] = heap[p]!;
      i = p;
    }
    heap[i] = e;
  };
  const pop = (): E | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= heap.length) break;
      if (c + 1 < heap.length && less(heap[c + 1]!, heap[c]!)) c++;
      if (!less(heap[c]!, last)) break;
      heap[i] = heap[c]!;
      i = c;
    }
    heap[i] = last;
    return top;
  };
  let n = 0;
  const fn = (k: number): void => {
    if (++n < events) push({ time: now + (k & 7), seq: seq++, fn, arg: k + 1 });
  };
  for (let i = 0; i < 64; i++) push({ time: i, seq: seq++, fn, arg: i });
  let ran = 0;
  for (let e = pop(); e !== undefined; e = pop()) {
    now = e.time;
    e.fn(e.arg);
    ran++;
  }
  return ran;
}

const suite: BenchSuite = {
  name: 'sim',
  description:
    'Simulated events per second (higher is better); tracing off unless the impl says traced.',
  async run({ log }): Promise<BenchRow[]> {
    const rows: BenchRow[] = [];
    const row = (c: string, impl: string, value: number): void =>
      void rows.push({
        case: c,
        impl,
        metric: 'events',
        value: Math.round(value),
        unit: 'events/s',
      });

    log('ping-pong');
    const pp = await interleaved(ROUNDS, {
      faultline: async () => measure(() => pingPong(false, 60_000)),
      traced: async () => measure(() => pingPong(true, 60_000)),
    });
    row('ping-pong', 'faultline', pp.faultline);
    row('ping-pong', 'faultline/traced', pp.traced);

    log('broadcast-5');
    const bc = await interleaved(ROUNDS, {
      faultline: async () => measure(() => broadcast(false, 2_000)),
      traced: async () => measure(() => broadcast(true, 2_000)),
    });
    row('broadcast-5', 'faultline', bc.faultline);
    row('broadcast-5', 'faultline/traced', bc.traced);

    log('kernel');
    const k = await interleaved(ROUNDS, {
      faultline: async () => measure(() => kernel(1_000_000)),
      plain: async () => measure(() => plainHeap(1_000_000)),
    });
    row('kernel', 'faultline', k.faultline);
    row('kernel', 'plain-binary-heap', k.plain);
    return rows;
  },
};

export default suite;

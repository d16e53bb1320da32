/**
 * Stale read: reading from an asynchronously replicated follower returns values older than a
 * write that had already completed.
 *
 * @module
 */
import { register } from '../../check/models.js';
import type { Envelope, Node } from '../../sim/node.js';
import type { Simulation } from '../../sim/simulation.js';
import { historyVerdict, percentile } from '../checks.js';
import type { LabContext, Scenario, VariantOutcome } from '../types.js';

type Message =
  | { readonly type: 'write'; readonly id: number; readonly value: number }
  | { readonly type: 'read'; readonly id: number }
  | { readonly type: 'reply'; readonly id: number; readonly value: number }
  | { readonly type: 'replicate'; readonly index: number; readonly value: number }
  | { readonly type: 'read-index'; readonly id: number }
  | { readonly type: 'index'; readonly id: number; readonly index: number };

const DURATION_MS = 1000;
const TIMEOUT_MS = 400;
const READERS = 2;

/** The primary: applies writes in order, numbers them, replicates each one to the follower. */
function primary(node: Node): void {
  let index = 0;
  let value = 0;
  node.transport.onMessage((m: Envelope) => {
    const msg = m.payload as Message;
    if (msg.type === 'write') {
      index++;
      value = msg.value;
      node.transport.send('follower', { type: 'replicate', index, value });
      node.transport.send(m.from, { type: 'reply', id: msg.id, value });
    } else if (msg.type === 'read') {
      node.transport.send(m.from, { type: 'reply', id: msg.id, value });
    } else if (msg.type === 'read-index') {
      node.transport.send(m.from, { type: 'index', id: msg.id, index });
    }
  });
}

/**
 * The follower: applies replicated writes in index order. With `readIndex`, a read first asks the
 * primary for its latest index and answers once the follower has applied up to it.
 */
function follower(node: Node, readIndex: boolean): void {
  const pending = new Map<number, number>();
  let applied = 0;
  let value = 0;
  let nextAsk = 1;
  const asks = new Map<number, { from: string; id: number }>();
  const waiting: { index: number; from: string; id: number }[] = [];
  const answerReady = (): void => {
    for (let i = waiting.length - 1; i >= 0; i--) {
      const w = waiting[i];
      if (w !== undefined && w.index <= applied) {
        node.transport.send(w.from, { type: 'reply', id: w.id, value });
        waiting.splice(i, 1);
      }
    }
  };
  node.transport.onMessage((m: Envelope) => {
    const msg = m.payload as Message;
    if (msg.type === 'replicate') {
      pending.set(msg.index, msg.value);
      for (
        let next = pending.get(applied + 1);
        next !== undefined;
        next = pending.get(applied + 1)
      ) {
        pending.delete(applied + 1);
        applied++;
        value = next;
      }
      answerReady();
    } else if (msg.type === 'read' && !readIndex) {
      node.transport.send(m.from, { type: 'reply', id: msg.id, value });
    } else if (msg.type === 'read') {
      const ask = nextAsk++;
      asks.set(ask, { from: m.from, id: msg.id });
      node.transport.send('primary', { type: 'read-index', id: ask });
    } else if (msg.type === 'index') {
      const who = asks.get(msg.id);
      if (who === undefined) return;
      asks.delete(msg.id);
      waiting.push({ index: msg.index, ...who });
      answerReady();
    }
  });
}

/** A client doing one request at a time against `server`, recording the history. */
function client(
  sim: Simulation,
  node: Node,
  server: string,
  op: 'read' | 'write',
  latencies: number[],
): void {
  const { clock, timers, random } = node.runtime;
  let nextId = 1;
  const replies = new Map<number, (value: number) => void>();
  node.transport.onMessage((m: Envelope) => {
    const msg = m.payload as Message;
    if (msg.type === 'reply') replies.get(msg.id)?.(msg.value);
  });
  const request = (id: number, payload: Message): Promise<number | undefined> =>
    new Promise((resolve) => {
      const cancel = timers.setTimer(TIMEOUT_MS, () => {
        replies.delete(id);
        resolve(undefined);
      });
      replies.set(id, (value) => {
        cancel();
        replies.delete(id);
        resolve(value);
      });
      node.transport.send(server, payload);
    });
  const loop = async (): Promise<void> => {
    let written = 0;
    while (clock.monotonicMs() < DURATION_MS) {
      const id = nextId++;
      const startedMs = clock.monotonicMs();
      if (op === 'write') {
        const value = ++written;
        const pending = sim.history.invoke(node.name, 'write', value);
        const reply = await request(id, { type: 'write', id, value });
        sim.history.complete(pending, reply === undefined ? 'info' : 'ok', value);
      } else {
        const pending = sim.history.invoke(node.name, 'read', null);
        const reply = await request(id, { type: 'read', id });
        if (reply === undefined) sim.history.complete(pending, 'info', null);
        else {
          sim.history.complete(pending, 'ok', reply);
          latencies.push(clock.monotonicMs() - startedMs);
        }
      }
      await timers.sleep(5 + random.int(25));
    }
  };
  void loop();
}

/** Reads that returned an older value than a write acknowledged before the read began. */
function staleReads(sim: Simulation): number {
  const ops = sim.history.ops;
  let stale = 0;
  let latestAcked = 0;
  const startedAt = new Map<string, number>();
  for (const e of ops) {
    if (e.type === 'invoke' && e.f === 'read') startedAt.set(e.process, latestAcked);
    if (e.type === 'ok' && e.f === 'write') latestAcked = Math.max(latestAcked, e.value as number);
    if (e.type === 'ok' && e.f === 'read' && (e.value as number) < (startedAt.get(e.process) ?? 0))
      stale++;
  }
  return stale;
}

async function run(context: LabContext, readIndex: boolean): Promise<VariantOutcome> {
  const lagMs = context.knobs['replicationLagMs'] ?? 40;
  const sim = context.simulation({ network: { latency: { kind: 'uniform', minMs: 1, maxMs: 5 } } });
  const p = sim.node('primary');
  const f = sim.node('follower');
  sim.network.setLink(p, f, {
    latency: { kind: 'uniform', minMs: Math.max(1, lagMs / 2), maxMs: Math.max(1, lagMs * 1.5) },
  });
  p.start((node) => primary(node));
  f.start((node) => follower(node, readIndex));
  const latencies: number[] = [];
  const w = sim.node('writer');
  w.start((node) => client(sim, node, 'primary', 'write', latencies));
  for (let i = 1; i <= READERS; i++)
    sim.node(`reader${i}`).start((node) => client(sim, node, 'follower', 'read', latencies));
  await sim.run({ untilMs: DURATION_MS + 2 * TIMEOUT_MS });
  const linearizable = historyVerdict(sim.history, register({ initial: 0 }));
  const sequential = historyVerdict(sim.history, register({ initial: 0 }), 'sequential');
  const evidence = linearizable.evidence;
  return {
    violated: linearizable.violated,
    ...(evidence === undefined ? {} : { evidence }),
    figures: {
      staleReads: staleReads(sim),
      sequentiallyConsistent: sequential.violated ? 0 : 1,
      readP50Ms: Math.round(percentile(latencies, 50) * 100) / 100,
    },
  };
}

/** The stale-read scenario. */
export const staleRead: Scenario = {
  name: 'stale-read',
  title: 'Stale read from a follower',
  problem:
    'A follower that is replicated asynchronously answers reads from its own copy, which lags the ' +
    'primary. A client can then read a value older than a write that completed before its read began.',
  reference:
    'Herlihy & Wing, Linearizability (TOPLAS 1990); Lamport, How to Make a Multiprocessor Computer ' +
    'That Correctly Executes Multiprocess Programs (1979); Ongaro, Consensus: Bridging Theory and ' +
    'Practice, §6.4 (ReadIndex)',
  property:
    'The history of one writer and two readers is linearizable for a register (faultline/check). ' +
    'The figures also report whether it is sequentially consistent, the weaker guarantee follower reads do give.',
  standIn:
    'The primary and follower are a toy register replicated in order; the read barrier is the ' +
    'ReadIndex idea that faultline’s Raft will provide.',
  api: [
    "import { check, register } from 'faultline/check';",
    'check(history, register()).kind; // "illegal" for follower reads',
    "check(history, register(), { criterion: 'sequential' }).kind; // 'legal'",
  ].join('\n'),
  figures: [
    { name: 'staleReads', label: 'stale reads', unit: 'reads', better: 'lower', key: true },
    {
      name: 'sequentiallyConsistent',
      label: 'sequentially consistent',
      unit: '1 = yes',
      better: 'none',
    },
    { name: 'readP50Ms', label: 'read p50', unit: 'ms', better: 'lower', key: true },
  ],
  knobs: [
    {
      name: 'replicationLagMs',
      label: 'replication lag',
      min: 1,
      max: 200,
      step: 1,
      default: 40,
      unit: 'ms',
    },
  ],
  variants: {
    unsafe: {
      summary: 'Readers read the follower’s copy as it is.',
      run: (context) => run(context, false),
    },
    safe: {
      summary:
        'Each follower read first asks the primary for its latest write index and answers once it has applied that far.',
      run: (context) => run(context, true),
    },
  },
};

/**
 * Runs gossip members on the simulator and checks them from outside: one update spreads first
 * (rounds and messages until every member has it), then concurrent updates of the same keys, and
 * at the end every member must hold the newest version of every key.
 *
 * @module
 */
import { Simulation } from '../../sim/simulation.js';
import { GossipNode, newer } from './gossip.js';
import type { GossipEntry, GossipFlaw, GossipMessage, GossipMode } from './gossip.js';

/** Options of one gossip run. */
export interface GossipRunOptions {
  readonly seed: number;
  readonly nodes: number;
  readonly mode: GossipMode;
  /** Probability that a message is lost (default 0.1). */
  readonly lossProbability?: number;
  readonly flaw?: GossipFlaw;
  /** Length of a round, ms (default 100; latency is 1–10 ms). */
  readonly roundMs?: number;
  /** Rounds the run lasts (default `4 · ⌈log2 N⌉ + 20`). */
  readonly rounds?: number;
  /** A member cut off from everyone from the start until this time, ms (default none). */
  readonly isolate?: { readonly node: string; readonly untilMs: number };
  /** Concurrent updates after the first spread (default 6). */
  readonly extraUpdates?: number;
  /** Called with each member when it first holds the spread update (for the lab's trace). */
  readonly onInformed?: (node: string, timeMs: number) => void;
  /** Passed the simulation before it runs (the lab records its trace). */
  readonly simulation?: Simulation;
}

/** What a run measured. */
export interface GossipRunResult {
  /** Rounds until every member held the first update (`rounds` of the run when some never did). */
  readonly rounds: number;
  /** Members holding the first update when the spread phase ended. */
  readonly informed: number;
  /** Messages sent until every member held the first update, per member. */
  readonly messagesPerNode: number;
  /** Messages sent in the whole run. */
  readonly messages: number;
  /** Members that at the end do not hold the newest version of some key. */
  readonly diverged: number;
  readonly divergedExample?: {
    readonly node: string;
    readonly key: string;
    readonly timeMs: number;
  };
}

/** Runs one seed. */
export function runGossip(o: GossipRunOptions): GossipRunResult {
  const roundMs = o.roundMs ?? 100;
  const rounds = o.rounds ?? 4 * Math.ceil(Math.log2(Math.max(2, o.nodes))) + 20;
  const sim =
    o.simulation ??
    new Simulation({
      seed: o.seed,
      trace: false,
      maxNodes: Math.max(1024, o.nodes),
      network: {
        latency: { kind: 'uniform', minMs: 1, maxMs: 10 },
        lossProbability: o.lossProbability ?? 0.1,
      },
    });
  const names = Array.from({ length: o.nodes }, (_, i) => `g${i + 1}`);
  const members = new Map<string, GossipNode>();
  let messages = 0;
  const isolated = o.isolate;
  for (const name of names) {
    const node = sim.node(name);
    const g = new GossipNode({
      name,
      peers: names,
      mode: o.mode,
      random: node.runtime.random.fork('gossip'),
      ...(o.flaw === undefined ? {} : { flaw: o.flaw }),
    });
    members.set(name, g);
    const flush = (): void => {
      for (const { to, message } of g.ready()) {
        messages++;
        const cut =
          isolated !== undefined &&
          sim.nowMs < isolated.untilMs &&
          (to === isolated.node || name === isolated.node);
        if (!cut) node.send(to, message);
      }
    };
    node.onMessage((m) => {
      const had = g.get('k1') !== undefined;
      g.step(m.from, m.payload as GossipMessage);
      if (!had && g.get('k1') !== undefined) informed(name);
      flush();
    });
    const round = (): void => {
      g.tick();
      flush();
      node.runtime.timers.setTimer(roundMs, round);
    };
    node.runtime.timers.setTimer(1 + node.runtime.random.int(roundMs), round);
    node.runtime.timers.setTimer(0, flush);
  }
  let informedCount = 0;
  let allAtMs: number | undefined;
  let messagesAtAll = 0;
  const informed = (name: string): void => {
    informedCount++;
    o.onInformed?.(name, sim.nowMs);
    if (informedCount === o.nodes) {
      allAtMs = sim.nowMs;
      messagesAtAll = messages;
    }
  };
  const first = members.get('g1') as GossipNode;
  const created: GossipEntry[] = [];
  sim.scheduler.at(0, () => {
    created.push(first.update('k1', 'v1'));
    informed('g1');
    for (const { to, message } of first.ready()) {
      messages++;
      const cut = isolated !== undefined && to === isolated.node;
      if (!cut) sim.getNode('g1').send(to, message);
    }
  });
  const endMs = rounds * roundMs;
  sim.runSync({ until: () => allAtMs !== undefined, untilMs: endMs });
  const spreadInformed = informedCount;
  const spreadMessages = allAtMs === undefined ? messages : messagesAtAll;
  const random = sim.random.fork('updates');
  for (let i = 0; i < (o.extraUpdates ?? 6); i++) {
    const at = sim.nowMs + random.int(3 * roundMs);
    const name = names[random.int(names.length)] as string;
    const key = `k${1 + random.int(3)}`;
    sim.scheduler.at(at, () => {
      const g = members.get(name) as GossipNode;
      created.push(g.update(key, `${name}-${i}`));
      for (const { to, message } of g.ready()) {
        messages++;
        sim.getNode(name).send(to, message);
      }
    });
  }
  sim.runSync({ untilMs: Math.max(endMs, sim.nowMs + 20 * roundMs) });
  return {
    rounds: allAtMs === undefined ? rounds : Math.ceil(allAtMs / roundMs),
    informed: spreadInformed,
    messagesPerNode: spreadMessages / o.nodes,
    messages,
    ...divergence(members, created, sim.nowMs),
  };
}

function divergence(
  members: ReadonlyMap<string, GossipNode>,
  created: readonly GossipEntry[],
  timeMs: number,
): Pick<GossipRunResult, 'diverged' | 'divergedExample'> {
  const newest = new Map<string, GossipEntry>();
  for (const e of created) if (newer(e, newest.get(e.key))) newest.set(e.key, e);
  let diverged = 0;
  let example: GossipRunResult['divergedExample'];
  for (const [name, g] of members) {
    for (const [key, want] of newest) {
      const have = g.get(key);
      if (have?.version === want.version && have.origin === want.origin) continue;
      diverged++;
      example ??= { node: name, key, timeMs };
      break;
    }
  }
  return { diverged, ...(example === undefined ? {} : { divergedExample: example }) };
}

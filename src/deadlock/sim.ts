/**
 * A distributed lock workload on the simulator, and the checker that judges deadlock detectors
 * against the global wait-for graph (which no site sees, but the simulation does): every reported
 * cycle must have existed at one instant, and no real cycle may last longer than a bound.
 *
 * Designs: `none` (no detection), `edge-chasing` (Chandy–Misra–Haas, {@link DeadlockSite}),
 * `snapshot` (a coordinator assembles a global graph from per-site snapshots taken one after the
 * other), `ordered` (every worker locks in one global order; no detector).
 *
 * @module
 */
import type { Random } from '../core/runtime.js';
import type { Node } from '../sim/node.js';
import type { Simulation } from '../sim/simulation.js';
import { DeadlockSite } from './edge-chasing.js';
import type { SiteMessage } from './edge-chasing.js';
import { WaitForGraph, canonicalCycle } from './graph.js';

/** The detector a run uses. */
export type DeadlockDesign = 'none' | 'edge-chasing' | 'snapshot' | 'ordered';

type SnapshotMessage =
  | { readonly kind: 'snap-req'; readonly round: number }
  | { readonly kind: 'snap'; readonly round: number; readonly edges: readonly [string, string][] }
  | { readonly kind: 'abort'; readonly txn: string; readonly cycle: readonly string[] };

type Payload = SiteMessage | SnapshotMessage;

/** Judges detections against the true global wait-for graph over time. */
export class DeadlockChecker {
  private readonly intervals = new Map<string, { start: number; end: number }[]>();
  private current = new Set<string>();
  private readonly cycleSince = new Map<string, number>();
  private readonly missedKeys = new Set<string>();
  /** Distinct cycles of the true graph seen by the sampler. */
  cyclesSeen = 0;
  detected = 0;
  phantoms = 0;
  missed = 0;
  readonly detectionMs: number[] = [];
  firstProblem: { timeMs: number; summary: string } | undefined;

  constructor(private readonly missBoundMs: number) {}

  /** The true edges right now (after any change). */
  observe(timeMs: number, edges: readonly [string, string][]): void {
    const next = new Set(edges.map(([a, b]) => `${a}>${b}`));
    for (const e of next)
      if (!this.current.has(e)) {
        const list = this.intervals.get(e) ?? [];
        list.push({ start: timeMs, end: Number.POSITIVE_INFINITY });
        this.intervals.set(e, list);
      }
    for (const e of this.current)
      if (!next.has(e)) {
        const last = this.intervals.get(e)?.at(-1);
        if (last !== undefined) last.end = timeMs;
      }
    this.current = next;
  }

  /** Samples the true graph's cycles: one that lasts longer than the bound was missed. */
  sample(timeMs: number): void {
    const g = new WaitForGraph();
    for (const e of this.current) {
      const [a, b] = e.split('>') as [string, string];
      g.addEdge(a, b);
    }
    const live = new Set<string>();
    for (const c of g.cycles()) {
      const key = c.join(' → ');
      live.add(key);
      if (!this.cycleSince.has(key)) this.cyclesSeen++;
      const since = this.cycleSince.get(key) ?? timeMs;
      this.cycleSince.set(key, since);
      if (timeMs - since > this.missBoundMs && !this.missedKeys.has(key)) {
        this.missedKeys.add(key);
        this.missed++;
        this.firstProblem ??= {
          timeMs,
          summary: `the deadlock ${key} lasted ${timeMs - since} ms and nobody reported it`,
        };
      }
    }
    for (const key of [...this.cycleSince.keys()]) if (!live.has(key)) this.cycleSince.delete(key);
    for (const key of [...this.missedKeys]) if (!live.has(key)) this.missedKeys.delete(key);
  }

  /** A detector reported `cycle` at `timeMs`; returns false for a phantom. */
  report(timeMs: number, cycle: readonly string[]): boolean {
    const edges = cycle.map((a, i) => `${a}>${cycle[(i + 1) % cycle.length] as string}`);
    const lists = edges.map((e) => this.intervals.get(e) ?? []);
    const candidates = lists.flat().map((iv) => iv.start);
    const real = candidates.some((t) =>
      lists.every((l) => l.some((iv) => iv.start <= t && t < iv.end)),
    );
    if (real) {
      this.detected++;
      const since = this.cycleSince.get(canonicalCycle(cycle).join(' → '));
      if (since !== undefined) this.detectionMs.push(timeMs - since);
      return true;
    }
    this.phantoms++;
    this.firstProblem ??= {
      timeMs,
      summary: `a phantom deadlock ${[...cycle, cycle[0]].join(' → ')} was reported: its edges never existed at one instant`,
    };
    return false;
  }
}

/** Options of {@link runDeadlockWorkload}. */
export interface DeadlockRunOptions {
  readonly sim: Simulation;
  readonly design: DeadlockDesign;
  /** Workers (transactions), default 6. */
  readonly workers?: number;
  /** Iterations each worker runs, default 6. */
  readonly iterations?: number;
  /** How long the run lasts, ms (default 5,000). */
  readonly horizonMs?: number;
  /** A real deadlock lasting longer than this is missed, ms (default 1,000). */
  readonly missBoundMs?: number;
  /** @internal Edge chasing with the deliberate bug of dropping probes between sites. */
  readonly dropRemoteProbes?: boolean;
  /** Called on each report: `real` false for a phantom. */
  readonly onReport?: (site: string, cycle: readonly string[], real: boolean) => void;
}

/** What a run found. */
export interface DeadlockRunResult {
  readonly checker: DeadlockChecker;
  readonly unfinishedWorkers: number;
  readonly detectorMessages: number;
  readonly aborts: number;
}

const SITES = ['site-a', 'site-b', 'site-c'];
const RESOURCES = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
const SNAPSHOT_EVERY_MS = 50;

function siteOf(resource: string): string {
  return SITES[(Number(resource.slice(1)) - 1) % SITES.length] as string;
}

/** Runs the workload: each worker repeatedly locks two resources (on any sites), then frees them. */
export function runDeadlockWorkload(o: DeadlockRunOptions): DeadlockRunResult {
  const { sim } = o;
  const checker = new DeadlockChecker(o.missBoundMs ?? 1000);
  const sites = new Map<string, DeadlockSite>();
  const workers = Array.from({ length: o.workers ?? 6 }, (_, i) => `w${i + 1}`);
  const homeOf = (w: string): string => SITES[(Number(w.slice(1)) - 1) % SITES.length] as string;
  let detectorMessages = 0;
  let aborts = 0;
  let finished = 0;
  const handlers = new Map<string, (e: 'granted' | 'abort', resource?: string) => void>();
  const observe = (): void =>
    checker.observe(
      sim.nowMs,
      [...sites.values()].flatMap((s) => s.localEdges()),
    );
  const deliver = (node: Node, site: DeadlockSite): void => {
    const { messages, events } = site.ready();
    observe();
    for (const { to, message } of messages) node.send(to, message);
    for (const e of events) {
      if (e.kind === 'deadlock') {
        const real = checker.report(sim.nowMs, e.cycle);
        o.onReport?.(node.name, e.cycle, real);
      }
      if (e.kind === 'granted') handlers.get(e.txn)?.('granted', e.resource);
      else handlers.get(e.txn)?.('abort');
    }
  };
  for (const name of SITES) {
    const node = sim.node(name);
    const site = new DeadlockSite({
      name,
      siteOf,
      priority: (t) => Number(t.slice(1)),
      flaw: o.dropRemoteProbes === true ? 'drop-remote-probes' : 'none',
    });
    sites.set(name, site);
    node.onMessage((m) => {
      const p = m.payload as Payload;
      if (p.kind === 'snap-req' || p.kind === 'snap' || p.kind === 'abort')
        return snapshotStep(node, m.from, p);
      site.step(p);
      deliver(node, site);
    });
    if (o.design === 'edge-chasing') {
      const loop = (): void => {
        const before = site.probesSent;
        site.tick(sim.nowMs);
        detectorMessages += site.probesSent - before;
        deliver(node, site);
        node.runtime.timers.setTimer(10, loop);
      };
      node.runtime.timers.setTimer(10, loop);
    }
  }
  // The textbook coordinator: asks each site in turn for its edges, then looks for cycles.
  let round = 0;
  let collected: [string, string][] = [];
  let asked = 0;
  const snapshotStep = (node: Node, from: string, p: SnapshotMessage): void => {
    const site = sites.get(node.name) as DeadlockSite;
    if (p.kind === 'snap-req') {
      detectorMessages++;
      node.send(from, { kind: 'snap', round: p.round, edges: site.localEdges() });
      return;
    }
    if (p.kind === 'abort') {
      handlers.get(p.txn)?.('abort');
      return;
    }
    if (p.round !== round) return;
    collected.push(...p.edges);
    asked++;
    if (asked < SITES.length) {
      detectorMessages++;
      node.send(SITES[asked] as string, { kind: 'snap-req', round });
      return;
    }
    const g = new WaitForGraph();
    for (const [a, b] of collected) g.addEdge(a, b);
    for (const cycle of g.cycles()) {
      const real = checker.report(sim.nowMs, cycle);
      o.onReport?.(node.name, cycle, real);
      const victim = cycle.reduce((a, b) => (Number(b.slice(1)) > Number(a.slice(1)) ? b : a));
      detectorMessages++;
      node.send(homeOf(victim), { kind: 'abort', txn: victim, cycle });
    }
  };
  if (o.design === 'snapshot') {
    const coordinator = sim.getNode(SITES[0] as string);
    const start = (): void => {
      round++;
      collected = [];
      asked = 0;
      detectorMessages++;
      coordinator.send(SITES[0] as string, { kind: 'snap-req', round });
      coordinator.runtime.timers.setTimer(SNAPSHOT_EVERY_MS, start);
    };
    coordinator.runtime.timers.setTimer(SNAPSHOT_EVERY_MS, start);
  }
  for (const w of workers) {
    const home = sim.getNode(homeOf(w));
    const site = sites.get(home.name) as DeadlockSite;
    startWorker({
      name: w,
      random: home.runtime.random.fork(w),
      iterations: o.iterations ?? 6,
      ordered: o.design === 'ordered',
      later: (ms, fn) => void home.runtime.timers.setTimer(ms, fn),
      request: (r) => {
        site.request(w, r);
        deliver(home, site);
      },
      release: (r) => {
        site.release(w, r);
        deliver(home, site);
      },
      withdraw: () => {
        site.withdraw(w);
        deliver(home, site);
      },
      aborted: () => aborts++,
      done: () => finished++,
      handlers,
    });
  }
  const horizonMs = o.horizonMs ?? 5000;
  const sample = (): void => {
    checker.sample(sim.nowMs);
    if (sim.nowMs + 50 <= horizonMs) sim.scheduler.after(50, sample);
  };
  sim.scheduler.after(50, sample);
  sim.runSync({ untilMs: horizonMs });
  return { checker, unfinishedWorkers: workers.length - finished, detectorMessages, aborts };
}

interface WorkerOptions {
  readonly name: string;
  readonly random: Random;
  readonly iterations: number;
  readonly ordered: boolean;
  later(ms: number, fn: () => void): void;
  request(resource: string): void;
  release(resource: string): void;
  withdraw(): void;
  aborted(): void;
  done(): void;
  readonly handlers: Map<string, (e: 'granted' | 'abort', resource?: string) => void>;
}

/** One worker: lock two resources one after the other, think, free both; on abort, back off and retry. */
function startWorker(w: WorkerOptions): void {
  let iteration = 0;
  let wanted: string[] = [];
  let held: string[] = [];
  let waiting: string | undefined;
  let epoch = 0;
  const think = (): number => 2 + w.random.int(9);
  const begin = (): void => {
    if (iteration >= w.iterations) return w.done();
    const pair = w.random.shuffle([...RESOURCES]).slice(0, 2);
    wanted = w.ordered ? pair.sort() : pair;
    held = [];
    next();
  };
  const next = (): void => {
    const r = wanted[held.length];
    if (r === undefined) {
      const e = epoch;
      return w.later(think(), () => {
        if (e !== epoch) return;
        for (const x of held) w.release(x);
        held = [];
        iteration++;
        w.later(think(), begin);
      });
    }
    waiting = r;
    w.request(r);
  };
  w.handlers.set(w.name, (e, resource) => {
    if (e === 'granted') {
      // A grant that crossed our withdrawal: we no longer want it, so give it back.
      if (waiting === undefined || waiting !== resource) {
        if (resource !== undefined && !held.includes(resource)) w.release(resource);
        return;
      }
      held.push(waiting);
      waiting = undefined;
      const ep = epoch;
      return w.later(think(), () => ep === epoch && next());
    }
    if (held.length === 0 && waiting === undefined) return;
    // Aborted: give up the pending request and every lock held, back off, redo the iteration.
    epoch++;
    w.aborted();
    if (waiting !== undefined) w.withdraw();
    waiting = undefined;
    for (const x of held) w.release(x);
    held = [];
    const ep = epoch;
    w.later(10 + w.random.int(40), () => {
      if (ep !== epoch) return;
      held = [];
      next();
    });
  });
  begin();
}

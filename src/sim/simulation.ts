/**
 * The simulation: one seeded scheduler, a network, named nodes, a trace, an operation history,
 * fault schedules, buggify and invariants. Production code runs on the nodes' runtimes.
 *
 * @module
 */
import { assertNever } from '../core/assert.js';
import type { SeededRandom } from '../core/random.js';
import { settleMicrotasks, yieldToEventLoop } from '../core/system.js';
import { integerIn, nonEmptyString, nonNegative, rangeError } from '../core/validate.js';
import { BuggifyController, registerBuggify } from './buggify.js';
import type { BuggifyOptions } from './buggify.js';
import { InvariantViolationError, SimulationError } from './errors.js';
import type { Fault, ScheduledFault } from './faults.js';
import { validateFault } from './faults.js';
import { History } from './history.js';
import { Network } from './network.js';
import type { NetworkOptions, NodeRef } from './network.js';
import { Node } from './node.js';
import type { NodeHost, NodeOptions } from './node.js';
import type { SimRuntime } from './runtime.js';
import { Scheduler, SimulationLimitError } from './scheduler.js';
import { Trace } from './trace.js';
import type { TraceOptions } from './trace.js';

/** Options of a {@link Simulation}. */
export interface SimulationOptions {
  /** Seed of every random choice; the same seed and options replay the same run (same trace hash). */
  seed: number | string;
  /** Default link behaviour (latency, loss, duplication, reordering, capacity). */
  network?: NetworkOptions;
  /** `false` turns tracing off entirely (fastest); `true` or options turn it on (default on). */
  trace?: boolean | TraceOptions;
  /** Buggify points (default disabled). */
  buggify?: BuggifyOptions;
  /** Upper bound on events waiting in the scheduler (default 1,000,000). */
  maxPendingEvents?: number;
  /** Upper bound on nodes (default 1,024): the network keeps a link per ordered pair. */
  maxNodes?: number;
}

/** When a run stops. */
export interface RunOptions {
  /** Stop before the first event after this virtual time (absolute ms); time then reads `untilMs`. */
  untilMs?: number;
  /** Like `untilMs`, relative to the current virtual time. */
  forMs?: number;
  /**
   * Upper bound on events this run may execute (default 10,000,000). Reaching it with events
   * still due throws a SimulationLimitError naming the seed: a livelock or runaway workload.
   */
  maxEvents?: number;
  /** Stop as soon as this returns true (checked after each event). */
  until?: () => boolean;
}

interface Invariant {
  readonly name: string;
  readonly predicate: () => boolean;
}

const MAX_INVARIANTS = 256;
/** {@link Simulation.run} gives the real event loop a turn after this many events. */
const EVENTS_PER_LOOP_TURN = 1000;

/**
 * A deterministic simulation of a distributed system.
 *
 * @example
 * const sim = new Simulation({ seed: 42 });
 * const a = sim.node('a');
 * const b = sim.node('b');
 * b.onMessage((m) => b.send(m.from, 'pong'));
 * a.onMessage((m) => console.log(m.payload, 'at', sim.nowMs));
 * a.send('b', 'ping');
 * sim.runSync({ untilMs: 1000 });
 */
export class Simulation {
  readonly seed: number | string;
  readonly scheduler: Scheduler;
  /** The run's root random stream (fork it; drawing from it directly shifts every later draw). */
  readonly random: SeededRandom;
  readonly network: Network;
  readonly trace: Trace;
  /** Jepsen-style operation history (invoke/ok/fail/info), in virtual time. */
  readonly history: History;
  /** Buggify decisions of this run. */
  readonly buggifier: BuggifyController;
  private readonly byName = new Map<string, Node>();
  private readonly nodeList: Node[] = [];
  private readonly invariants: Invariant[] = [];
  private readonly maxNodes: number;
  private readonly host: NodeHost;
  private failure: { error: unknown } | undefined;

  constructor(options: SimulationOptions) {
    this.scheduler = new Scheduler({
      seed: options.seed,
      ...(options.maxPendingEvents === undefined
        ? {}
        : { maxPendingEvents: options.maxPendingEvents }),
    });
    this.seed = options.seed;
    this.random = this.scheduler.random;
    this.maxNodes = integerIn('maxNodes', options.maxNodes ?? 1024, 1, 65_536);
    const traceOptions =
      options.trace === false
        ? { record: false, hash: false }
        : options.trace === true
          ? {}
          : (options.trace ?? {});
    this.trace = new Trace({ ...traceOptions, seed: options.seed });
    this.network = new Network(
      this.scheduler,
      this.trace,
      this.random.fork('network'),
      (ref) => this.lookup(ref),
      options.network,
    );
    this.history = new History(
      () => this.scheduler.nowMs,
      this.trace.active ? this.trace : undefined,
    );
    this.buggifier = new BuggifyController(this.random.fork('buggify'), options.buggify);
    this.host = {
      scheduler: this.scheduler,
      trace: this.trace,
      transmit: (from, to, payload) => this.network.transmit(from, to, payload),
      registerRuntime: (runtime: SimRuntime) => registerBuggify(runtime.random, this.buggifier),
      fail: (error) => this.fail(error),
    };
  }

  /** Current virtual time in ms (true time; each node's clock may differ). */
  get nowMs(): number {
    return this.scheduler.nowMs;
  }

  /** Events executed so far. */
  get events(): number {
    return this.scheduler.eventsExecuted;
  }

  /** Every node, in creation order. */
  get nodes(): readonly Node[] {
    return this.nodeList;
  }

  /** Creates the node `name` with its own runtime (clock offset, drift) and disk. */
  node(name: string, options: NodeOptions = {}): Node {
    nonEmptyString('name', name);
    if (this.byName.has(name)) throw rangeError('name', 'a name not used by another node', name);
    if (this.nodeList.length >= this.maxNodes)
      throw rangeError('nodes', `at most ${this.maxNodes}`, this.nodeList.length + 1);
    const node = new Node(this.host, name, this.nodeList.length, options);
    this.byName.set(name, node);
    this.nodeList.push(node);
    this.network.addNode(node);
    this.trace.addNode(name);
    return node;
  }

  /** The node named `name`; throws a RangeError when there is none. */
  getNode(ref: NodeRef): Node {
    const node = this.lookup(ref);
    if (node === undefined)
      throw rangeError('node', 'the name of a node of this simulation', String(ref));
    return node;
  }

  /** Pauses `node` for `ms` virtual ms (see {@link Node.pause}). */
  pause(node: NodeRef, ms: number): void {
    this.getNode(node).pause(ms);
  }

  /** Crashes `node` (see {@link Node.crash}). */
  crash(node: NodeRef): void {
    this.getNode(node).crash();
  }

  /** Restarts `node` (see {@link Node.restart}). */
  restart(node: NodeRef): void {
    this.getNode(node).restart();
  }

  /** Draws whether buggify point `site` fires now (false unless buggify is enabled). */
  buggify(site: string, probability = 0.25): boolean {
    const hit = this.buggifier.fire(site, probability);
    if (hit && this.trace.active)
      this.trace.add(this.nowMs, 'buggify', undefined, undefined, undefined, undefined, site);
    return hit;
  }

  /**
   * Registers an invariant checked after every event (and after promises settled, in `run`).
   * The first violation stops the run with an {@link InvariantViolationError}.
   */
  invariant(name: string, predicate: () => boolean): void {
    nonEmptyString('name', name);
    if (this.invariants.length >= MAX_INVARIANTS)
      throw rangeError('invariants', `at most ${MAX_INVARIANTS}`, this.invariants.length + 1);
    this.invariants.push({ name, predicate });
  }

  /** Records a failure of code under test; the run stops with it after the current event. */
  fail(error: unknown): void {
    this.failure ??= { error };
  }

  /** Injects scripted faults at their virtual times (each must not be in the past). */
  schedule(faults: readonly ScheduledFault[]): void {
    for (const { atMs, fault } of faults) {
      validateFault(fault);
      if (!(atMs >= this.nowMs) || !Number.isFinite(atMs))
        throw rangeError('atMs', `a finite time >= now (${this.nowMs})`, atMs);
      this.scheduler.post(atMs, (f: Fault) => this.inject(f), fault);
    }
  }

  /** Injects `fault` now. */
  inject(fault: Fault): void {
    validateFault(fault);
    if (this.trace.active)
      this.trace.add(this.nowMs, 'fault', undefined, undefined, undefined, undefined, fault);
    const net = this.network;
    switch (fault.kind) {
      case 'partition':
        net.partition(fault.groups);
        this.later(fault.durationMs, () => {
          for (let g = 0; g < fault.groups.length; g++) {
            for (let h = g + 1; h < fault.groups.length; h++) {
              for (const a of fault.groups[g] ?? [])
                for (const b of fault.groups[h] ?? []) net.uncut(a, b);
            }
          }
        });
        return;
      case 'cut':
        if (fault.oneWay === true) net.cutOneWay(fault.from, fault.to);
        else net.cut(fault.from, fault.to);
        this.later(fault.durationMs, () => net.uncut(fault.from, fault.to));
        return;
      case 'isolate':
        net.isolate(fault.node);
        this.later(fault.durationMs, () => net.unisolate(fault.node));
        return;
      case 'heal':
        net.heal();
        return;
      case 'loss':
        net.setLossBurst(fault.probability);
        this.later(fault.durationMs, () => net.setLossBurst(0));
        return;
      default:
        this.injectProcessFault(fault);
    }
  }

  private injectProcessFault(fault: Fault): void {
    switch (fault.kind) {
      case 'pause':
        this.pause(fault.node, fault.durationMs);
        return;
      case 'crash': {
        const node = this.getNode(fault.node);
        node.crash();
        const gen = node.generation;
        this.later(fault.restartAfterMs, () => {
          if (node.generation === gen && node.state === 'crashed') node.restart();
        });
        return;
      }
      case 'restart':
        this.restart(fault.node);
        return;
      case 'clock-step':
        this.getNode(fault.node).clock.stepWallMs(fault.deltaMs);
        return;
      case 'drift':
        this.getNode(fault.node).clock.setDriftPpm(fault.driftPpm);
        return;
      case 'partition':
      case 'cut':
      case 'isolate':
      case 'heal':
      case 'loss':
        return;
      default:
        assertNever(fault, 'fault');
    }
  }

  /**
   * Runs the simulation, letting promises settle after every event so async production code runs
   * deterministically. Resolves to the number of events run.
   */
  async run(options: RunOptions = {}): Promise<number> {
    const { untilMs, maxEvents } = this.limits(options);
    const s = this.scheduler;
    let n = 0;
    await yieldToEventLoop();
    this.afterEvent();
    while (!(options.until?.() ?? false)) {
      const t = s.peekTimeMs();
      if (t === undefined || t > untilMs) break;
      if (n >= maxEvents) throw this.limitError(maxEvents);
      this.stepChecked();
      n++;
      // Promises settle after every event; a real event-loop turn only now and then (I/O such
      // as progress output and test-runner messages), since it costs far more than the settling.
      await (n % EVENTS_PER_LOOP_TURN === 0 ? yieldToEventLoop() : settleMicrotasks());
      this.afterEvent();
    }
    this.finish(untilMs, options);
    return n;
  }

  /**
   * Runs the simulation synchronously: the fast path for workloads made of plain callbacks.
   * Promise continuations do not run between events here; use {@link Simulation.run} for async code.
   */
  runSync(options: RunOptions = {}): number {
    const { untilMs, maxEvents } = this.limits(options);
    const s = this.scheduler;
    const check = this.invariants.length > 0 || options.until !== undefined;
    let n = 0;
    for (;;) {
      const t = s.peekTimeMs();
      if (t === undefined || t > untilMs) break;
      if (n >= maxEvents) throw this.limitError(maxEvents);
      this.stepChecked();
      n++;
      if (check) {
        this.afterEvent();
        if (options.until?.() ?? false) break;
      } else if (this.failure !== undefined) this.afterEvent();
    }
    this.finish(untilMs, options);
    return n;
  }

  private limits(options: RunOptions): { untilMs: number; maxEvents: number } {
    let untilMs = Number.POSITIVE_INFINITY;
    if (options.untilMs !== undefined) untilMs = nonNegative('untilMs', options.untilMs);
    if (options.forMs !== undefined)
      untilMs = Math.min(untilMs, this.nowMs + nonNegative('forMs', options.forMs));
    const maxEvents = integerIn(
      'maxEvents',
      options.maxEvents ?? 10_000_000,
      0,
      Number.MAX_SAFE_INTEGER,
    );
    return { untilMs, maxEvents };
  }

  private finish(untilMs: number, options: RunOptions): void {
    if (Number.isFinite(untilMs) && !(options.until?.() ?? false))
      this.scheduler.advanceTo(untilMs);
  }

  private stepChecked(): void {
    try {
      this.scheduler.step();
    } catch (error) {
      if (error instanceof SimulationLimitError || error instanceof SimulationError) throw error;
      throw new SimulationError('an event handler threw', this.point(), { cause: error });
    }
  }

  private afterEvent(): void {
    if (this.failure !== undefined) {
      const { error } = this.failure;
      if (error instanceof SimulationError) throw error;
      throw new SimulationError('code under test failed', this.point(), { cause: error });
    }
    for (const inv of this.invariants) {
      let ok: boolean;
      try {
        ok = inv.predicate();
      } catch (error) {
        throw new InvariantViolationError(inv.name, this.point(), error);
      }
      if (!ok) throw new InvariantViolationError(inv.name, this.point());
    }
  }

  private point(): { seed: number | string; timeMs: number; eventIndex: number } {
    return { seed: this.seed, timeMs: this.nowMs, eventIndex: this.scheduler.eventsExecuted };
  }

  private limitError(maxEvents: number): SimulationLimitError {
    return new SimulationLimitError(
      `run exceeded maxEvents (${maxEvents}) at virtual time ${this.nowMs} ms (seed ${String(this.seed)})`,
    );
  }

  private later(delayMs: number | undefined, fn: () => void): void {
    if (delayMs !== undefined) this.scheduler.after(delayMs, fn);
  }

  private lookup(ref: NodeRef): Node | undefined {
    if (typeof ref === 'string') return this.byName.get(ref);
    return this.byName.get(ref.name) === ref ? ref : undefined;
  }
}

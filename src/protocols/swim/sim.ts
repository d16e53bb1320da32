/**
 * Runs SWIM members on the simulator, and the checker that judges them from outside: it knows
 * which members really crashed (the simulation did it) and compares that with what the members
 * declared.
 *
 * @module
 */
import type { Node } from '../../sim/node.js';
import type { Simulation } from '../../sim/simulation.js';
import type { SwimOptions, SwimProfile } from './config.js';
import type { SwimMessage } from './messages.js';
import { SwimNode } from './node.js';
import type { MemberEvent, SwimFlaw } from './node.js';

/** What the checker found. */
export interface SwimViolation {
  readonly timeMs: number;
  readonly summary: string;
  readonly node: string;
}

/**
 * The checker: records every member's events against the true fault history and reports false
 * positives, detection times, incarnations that went backwards and views that never converged.
 */
export class SwimChecker {
  /** Declarations (`suspicion timer ran out`) about a member that had not crashed. */
  falsePositives = 0;
  /** Suspicions raised about a member that had not crashed. */
  falseSuspicions = 0;
  refutations = 0;
  readonly violations: SwimViolation[] = [];
  /** Members declared dead without having crashed: the highest incarnation declared. */
  readonly falselyDeclared = new Map<
    string,
    { readonly incarnation: number; readonly timeMs: number; readonly by: string }
  >();
  /** True crash times, by member (absent: running). */
  readonly crashedAtMs = new Map<string, number>();
  /** First declaration of each crashed member, ms after its crash. */
  readonly detectionMs = new Map<string, number>();
  /** When the last live member saw each crashed member dead, ms after its crash. */
  readonly convergenceMs = new Map<string, number>();
  private readonly seen = new Map<string, number>();
  private readonly onDeclare: ((timeMs: number, by: string, node: string) => void) | undefined;

  constructor(onDeclare?: (timeMs: number, by: string, node: string) => void) {
    this.onDeclare = onDeclare;
  }

  /** The simulation crashed `node` at `timeMs`. */
  crashed(node: string, timeMs: number): void {
    this.crashedAtMs.set(node, timeMs);
  }

  /** `node` restarted with a fresh state: its own views start over. */
  restarted(node: string): void {
    this.crashedAtMs.delete(node);
    for (const key of [...this.seen.keys()])
      if (key.startsWith(`${node}\u0000`)) this.seen.delete(key);
  }

  /** One event of member `by` at `timeMs`. */
  record(timeMs: number, by: string, e: MemberEvent): void {
    switch (e.kind) {
      case 'refute':
        this.refutations++;
        return;
      case 'forget':
        this.seen.delete(`${by}\u0000${e.node}`);
        return;
      case 'declare': {
        const crash = this.crashedAtMs.get(e.node);
        if (crash === undefined) {
          this.falsePositives++;
          const before = this.falselyDeclared.get(e.node);
          if (before === undefined || e.incarnation > before.incarnation)
            this.falselyDeclared.set(e.node, { incarnation: e.incarnation, timeMs, by });
        } else if (!this.detectionMs.has(e.node)) this.detectionMs.set(e.node, timeMs - crash);
        this.onDeclare?.(timeMs, by, e.node);
        return;
      }
      case 'change': {
        const key = `${by}\u0000${e.node}`;
        const before = this.seen.get(key);
        if (before !== undefined && e.incarnation < before)
          this.violations.push({
            timeMs,
            node: by,
            summary: `${by} moved ${e.node} back from incarnation ${before} to ${e.incarnation}: a stale update overrode a newer one`,
          });
        this.seen.set(key, e.incarnation);
        if (e.state === 'suspect' && !this.crashedAtMs.has(e.node)) this.falseSuspicions++;
        return;
      }
    }
  }

  /**
   * The final check: every running member sees every running member alive, and every crashed
   * member dead (or forgotten).
   */
  finalViews(timeMs: number, nodes: ReadonlyMap<string, SwimNode>): void {
    for (const [name, node] of nodes) {
      if (this.crashedAtMs.has(name)) continue;
      for (const other of nodes.keys()) {
        if (other === name) continue;
        const view = node.stateOf(other);
        const crashed = this.crashedAtMs.get(other);
        const ok =
          crashed === undefined
            ? view?.state === 'alive'
            : view === undefined || view.state === 'dead';
        const falsely = this.falselyDeclared.get(other);
        // A member falsely declared dead must have refuted: a higher incarnation everywhere.
        if (ok && crashed === undefined && falsely !== undefined && view !== undefined) {
          if (view.incarnation > falsely.incarnation) continue;
          this.violations.push({
            timeMs: falsely.timeMs,
            node: falsely.by,
            summary: `${falsely.by} declared ${other} dead at incarnation ${falsely.incarnation}; ${other} never refuted it (${name} ends with incarnation ${view.incarnation})`,
          });
          continue;
        }
        if (ok) continue;
        const expect = crashed === undefined ? 'alive' : 'dead';
        this.violations.push({
          timeMs,
          node: name,
          summary: `at the end ${name} sees ${other} as ${view?.state ?? 'unknown'}, but ${other} is ${expect}`,
        });
      }
    }
  }

  /** Records that every live member now sees `node` dead (convergence), once. */
  converged(node: string, timeMs: number): void {
    const crash = this.crashedAtMs.get(node);
    if (crash !== undefined && !this.convergenceMs.has(node))
      this.convergenceMs.set(node, timeMs - crash);
  }
}

/** Options of {@link startSwimCluster}. */
export interface SwimClusterOptions {
  readonly sim: Simulation;
  readonly names: readonly string[];
  readonly profile?: SwimProfile;
  readonly options?: Partial<SwimOptions>;
  readonly tickMs?: number;
  readonly flaw?: SwimFlaw;
  readonly checker: SwimChecker;
  /** An overloaded member: each message it receives waits up to `delayMs` before it is handled. */
  readonly slow?: { readonly node: string; readonly delayMs: number };
}

/** A running simulated cluster. */
export interface SwimCluster {
  /** The live state machine of each member (replaced when a member restarts). */
  readonly nodes: Map<string, SwimNode>;
  /** Messages sent so far. */
  messages(): number;
  /** Crashes `name` now (recorded by the checker). */
  crash(name: string): void;
  /** Restarts a crashed member: a new state machine with incarnation 0 joins the others. */
  restart(name: string): void;
}

/** Starts one SWIM member per name on `sim`; each joins all the others. */
export function startSwimCluster(o: SwimClusterOptions): SwimCluster {
  const nodes = new Map<string, SwimNode>();
  let messages = 0;
  const start = (node: Node): void => {
    const swim = new SwimNode({
      name: node.name,
      random: node.runtime.random.fork('swim'),
      ...(o.profile === undefined ? {} : { profile: o.profile }),
      ...(o.options === undefined ? {} : { options: o.options }),
      ...(o.tickMs === undefined ? {} : { tickMs: o.tickMs }),
      ...(o.flaw === undefined ? {} : { flaw: o.flaw }),
    });
    nodes.set(node.name, swim);
    const flush = (): void => {
      const ready = swim.ready();
      for (const e of ready.events) {
        o.checker.record(o.sim.nowMs, node.name, e);
        if (e.kind === 'change' && e.state === 'dead') convergedCheck(e.node);
      }
      for (const { to, message } of ready.messages) {
        messages++;
        node.send(to, message);
      }
    };
    const handle = (from: string, payload: unknown): void => {
      swim.step(from, payload as SwimMessage);
      flush();
    };
    const slow = o.slow?.node === node.name ? o.slow.delayMs : 0;
    node.onMessage((m) => {
      if (slow === 0) handle(m.from, m.payload);
      else
        node.runtime.timers.setTimer(node.runtime.random.next() * slow, () =>
          handle(m.from, m.payload),
        );
    });
    const loop = (): void => {
      swim.tick();
      flush();
      node.runtime.timers.setTimer(swim.tickMs, loop);
    };
    swim.join(o.names.filter((n) => n !== node.name));
    flush();
    node.runtime.timers.setTimer(swim.tickMs, loop);
  };
  const convergedCheck = (subject: string): void => {
    for (const [name, n] of nodes) {
      if (name === subject || o.checker.crashedAtMs.has(name)) continue;
      const v = n.stateOf(subject);
      if (v !== undefined && v.state !== 'dead') return;
    }
    o.checker.converged(subject, o.sim.nowMs);
  };
  for (const name of o.names) o.sim.node(name).start(start);
  return {
    nodes,
    messages: () => messages,
    crash: (name) => {
      o.sim.crash(name);
      o.checker.crashed(name, o.sim.nowMs);
    },
    restart: (name) => {
      o.checker.restarted(name);
      o.sim.restart(name);
    },
  };
}

/**
 * A small replicated-nothing key-value service driven through the simulator: async production
 * style code (a server that syncs before it acknowledges, clients that await replies with
 * timeouts) running on simulated nodes, recording a Jepsen-style history for a checker.
 *
 * @module
 */
import { FaultlineError } from '../../core/errors.js';
import type { Runtime } from '../../core/runtime.js';
import { integerIn, positive, rangeError } from '../../core/validate.js';
import { randomFaultSchedule } from '../../sim/faults.js';
import type { RandomFaultKind, RandomFaultSchedule, ScheduledFault } from '../../sim/faults.js';
import type { OpEvent } from '../../sim/history.js';
import type { NetworkOptions } from '../../sim/network.js';
import type { Envelope, Node, Transport } from '../../sim/node.js';
import { Simulation } from '../../sim/simulation.js';
import type { TraceOptions } from '../../sim/trace.js';
import { LossyKvServer } from './lossy-kv.js';
import { kvReply } from './messages.js';
import type { KvReply, KvRequest } from './messages.js';

export { kvReply } from './messages.js';
export type { KvReply, KvRequest } from './messages.js';

/** A request got no reply in time; a write may or may not have taken effect. */
export class KvTimeoutError extends FaultlineError {
  override name = 'KvTimeoutError';
  constructor(timeoutMs: number) {
    super('FAULTLINE_KV_TIMEOUT', `no reply within ${timeoutMs} ms`);
  }
}

/** True when `e` is a {@link KvTimeoutError}. */
export function isKvTimeoutError(e: unknown): e is KvTimeoutError {
  return e instanceof KvTimeoutError;
}

/**
 * The server: reads answer from committed (synced) state only, writes are acknowledged after
 * they are durable, and a restart reloads the committed state from disk. A compare-and-set
 * compares with the latest written value (durable or not, so that it is ordered after every write
 * before it) and answers, either way, only once that value and its own write are durable.
 */
export class KvServer {
  private readonly committed = new Map<string, number>();
  private readonly transport: Transport;
  private readonly node: Node;

  constructor(node: Node) {
    this.node = node;
    this.transport = node.transport;
    for (const key of node.disk.keys()) this.committed.set(key, node.disk.read(key) as number);
    this.transport.onMessage((m) => this.handle(m as Envelope<KvRequest>));
  }

  private handle(message: Envelope<KvRequest>): void {
    const request = message.payload;
    switch (request.type) {
      case 'read':
        this.transport.send(
          message.from,
          kvReply(request.id, this.committed.get(request.key) ?? null),
        );
        return;
      case 'write':
        this.writeThenReply(
          message.from,
          request.key,
          request.value,
          kvReply(request.id, request.value),
        );
        return;
      case 'cas':
        this.cas(message.from, request);
        return;
    }
  }

  private cas(from: string, request: Extract<KvRequest, { type: 'cas' }>): void {
    const current = (this.node.disk.read(request.key) ?? null) as number | null;
    if (current === request.from) {
      this.writeThenReply(from, request.key, request.to, kvReply(request.id, request.to, true));
      return;
    }
    // A `false` must not be based on a write a crash can still lose: wait until it is durable.
    void this.node.disk
      .sync()
      .then(() => this.transport.send(from, kvReply(request.id, current, false)));
  }

  private writeThenReply(to: string, key: string, value: number, reply: KvReply): void {
    this.node.disk.write(key, value);
    void this.node.disk.sync().then(() => {
      this.committed.set(key, value);
      this.transport.send(to, reply);
    });
  }
}

/** Options of a {@link KvClient}. */
export interface KvClientOptions {
  /** The server's address. */
  server: string;
  /** How long to wait for a reply, in ms of the client's clock (default 100). */
  timeoutMs?: number;
  /** Requests awaiting a reply at most (default 64); more throws a RangeError. */
  maxPending?: number;
}

/**
 * The client: production-style code that only knows a {@link Transport} and a {@link Runtime}.
 *
 * @example
 * const client = new KvClient(node.transport, node.runtime, { server: 'server' });
 * await client.write('x', 1);
 */
export class KvClient {
  private readonly transport: Transport;
  private readonly runtime: Runtime;
  private readonly server: string;
  private readonly timeoutMs: number;
  private readonly maxPending: number;
  private readonly pending = new Map<number, (reply: KvReply) => void>();
  private nextId = 1;

  constructor(transport: Transport, runtime: Runtime, options: KvClientOptions) {
    this.transport = transport;
    this.runtime = runtime;
    this.server = options.server;
    this.timeoutMs = positive('timeoutMs', options.timeoutMs ?? 100);
    this.maxPending = integerIn('maxPending', options.maxPending ?? 64, 1, 1_000_000);
    transport.onMessage((m) => {
      const reply = m.payload as KvReply;
      this.pending.get(reply.id)?.(reply);
    });
  }

  /** Reads `key` (null when never written). */
  async read(key: string): Promise<number | null> {
    return (await this.request((id) => ({ type: 'read', id, key }))).value;
  }

  /** Writes `value` under `key`; resolves once the server made it durable. */
  async write(key: string, value: number): Promise<void> {
    await this.request((id) => ({ type: 'write', id, key, value }));
  }

  /** Sets `key` to `to` if it holds `from` (`null`: never written); true when it did. */
  async cas(key: string, from: number | null, to: number): Promise<boolean> {
    return (await this.request((id) => ({ type: 'cas', id, key, from, to }))).swapped === true;
  }

  private request(build: (id: number) => KvRequest): Promise<KvReply> {
    if (this.pending.size >= this.maxPending) {
      return Promise.reject(new RangeError(`pending requests must be at most ${this.maxPending}`));
    }
    const id = this.nextId++;
    return new Promise<KvReply>((resolve, reject) => {
      const cancel = this.runtime.timers.setTimer(this.timeoutMs, () => {
        this.pending.delete(id);
        reject(new KvTimeoutError(this.timeoutMs));
      });
      this.pending.set(id, (reply) => {
        cancel();
        this.pending.delete(id);
        resolve(reply);
      });
      this.transport.send(this.server, build(id));
    });
  }
}

/**
 * Which server the workload runs: `correct` ({@link KvServer}: durable before acknowledged) or
 * `lossy` ({@link LossyKvServer}: acknowledged before durable, loses writes on a crash — the
 * negative control that a linearizability checker must catch).
 */
export type KvServerKind = 'correct' | 'lossy';

/** The server variants {@link runKvWorkload} accepts. */
export const kvServerKinds: readonly KvServerKind[] = ['correct', 'lossy'];

/** Options of {@link runKvWorkload}. */
export interface KvWorkloadOptions {
  seed: number | string;
  /** Virtual ms during which clients start operations (default 2,000). */
  durationMs?: number;
  /** Number of client nodes (default 3). */
  clients?: number;
  /**
   * `random` draws a swarm-testing fault schedule from the seed (default `none`); a list of
   * scheduled faults runs exactly that schedule (virtual ms from the start).
   */
  faults?: 'none' | 'random' | readonly ScheduledFault[];
  /** The server variant (default `correct`). */
  server?: KvServerKind;
  /** Tracing (default on: events recorded and hashed). */
  trace?: boolean | TraceOptions;
  /** Link behaviour (default: uniform 1–10 ms latency). */
  network?: NetworkOptions;
  /** Client request timeout in ms (default 100). */
  timeoutMs?: number;
  /**
   * Clients also issue compare-and-set requests (default false): a third of the operations are
   * `cas` with `[from, to]` drawn from 0–4, writes draw from 0–4 too so that some succeed. The
   * history then needs `casRegister()`; a cas that returned false is recorded `fail`, as Jepsen
   * and the CAS register model read it.
   */
  cas?: boolean;
  /**
   * Run in this simulation instead of a new one (the lab passes the one it traces); `seed`,
   * `network` and `trace` are then the simulation's own. It must have no nodes yet.
   */
  simulation?: Simulation;
}

/** What a kv run produced. */
export interface KvWorkloadResult {
  readonly seed: number | string;
  readonly server: KvServerKind;
  readonly events: number;
  readonly traceHash: string;
  readonly history: readonly OpEvent[];
  readonly faults: readonly ScheduledFault[];
  readonly enabledFaults: readonly RandomFaultKind[];
  readonly simulation: Simulation;
}

const KEY = 'x';

/**
 * Runs one server and `clients` clients doing random reads and writes of one register for
 * `durationMs`, under the chosen faults; the history is ready for a linearizability checker
 * (`register()` of `faultline/check`). A timed-out operation is recorded `info` (it may have taken
 * effect); `fail` only when the request certainly never reached the server.
 *
 * @example
 * const { history, traceHash } = await runKvWorkload({ seed: 7, faults: 'random' });
 */
export async function runKvWorkload(options: KvWorkloadOptions): Promise<KvWorkloadResult> {
  const durationMs = positive('durationMs', options.durationMs ?? 2000);
  const clients = integerIn('clients', options.clients ?? 3, 1, 1000);
  const timeoutMs = positive('timeoutMs', options.timeoutMs ?? 100);
  const serverKind = options.server ?? 'correct';
  const cas = options.cas ?? false;
  if (!kvServerKinds.includes(serverKind))
    throw rangeError('server', 'correct or lossy', serverKind);
  const sim =
    options.simulation ??
    new Simulation({
      seed: options.seed,
      network: options.network ?? { latency: { kind: 'uniform', minMs: 1, maxMs: 10 } },
      ...(options.trace === undefined ? {} : { trace: options.trace }),
    });
  if (sim.nodes.length > 0) throw rangeError('simulation', 'a simulation without nodes', sim.seed);
  const server = sim.node('server', { disk: { syncLatencyMs: 2 } });
  server.start((node) =>
    serverKind === 'correct' ? void new KvServer(node) : void new LossyKvServer(node),
  );
  const names: string[] = [];
  for (let i = 1; i <= clients; i++) {
    const client = sim.node(`c${i}`, { driftPpm: 100 * i });
    names.push(client.name);
    client.start((node) => clientLoop(sim, node, { durationMs, timeoutMs, cas }));
  }
  const drawn = faultsOf(sim, options.faults ?? 'none', ['server', ...names], durationMs);
  sim.schedule(drawn.faults);
  const events = await sim.run({ untilMs: durationMs + 20 * timeoutMs });
  return {
    seed: options.seed,
    server: serverKind,
    events,
    traceHash: sim.trace.hash(),
    history: sim.history.ops,
    faults: drawn.faults,
    enabledFaults: drawn.enabled,
    simulation: sim,
  };
}

function faultsOf(
  sim: Simulation,
  faults: 'none' | 'random' | readonly ScheduledFault[],
  nodes: readonly string[],
  durationMs: number,
): RandomFaultSchedule {
  if (faults === 'none') return { enabled: [], faults: [] };
  if (faults !== 'random') return { enabled: [], faults };
  return randomFaultSchedule(sim.random.fork('faults'), {
    nodes,
    processNodes: ['server'],
    durationMs,
  });
}

/**
 * How a failed request is recorded: a timeout is indeterminate (`info`: the request may have
 * reached the server and taken effect, so a checker must consider both); any other error was
 * thrown before the request was sent (`fail`: it certainly did not take effect).
 */
function outcomeOf(error: unknown): 'info' | 'fail' {
  return isKvTimeoutError(error) ? 'info' : 'fail';
}

interface ClientContext {
  readonly sim: Simulation;
  readonly node: Node;
  readonly client: KvClient;
}

async function readOp({ sim, node, client }: ClientContext): Promise<void> {
  const op = sim.history.invoke(node.name, 'read', null);
  try {
    sim.history.complete(op, 'ok', await client.read(KEY));
  } catch (error) {
    // A timed-out read is indeterminate like any other operation, never a `fail`.
    sim.history.complete(op, outcomeOf(error), null, String(error));
  }
}

async function writeOp({ sim, node, client }: ClientContext, value: number): Promise<void> {
  const op = sim.history.invoke(node.name, 'write', value);
  try {
    await client.write(KEY, value);
    sim.history.complete(op, 'ok', value);
  } catch (error) {
    sim.history.complete(op, outcomeOf(error), value, String(error));
  }
}

async function casOp(
  { sim, node, client }: ClientContext,
  from: number,
  to: number,
): Promise<void> {
  const op = sim.history.invoke(node.name, 'cas', [from, to]);
  try {
    // `fail` for a cas means "executed and returned false", not "did not run".
    const swapped = await client.cas(KEY, from, to);
    sim.history.complete(op, swapped ? 'ok' : 'fail', [from, to]);
  } catch (error) {
    sim.history.complete(op, outcomeOf(error), [from, to], String(error));
  }
}

async function clientLoop(
  sim: Simulation,
  node: Node,
  options: { durationMs: number; timeoutMs: number; cas: boolean },
): Promise<void> {
  const runtime = node.runtime;
  const client = new KvClient(node.transport, runtime, {
    server: 'server',
    timeoutMs: options.timeoutMs,
  });
  const context: ClientContext = { sim, node, client };
  const startedAt = runtime.clock.monotonicMs();
  while (runtime.clock.monotonicMs() - startedAt < options.durationMs) {
    if (!options.cas) {
      // Kept as it was before cas existed, so that seeds replay the same runs.
      if (runtime.random.next() < 0.5) await readOp(context);
      else await writeOp(context, runtime.random.int(1000));
    } else {
      const pick = runtime.random.int(3);
      if (pick === 0) await readOp(context);
      else if (pick === 1) await writeOp(context, runtime.random.int(5));
      else await casOp(context, runtime.random.int(5), runtime.random.int(5));
    }
    await runtime.timers.sleep(1 + runtime.random.int(20));
  }
}

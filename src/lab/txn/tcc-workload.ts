/**
 * The lab's TCC workload: faultline's {@link TccCoordinator} on a simulated node reserves a unit
 * of money at an `account` service and a unit of goods at a `stock` service per order, then
 * confirms or cancels both, over a network whose slow tail makes some Tries arrive after the
 * coordinator gave up on them and cancelled. The services keep their business state and their
 * fence table on their simulated disks; crashes hit every node. Shared by the lab scenario
 * `tcc-hanging-try` and `faultline sim tcc`.
 *
 * @module
 */
import type { ScheduledFault } from '../../sim/faults.js';
import type { Node } from '../../sim/node.js';
import type { Simulation } from '../../sim/simulation.js';
import { TccCoordinator, TccResource, tccBranch } from '../../txn/tcc.js';
import type {
  TccActions,
  TccBranchKey,
  TccBranchState,
  TccCancelOutcome,
  TccConfirmOutcome,
  TccFenceStore,
  TccParticipant,
  TccTryOutcome,
} from '../../txn/tcc.js';
import {
  TccAlreadyConfirmedError,
  TccHangingTryError,
  TccNothingReservedError,
} from '../../txn/tcc-errors.js';
import { RpcClient, serve } from '../resilience/rpc.js';
import { DiskDecisionLog } from './remote.js';
import { short } from './resource.js';

/** The services, one branch each. */
export const TCC_SERVICES = ['account', 'stock'] as const;

/** How the services keep (or do not keep) branch state. */
export type TccMode =
  /** faultline's `TccResource` over a fence table on the service's disk. */
  | 'fenced'
  /** No fence table: Try reserves whenever it arrives; Cancel releases what it finds. */
  | 'no-fence'
  /** The fence table, but Confirm applies every time it is called (no state check). */
  | 'non-idempotent-confirm';

/** Options of {@link runTccWorkload}. */
export interface TccWorkloadOptions {
  readonly sim: Simulation;
  readonly mode: TccMode;
  /** Probability that a service refuses a Try (out of stock), drawn from its random. */
  readonly refuseProbability: number;
  /** The coordinator's deadline for each call, in ms: a Try slower than it is cancelled. */
  readonly callTimeoutMs: number;
  readonly workloadMs: number;
  readonly horizonMs: number;
  readonly note: (node: string, text: string) => number;
  readonly faults?: readonly ScheduledFault[];
}

/** A violation the checker found on the services' disks. */
export interface TccViolation {
  readonly kind: 'stuck' | 'double-confirm' | 'split';
  readonly gid: string;
  readonly service: string;
}

/** What a run found. */
export interface TccWorkloadResult {
  readonly transactions: number;
  readonly confirmed: number;
  /** Late Tries the fence table refused (each would otherwise have reserved for good). */
  readonly hangingRefused: number;
  /** Reservations still held at the end of the run, after recovery had every chance. */
  readonly stuck: number;
  /** Branches whose Confirm was applied more than once. */
  readonly doubleConfirmed: number;
  /** Orders confirmed at one service and cancelled at the other. */
  readonly split: number;
  readonly first?: TccViolation;
}

const FENCE = 'fence/';
const FROZEN = 'frozen/';
const APPLIED = 'applied/';
const RELEASED = 'released/';

interface Row {
  readonly state: TccBranchState;
  readonly payload: string;
}

/**
 * A fence table on a simulated disk: every change (row and business writes) is synced before it
 * is answered, so a crash keeps both or neither. Calls on one service run one at a time.
 */
class DiskTccFenceStore implements TccFenceStore<undefined> {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly node: Node,
    private readonly idempotentConfirm: boolean,
    private readonly onRefused: (gid: string) => void,
  ) {}

  try(
    key: TccBranchKey,
    payload: string,
    reserve: (context: undefined) => Promise<void>,
  ): Promise<TccTryOutcome> {
    return this.serially(key, async (row) => {
      if (row?.state === 'cancelled') {
        this.onRefused(key.gid);
        throw new TccHangingTryError(key.gid, key.branchId);
      }
      if (row !== undefined) return 'duplicate';
      await reserve(undefined);
      return this.write(key, { state: 'tried', payload }, 'tried');
    });
  }

  confirm(
    key: TccBranchKey,
    apply: (context: undefined, payload: string) => Promise<void>,
  ): Promise<TccConfirmOutcome> {
    return this.serially(key, async (row) => {
      if (row === undefined) throw new TccNothingReservedError(key.gid, key.branchId, 'no-try');
      if (row.state === 'cancelled')
        throw new TccNothingReservedError(key.gid, key.branchId, 'cancelled');
      if (row.state === 'confirmed' && this.idempotentConfirm) return 'duplicate';
      await apply(undefined, row.payload);
      return this.write(key, { state: 'confirmed', payload: row.payload }, 'confirmed');
    });
  }

  cancel(
    key: TccBranchKey,
    release: (context: undefined, payload: string) => Promise<void>,
  ): Promise<TccCancelOutcome> {
    return this.serially(key, async (row) => {
      if (row === undefined)
        return this.write(key, { state: 'cancelled', payload: 'null' }, 'empty');
      if (row.state === 'confirmed') throw new TccAlreadyConfirmedError(key.gid, key.branchId);
      if (row.state === 'cancelled') return 'duplicate';
      await release(undefined, row.payload);
      return this.write(key, { state: 'cancelled', payload: row.payload }, 'cancelled');
    });
  }

  state(key: TccBranchKey): Promise<TccBranchState | undefined> {
    return Promise.resolve((this.node.disk.read(FENCE + key.gid) as Row | undefined)?.state);
  }

  pending(prefix: string): Promise<string[]> {
    const disk = this.node.disk;
    const out = disk
      .keys()
      .filter((k) => k.startsWith(FENCE + prefix) && (disk.read(k) as Row).state === 'tried')
      .map((k) => k.slice(FENCE.length));
    return Promise.resolve(out);
  }

  private async write<T>(key: TccBranchKey, row: Row, outcome: T): Promise<T> {
    this.node.disk.write(FENCE + key.gid, row);
    await this.node.disk.sync();
    return outcome;
  }

  private serially<T>(key: TccBranchKey, fn: (row: Row | undefined) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => fn(this.node.disk.read(FENCE + key.gid) as Row | undefined));
    this.queue = run.catch(() => undefined);
    return run;
  }
}

interface Order {
  readonly units: number;
}

/** The business side of a service: a frozen amount per order, and audit records per outcome. */
function businessActions(node: Node, refuseProbability: number): TccActions<undefined, Order> {
  const disk = node.disk;
  const random = node.runtime.random.fork('tcc-refusals');
  const count = (key: string): number => (disk.read(key) as number | undefined) ?? 0;
  return {
    try: (_c, { units }, { gid }) => {
      if (random.next() < refuseProbability) return Promise.reject(new Error('out of stock'));
      disk.write(FROZEN + gid, units);
      return Promise.resolve();
    },
    confirm: (_c, _i, { gid }) => {
      disk.delete(FROZEN + gid);
      disk.write(APPLIED + gid, count(APPLIED + gid) + 1);
      return Promise.resolve();
    },
    cancel: (_c, _i, { gid }) => {
      disk.delete(FROZEN + gid);
      disk.write(RELEASED + gid, 1);
      return Promise.resolve();
    },
  };
}

/**
 * The design without a fence table: Try reserves whenever it arrives, Confirm and Cancel act on
 * whatever reservation they find, and nothing records a branch's state (so nothing is pending).
 */
class UnfencedService implements TccParticipant<Order> {
  readonly name: string;
  constructor(
    private readonly node: Node,
    private readonly actions: TccActions<undefined, Order>,
  ) {
    this.name = node.name;
  }

  async try(gid: string, input: Order): Promise<TccTryOutcome> {
    await this.actions.try(undefined, input, { gid, branchId: this.name });
    await this.node.disk.sync();
    return 'tried';
  }

  async confirm(gid: string): Promise<TccConfirmOutcome> {
    if (!this.node.disk.has(FROZEN + gid)) return 'duplicate';
    await this.actions.confirm(undefined, { units: 1 }, { gid, branchId: this.name });
    await this.node.disk.sync();
    return 'confirmed';
  }

  async cancel(gid: string): Promise<TccCancelOutcome> {
    if (!this.node.disk.has(FROZEN + gid)) return 'empty';
    await this.actions.cancel(undefined, { units: 1 }, { gid, branchId: this.name });
    await this.node.disk.sync();
    return 'cancelled';
  }

  pending(): Promise<string[]> {
    return Promise.resolve([]);
  }
}

type TccRequest =
  | { readonly op: 'try'; readonly gid: string; readonly input: Order }
  | { readonly op: 'confirm' | 'cancel'; readonly gid: string }
  | { readonly op: 'pending'; readonly prefix: string };

function serveTcc(node: Node, options: TccWorkloadOptions, onRefused: (gid: string) => void): void {
  const actions = businessActions(node, options.refuseProbability);
  const service: TccParticipant<Order> =
    options.mode === 'no-fence'
      ? new UnfencedService(node, actions)
      : new TccResource({
          name: node.name,
          store: new DiskTccFenceStore(node, options.mode === 'fenced', onRefused),
          actions,
        });
  const signal = new AbortController().signal;
  serve(node, (body) => {
    const r = body as TccRequest;
    switch (r.op) {
      case 'try':
        return service.try(r.gid, r.input, signal);
      case 'confirm':
        return service.confirm(r.gid, signal);
      case 'cancel':
        return service.cancel(r.gid, signal);
      case 'pending':
        return service.pending(r.prefix, signal);
    }
  });
}

/** The coordinator's view of a service: its calls over the RPC shim. */
class RemoteTccParticipant implements TccParticipant<Order> {
  constructor(
    readonly name: string,
    private readonly rpc: RpcClient,
  ) {}

  private async call<T>(request: TccRequest, signal: AbortSignal): Promise<T> {
    return (await this.rpc.call(this.name, request, signal)) as T;
  }

  try(gid: string, input: Order, signal: AbortSignal): Promise<TccTryOutcome> {
    return this.call({ op: 'try', gid, input }, signal);
  }
  confirm(gid: string, signal: AbortSignal): Promise<TccConfirmOutcome> {
    return this.call({ op: 'confirm', gid }, signal);
  }
  cancel(gid: string, signal: AbortSignal): Promise<TccCancelOutcome> {
    return this.call({ op: 'cancel', gid }, signal);
  }
  pending(prefix: string, signal: AbortSignal): Promise<string[]> {
    return this.call({ op: 'pending', prefix }, signal);
  }
}

interface Counters {
  transactions: number;
  confirmed: number;
  hangingRefused: number;
}

async function coordinate(
  node: Node,
  options: TccWorkloadOptions,
  counters: Counters,
): Promise<void> {
  const rpc = new RpcClient(node);
  const timers = node.runtime.timers;
  const random = node.runtime.random.fork('orders');
  const participants = TCC_SERVICES.map((s) => new RemoteTccParticipant(s, rpc));
  const tcc = new TccCoordinator({
    coordinatorId: 'coord',
    log: new DiskDecisionLog(node),
    participants: participants as TccParticipant<never>[],
    runtime: node.runtime,
    callTimeoutMs: options.callTimeoutMs,
    phaseTwoAttempts: 4,
    phaseTwoBackoff: { kind: 'exponential', baseMs: 10, capMs: 80, jitter: 'full' },
  });
  tcc.onStep((s) => {
    if (s.kind === 'decided' && s.outcome === 'cancel')
      options.note('coord', `cancels ${short(s.gid)}`);
  });
  await tcc.recover().catch(() => undefined);
  void (async () => {
    for (;;) {
      await timers.sleep(100);
      await tcc.recover().catch(() => undefined);
    }
  })();
  // Three orders in flight at a time, as three request handlers of one service would run them.
  const worker = async (): Promise<void> => {
    while (options.sim.nowMs < options.workloadMs) {
      counters.transactions++;
      try {
        await tcc.transaction(participants.map((p) => tccBranch(p, { units: 1 })));
        counters.confirmed++;
      } catch {
        // Cancelled or in doubt: the services' disks say what is left.
      }
      await timers.sleep(2 + random.int(6));
    }
  };
  await Promise.all([worker(), worker(), worker()]);
}

/** Runs the workload to `horizonMs`; the services' disks decide. */
export async function runTccWorkload(options: TccWorkloadOptions): Promise<TccWorkloadResult> {
  const { sim, note } = options;
  const counters: Counters = { transactions: 0, confirmed: 0, hangingRefused: 0 };
  for (const name of TCC_SERVICES)
    sim.node(name).start((node) =>
      serveTcc(node, options, (gid) => {
        counters.hangingRefused++;
        note(node.name, `refuses the hanging Try of ${short(gid)}`);
      }),
    );
  sim.node('coord').start((node) => coordinate(node, options, counters));
  if (options.faults !== undefined) sim.schedule(options.faults);
  await sim.run({ untilMs: options.horizonMs });
  return { ...counters, ...judge(sim) };
}

/** Reads the services' disks: reservations left, Confirms applied twice, split orders. */
function judge(
  sim: Simulation,
): Pick<TccWorkloadResult, 'stuck' | 'doubleConfirmed' | 'split' | 'first'> {
  const violations: TccViolation[] = [];
  const confirmedAt = new Map<string, string>();
  const releasedAt = new Map<string, string>();
  for (const service of TCC_SERVICES) {
    const disk = sim.getNode(service).disk;
    for (const key of disk.keys()) {
      if (key.startsWith(FROZEN))
        violations.push({ kind: 'stuck', gid: key.slice(FROZEN.length), service });
      if (key.startsWith(APPLIED)) {
        const gid = key.slice(APPLIED.length);
        confirmedAt.set(gid, service);
        if ((disk.read(key) as number) > 1)
          violations.push({ kind: 'double-confirm', gid, service });
      }
      if (key.startsWith(RELEASED)) releasedAt.set(key.slice(RELEASED.length), service);
    }
  }
  for (const [gid, service] of confirmedAt)
    if (releasedAt.has(gid)) violations.push({ kind: 'split', gid, service });
  const count = (kind: TccViolation['kind']): number =>
    violations.filter((v) => v.kind === kind).length;
  const first = violations[0];
  return {
    stuck: count('stuck'),
    doubleConfirmed: count('double-confirm'),
    split: count('split'),
    ...(first === undefined ? {} : { first }),
  };
}

/**
 * PBFT in the simulator (`faultline sim pbft`): four replicas (f = 1), the view-0 primary
 * Byzantine through the simulator's interception (silent, equivocating, or forging other
 * replicas' messages), message loss until the network heals; a client broadcasts signed requests.
 * The checker, outside the replicas: loyal replicas never commit different requests at one
 * sequence number, and every request is committed by f + 1 loyal replicas (a client's reply
 * quorum) once the network has healed.
 *
 * @module
 */
import type { InterceptContext, OutgoingMessage } from '../../sim/network.js';
import { Simulation } from '../../sim/simulation.js';
import type { ProtocolSim } from '../contract.js';
import { driveOnNode } from '../drive.js';
import { Keyring, PbftReplica } from './pbft.js';
import type { Signed } from './pbft.js';

/** The variants of `faultline sim pbft`. */
export const pbftVariants = ['correct', 'small-quorum', 'no-view-change'] as const;

/** A variant of {@link runPbft}. */
export type PbftVariant = (typeof pbftVariants)[number];

/** What the faulty primary does. */
export type PrimaryFault = 'silent' | 'equivocate' | 'forge';

/** What a run found. */
export interface PbftOutcome {
  readonly violations: readonly {
    readonly timeMs: number;
    readonly summary: string;
    readonly traceIndex?: number;
  }[];
  readonly fault: PrimaryFault;
  /** When the last request reached f + 1 loyal commits, ms (the horizon when one never did). */
  readonly allCommittedMs: number;
  readonly views: number;
  readonly messages: number;
}

const REPLICAS = ['r0', 'r1', 'r2', 'r3'];
const REQUESTS = 6;
const HEAL_MS = 300;
const HORIZON_MS = 2_000;

/** Runs one seeded execution and checks it. */
export async function runPbft(
  sim: Simulation,
  variant: PbftVariant,
  options: { fault?: PrimaryFault; note?: (node: string, text: string) => number } = {},
): Promise<PbftOutcome> {
  const random = sim.random.fork('pbft');
  const fault = options.fault ?? random.pick<PrimaryFault>(['silent', 'equivocate', 'forge']);
  const keys = new Map([...REPLICAS, 'client'].map((r) => [r, `${r}:${random.int(2 ** 30)}`]));
  const keyring = new Keyring(keys);
  const loyal = REPLICAS.slice(1);
  const replicas = new Map<string, PbftReplica>();
  let messages = 0;
  sim.network.configure({ latency: { kind: 'uniform', minMs: 1, maxMs: 8 } });
  for (const id of REPLICAS)
    driveOnNode<Signed, never, PbftReplica>(sim.node(id), {
      create: () => {
        const r = new PbftReplica({
          id,
          replicas: REPLICAS,
          keyring,
          smallQuorums: variant === 'small-quorum',
          noViewChange: variant === 'no-view-change',
        });
        replicas.set(id, r);
        return r;
      },
      observe: () => void messages++,
    });
  // The Byzantine primary: the simulator rewrites, drops and forges its outgoing messages.
  const ownKey = new Keyring(new Map([['r0', keys.get('r0') as string]]));
  sim.network.intercept('r0', (m, ctx) => byzantinePrimary(fault, ownKey, m, ctx));
  options.note?.('r0', `is Byzantine (${fault})`);
  startClient(sim, keyring);
  sim.network.setLossBurst(random.float(0, 0.2));
  sim.scheduler.at(HEAL_MS, () => sim.network.recover());

  const violations: { timeMs: number; summary: string; traceIndex?: number }[] = [];
  let allCommittedMs = Number.NaN;
  const check = (): boolean => {
    for (let seq = 1; seq < 64; seq++) {
      const seen = new Map<string, string>();
      for (const id of loyal) {
        const request = replicas.get(id)?.committedLog.get(seq);
        if (request !== undefined) seen.set(id, request);
      }
      if (new Set(seen.values()).size > 1) {
        const summary = `loyal replicas committed different requests at sequence ${seq}: ${[...seen].map(([r, q]) => `${r} ${q}`).join(', ')}`;
        const traceIndex = options.note?.('r1', summary);
        violations.push({
          timeMs: sim.nowMs,
          summary,
          ...(traceIndex === undefined ? {} : { traceIndex }),
        });
        return true;
      }
    }
    if (Number.isNaN(allCommittedMs) && committedByEnough(replicas, loyal))
      allCommittedMs = sim.nowMs;
    return false;
  };
  // The checker looks every 2 ms of virtual time (cheaper than after every event).
  let stop = false;
  const watch = (): void => {
    stop = check();
    if (!stop) sim.scheduler.after(2, watch);
  };
  sim.scheduler.after(2, watch);
  sim.runSync({ untilMs: HORIZON_MS, until: () => stop });
  if (!stop) check();
  if (violations.length === 0 && Number.isNaN(allCommittedMs)) {
    const summary = `not every request was committed by f + 1 loyal replicas by ${HORIZON_MS} ms (the network healed at ${HEAL_MS} ms)`;
    const traceIndex = options.note?.('client', summary);
    violations.push({
      timeMs: sim.nowMs,
      summary,
      ...(traceIndex === undefined ? {} : { traceIndex }),
    });
  }
  return {
    violations,
    fault,
    allCommittedMs: Number.isNaN(allCommittedMs) ? HORIZON_MS : allCommittedMs,
    views: Math.max(...loyal.map((id) => replicas.get(id)?.currentView ?? 0)),
    messages,
  };
}

function committedByEnough(replicas: Map<string, PbftReplica>, loyal: readonly string[]): boolean {
  for (let i = 1; i <= REQUESTS; i++) {
    const request = `op${i}`;
    let n = 0;
    for (const id of loyal)
      if ([...(replicas.get(id)?.committedLog.values() ?? [])].includes(request)) n++;
    if (n < 2) return false;
  }
  return true;
}

/** The client: broadcasts request i at i × 20 ms and re-broadcasts every request every 150 ms. */
function startClient(sim: Simulation, keyring: Keyring): void {
  sim.node('client').start((node) => {
    const send = (i: number): void => {
      const signed = keyring.sign('client', { kind: 'request', request: `op${i}` });
      for (const r of REPLICAS) node.send(r, signed);
    };
    for (let i = 1; i <= REQUESTS; i++) node.runtime.timers.setTimer(i * 20, () => send(i));
    const resend = (): void => {
      for (let i = 1; i <= REQUESTS; i++) send(i);
      node.runtime.timers.setTimer(150, resend);
    };
    node.runtime.timers.setTimer(150, resend);
  });
}

/**
 * The faulty primary's behaviour: `silent` drops everything; `equivocate` sends r3 a different
 * request in every pre-prepare and backs it with its own prepare and commit; `forge` also sends
 * r3 prepares and commits for the other request claiming to come from r1 and r2, which it cannot
 * sign for.
 */
function byzantinePrimary(
  fault: PrimaryFault,
  ownKey: Keyring,
  m: OutgoingMessage,
  ctx: InterceptContext,
): undefined | 'drop' | { readonly payload: unknown } {
  if (fault === 'silent') return 'drop';
  const signed = m.payload as Signed;
  const body = signed.body;
  if (body.kind !== 'pre-prepare' || m.to !== 'r3') return undefined;
  const evil = { view: body.view, seq: body.seq, request: `${body.request}~forged` };
  ctx.forge('r3', ownKey.sign('r0', { kind: 'prepare', ...evil }));
  ctx.forge('r3', ownKey.sign('r0', { kind: 'commit', ...evil }));
  if (fault === 'forge')
    for (const as of ['r1', 'r2']) {
      const fake: Signed = { ...ownKey.sign('r0', { kind: 'commit', ...evil }), by: as };
      ctx.forge('r3', fake, as);
    }
  return { payload: ownKey.sign('r0', { kind: 'pre-prepare', ...evil }) };
}

/** `faultline sim pbft`. */
export const pbftProtocol: ProtocolSim = {
  name: 'pbft',
  summary: 'PBFT with a Byzantine primary (silent, equivocating, forging) and loss until healing',
  variants: pbftVariants,
  async run({ seed, variant }) {
    const sim = new Simulation({ seed, trace: false });
    const o = await runPbft(sim, variant as PbftVariant);
    const first = o.violations[0];
    return {
      violations: o.violations.length,
      ...(first === undefined
        ? {}
        : { firstViolation: { timeMs: first.timeMs, summary: first.summary } }),
      figures: { allCommittedMs: o.allCommittedMs, views: o.views, messages: o.messages },
    };
  },
};

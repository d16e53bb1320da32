/**
 * Read-your-writes on asynchronous replicas: a client writes to the primary and reads its own
 * write back from a replica that has not applied it yet. With a session token (the write's log
 * position) the read goes only to a replica that has applied it, else to the primary.
 *
 * @module
 */
import type { Node } from '../../sim/node.js';
import { SessionRouter, SessionToken } from '../../txn/session.js';
import type { ServedRead } from '../../txn/session.js';
import { RpcClient, serve } from '../resilience/rpc.js';
import type { LabContext, Scenario, VariantOutcome } from '../types.js';

type Request =
  | { readonly op: 'write'; readonly key: string; readonly value: number }
  | { readonly op: 'read'; readonly key: string; readonly token: string };

const REPLICAS = ['replica-1', 'replica-2'] as const;
const CLIENTS = ['c1', 'c2', 'c3'] as const;
const DURATION_MS = 1_000;

/** A server holding the replicated log's state: the primary or a replica. */
function server(node: Node, role: 'primary' | 'replica', lagMs: number): void {
  const values = new Map<string, number>();
  let applied = 0n;
  const read = (key: string, token: bigint): ServedRead<number> =>
    applied >= token
      ? { kind: 'read', value: values.get(key) ?? 0, position: applied }
      : { kind: 'behind', position: applied };
  node.onMessage<{ replicate?: { key: string; value: number; position: string } }>((m) => {
    const r = m.payload.replicate;
    if (r === undefined) return;
    // Replay is delayed (a slow replica, recovery_min_apply_delay) but in log order.
    node.runtime.timers.setTimer(lagMs, () => {
      values.set(r.key, r.value);
      applied = BigInt(r.position);
    });
  });
  serve(node, (body) => {
    const request = body as Request;
    if (request.op === 'read') {
      const served = read(request.key, BigInt(request.token));
      return { ...served, position: served.position.toString() };
    }
    if (role !== 'primary') throw new Error('replicas are read-only');
    applied++;
    values.set(request.key, request.value);
    const replicate = { key: request.key, value: request.value, position: applied.toString() };
    for (const replica of REPLICAS) node.send(replica, { replicate });
    return applied.toString();
  });
}

interface Staleness {
  stale: number;
  reads: number;
  first?: { timeMs: number; traceIndex: number; text: string };
}

async function client(
  context: LabContext,
  node: Node,
  useToken: boolean,
  staleness: Staleness,
  nowMs: () => number,
  router: { replica: number; primary: number },
  maxWaitMs: number,
): Promise<void> {
  const rpc = new RpcClient(node);
  const key = `k-${node.name}`;
  const sessions = new SessionRouter<string>({
    primary: 'primary',
    replicas: REPLICAS,
    maxWaitMs,
    pollMs: 10,
    runtime: node.runtime,
  });
  const session = new SessionToken();
  const readOn = async (target: string, token: bigint): Promise<ServedRead<number>> => {
    const reply = (await rpc.call(target, {
      op: 'read',
      key,
      token: token.toString(),
    })) as { kind: 'read' | 'behind'; value?: number; position: string };
    const position = BigInt(reply.position);
    return reply.kind === 'read'
      ? { kind: 'read', value: reply.value ?? 0, position }
      : { kind: 'behind', position };
  };
  const random = node.runtime.random.fork('client');
  for (let value = 1; nowMs() < DURATION_MS; value++) {
    const position = (await rpc.call('primary', { op: 'write', key, value })) as string;
    if (useToken) session.observe(BigInt(position));
    const read = useToken
      ? await sessions.read(session, readOn)
      : {
          ...(await readOn(REPLICAS[random.int(REPLICAS.length)] ?? 'replica-1', 0n)),
          servedBy: 0,
        };
    const seen = 'value' in read ? read.value : 0;
    staleness.reads++;
    if (read.servedBy === 'primary') router.primary++;
    else router.replica++;
    if (seen < value) {
      staleness.stale++;
      const text = `${node.name} wrote ${key}=${value}, then read ${seen}`;
      const traceIndex = context.note(node.name, `stale read: ${text}`);
      staleness.first ??= { timeMs: nowMs(), traceIndex, text };
    }
    await node.runtime.timers.sleep(10 + random.int(20));
  }
}

async function run(context: LabContext, useToken: boolean): Promise<VariantOutcome> {
  const sim = context.simulation({ network: { latency: { kind: 'uniform', minMs: 1, maxMs: 4 } } });
  const lagMs = context.knobs['lagMs'] ?? 40;
  const maxWaitMs = context.knobs['maxWaitMs'] ?? 60;
  const staleness: Staleness = { stale: 0, reads: 0 };
  const served = { replica: 0, primary: 0 };
  sim.node('primary').start((node) => server(node, 'primary', 0));
  for (const name of REPLICAS) sim.node(name).start((node) => server(node, 'replica', lagMs));
  for (const name of CLIENTS)
    sim
      .node(name)
      .start((node) =>
        client(context, node, useToken, staleness, () => sim.nowMs, served, maxWaitMs),
      );
  await sim.run({ untilMs: DURATION_MS + 200 });
  const first = staleness.first;
  return {
    violated: first !== undefined,
    ...(first === undefined
      ? {}
      : {
          evidence: {
            timeMs: first.timeMs,
            summary: `read-your-writes broken: ${first.text}`,
            traceIndex: first.traceIndex,
            operations: [first.text],
          },
        }),
    figures: {
      staleReads: staleness.stale,
      reads: staleness.reads,
      replicaReadsPercent:
        Math.round((served.replica / Math.max(1, served.replica + served.primary)) * 1000) / 10,
    },
  };
}

/** The read-your-writes scenario. */
export const readYourWrites: Scenario = {
  name: 'read-your-writes',
  title: 'Read-your-writes on replicas',
  problem:
    'Reads go to asynchronous replicas to spare the primary. A client writes to the primary and at ' +
    'once reads its write back from a replica that has not replayed it yet: its own write seems lost.',
  reference:
    'Terry et al., “Session guarantees for weakly consistent replicated data” (PDIS 1994); ' +
    'GitLab’s database load balancing (LSN-based sticky reads)',
  property:
    'Read-your-writes: every read of a client returns at least the value of its own latest write ' +
    '(each client writes increasing values to its own key; checked on the client’s history).',
  standIn:
    'The primary and replicas are small simulated servers with a log position each (the lab’s RPC ' +
    'shim); the routing is faultline’s SessionRouter and SessionToken.',
  api: [
    "import { SessionRouter, SessionToken } from 'faultline/txn';",
    'const router = new SessionRouter({ primary, replicas, maxWaitMs: 60 });',
    'const session = new SessionToken(); // or SessionToken.parse(cookie)',
    "session.observe(await write(primary)); // the commit's log position",
    'const { value } = await router.read(session, readOn); // never older than the write',
  ].join('\n'),
  figures: [
    {
      name: 'staleReads',
      label: 'reads missing the client’s own write',
      unit: 'reads',
      better: 'lower',
      key: true,
    },
    {
      name: 'replicaReadsPercent',
      label: 'reads served by a replica',
      unit: '%',
      better: 'higher',
      key: true,
    },
    { name: 'reads', label: 'reads', unit: '', better: 'none' },
  ],
  knobs: [
    {
      name: 'lagMs',
      label: 'replica replay lag',
      min: 0,
      max: 200,
      step: 5,
      default: 40,
      unit: 'ms',
    },
    {
      name: 'maxWaitMs',
      label: 'longest a read waits for a replica',
      min: 0,
      max: 200,
      step: 10,
      default: 60,
      unit: 'ms',
    },
  ],
  variants: {
    unsafe: {
      summary: 'Every read goes to a replica, whatever the client wrote just before.',
      run: (context) => run(context, false),
    },
    safe: {
      summary:
        'Each session carries a token (its latest write’s log position); a read goes to a replica that has applied it, else to the primary.',
      run: (context) => run(context, true),
    },
  },
};

/**
 * Raft: `npm run --silent bench -- raft [--json] [--seconds N] [--no-real]`.
 *
 * Case `raft-sim`: the simulated 3-member store (no faults, 8 clients, 1 ms fsync): commits per
 * simulated second, and wall-clock simulator events per second.
 *
 * Cases `raft-cluster-c1` and `raft-cluster-c50`: a real 3-process `faultline raft serve` cluster
 * on loopback against a real 3-member etcd (the test harness starts both, each member with its own
 * data dir on the same disk, both fsyncing every batch — etcd's default). 1 or 50 concurrent
 * clients each loop on `PUT` of a small value to the leader for `--seconds` (default 3); the rows
 * are writes/s and p99 latency in ms. Both are driven through the same HTTP client (Node's fetch):
 * ours through its JSON API, etcd through its JSON gateway (`POST /v3/kv/put`); the row
 * `etcd3/grpc` drives etcd through the etcd3 gRPC client for reference. Rounds run interleaved
 * (ours, etcd, etcd3), 3 rounds; rows are medians.
 */
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import type * as RaftModule from '../src/protocols/raft/index.js';
import { etcd } from '../test/services/index.js';
import { raftCluster } from '../test/raft/cluster.js';
import type { BenchRow, BenchSuite } from './types.js';
import { compiled, interleaved, median } from './util.js';

const { runRaftSim } = await compiled<typeof RaftModule>('protocols/raft/index.js');

const ROUNDS = 3;

/** Writes/s and p99 (ms) of `clients` loops of `put` for `seconds`. */
async function load(
  clients: number,
  seconds: number,
  put: (client: number, n: number) => Promise<void>,
): Promise<{ rate: number; p99: number }> {
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let n = 0; performance.now() < end; n++) {
        const t = performance.now();
        await put(c, n);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = performance.now() - start;
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? 0;
  return { rate: (latencies.length * 1000) / elapsed, p99 };
}

async function ok(res: Response, what: string): Promise<void> {
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${what}: ${res.status} ${text}`);
}

async function simulatedRows(log: (m: string) => void): Promise<BenchRow[]> {
  const commits: number[] = [];
  const eventsPerSecond: number[] = [];
  log('simulating a 3-member store, 5 rounds');
  for (let seed = 1; seed <= 5; seed++) {
    const start = performance.now();
    const run = await runRaftSim({
      seed,
      nodes: 3,
      clients: 8,
      durationMs: 5000,
      faults: 'none',
      syncLatencyMs: 1,
      compactEvery: 0,
    });
    const wallMs = performance.now() - start;
    commits.push((run.committed * 1000) / run.simulation.nowMs);
    eventsPerSecond.push((run.events * 1000) / wallMs);
  }
  return [
    {
      case: 'raft-sim',
      impl: 'faultline',
      metric: 'commits',
      value: median(commits),
      unit: 'commits/sim-s',
    },
    {
      case: 'raft-sim',
      impl: 'faultline',
      metric: 'events',
      value: median(eventsPerSecond),
      unit: 'events/s',
    },
  ];
}

async function etcdLeader(endpoints: readonly string[]): Promise<string> {
  for (const e of endpoints) {
    const res = await fetch(`${e}/v3/maintenance/status`, { method: 'POST', body: '{}' });
    const s = (await res.json()) as { header: { member_id: string }; leader: string };
    if (s.header.member_id === s.leader) return e;
  }
  throw new Error('etcd has no leader');
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

async function realRows(seconds: number, log: (m: string) => void): Promise<BenchRow[]> {
  log('starting 3 faultline raft serve processes and a 3-member etcd');
  const ours = await raftCluster(3, ['dist/cli/main.js']);
  const theirs = await etcd({ members: 3 });
  const grpc = new Etcd3({ hosts: theirs.endpoints });
  try {
    const leader = (await ours.waitForLeader()).url;
    const etcdUrl = await etcdLeader(theirs.endpoints);
    const value = 'x'.repeat(64);
    const impls = {
      faultline: (c: number, n: number) =>
        fetch(`${leader}/kv/bench-${c}`, {
          method: 'PUT',
          body: JSON.stringify({ value: `${value}${n}` }),
        }).then((r) => ok(r, 'faultline')),
      etcd: (c: number, n: number) =>
        fetch(`${etcdUrl}/v3/kv/put`, {
          method: 'POST',
          body: JSON.stringify({ key: b64(`bench-${c}`), value: b64(`${value}${n}`) }),
        }).then((r) => ok(r, 'etcd')),
      'etcd3/grpc': async (c: number, n: number) => {
        await grpc.put(`bench-grpc-${c}`).value(`${value}${n}`);
      },
    };
    const rows: BenchRow[] = [];
    for (const clients of [1, 50]) {
      // Warm-up: connections, JIT, the first fsyncs.
      for (const put of Object.values(impls)) await load(clients, 0.5, put);
      log(`measuring ${ROUNDS} interleaved rounds of ${seconds} s with ${clients} client(s)`);
      const p99s: Record<string, number[]> = {};
      const rates = await interleaved(
        ROUNDS,
        Object.fromEntries(
          Object.entries(impls).map(([impl, put]) => [
            impl,
            async () => {
              const r = await load(clients, seconds, put);
              (p99s[impl] ??= []).push(r.p99);
              return r.rate;
            },
          ]),
        ) as Record<keyof typeof impls, () => Promise<number>>,
      );
      for (const [impl, rate] of Object.entries(rates)) {
        const c = `raft-cluster-c${clients}`;
        rows.push({ case: c, impl, metric: 'writes', value: rate as number, unit: 'ops/s' });
        rows.push({ case: c, impl, metric: 'p99', value: median(p99s[impl]!), unit: 'ms' });
      }
    }
    return rows;
  } finally {
    grpc.close();
    await ours.cleanup();
    await theirs.cleanup();
  }
}

const suite: BenchSuite = {
  name: 'raft',
  description:
    'Raft: simulated commits and simulator events; a real 3-process cluster vs 3-member etcd (writes/s higher is better, p99 ms lower is better)',
  async run(ctx) {
    const i = ctx.args.indexOf('--seconds');
    const seconds = i >= 0 ? Number(ctx.args[i + 1]) : 3;
    if (!(seconds > 0 && seconds <= 600))
      throw new RangeError(`--seconds must be in (0, 600] (got ${ctx.args[i + 1]})`);
    const rows = await simulatedRows(ctx.log);
    if (!ctx.args.includes('--no-real')) rows.push(...(await realRows(seconds, ctx.log)));
    return rows;
  },
};

export default suite;

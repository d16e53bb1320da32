/**
 * A `faultline raft serve` cluster of real processes on loopback (free ports, temp dirs), with
 * signal controls, for the integration test and the benchmark.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../services/net.js';
import { tempDir, removeTempDir } from '../services/process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** What `GET /status` answers. */
export interface RaftStatus {
  id: string;
  role: string;
  leader: string | null;
  term: number;
  commit: number;
  applied: number;
  lastIndex: number;
  snapshotIndex: number;
  malformedFrames: number;
  droppedMessages: number;
}

/** One member process. */
export class RaftMember {
  child: ChildProcess | undefined;
  output = '';
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly raftPort: number,
    readonly httpPort: number,
    readonly dir: string,
    private readonly peers: string,
    private readonly entry: readonly string[],
    private readonly extra: readonly string[] = [],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  start(): void {
    const args = [
      ...this.entry,
      'raft',
      'serve',
      '--id',
      this.id,
      '--peers',
      this.peers,
      '--data',
      this.dir,
      '--http',
      String(this.httpPort),
      ...this.extra,
    ];
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (c: Buffer) => (this.output = (this.output + c.toString()).slice(-8000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.child = child;
    live.add(child);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => live.delete(child));
  }

  async status(timeoutMs = 500): Promise<RaftStatus | undefined> {
    try {
      const res = await fetch(`${this.url}/status`, { signal: AbortSignal.timeout(timeoutMs) });
      return (await res.json()) as RaftStatus;
    } catch {
      return undefined;
    }
  }

  /** SIGKILL: whatever was not fsynced is gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await this.exited;
  }

  pause(): void {
    this.child!.kill('SIGSTOP');
  }

  resume(): void {
    this.child!.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGCONT');
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** A running cluster. */
export interface RaftCluster {
  readonly members: RaftMember[];
  /** The member every running member agrees leads, once they do. */
  waitForLeader(timeoutMs?: number): Promise<RaftMember>;
  cleanup(): Promise<void>;
}

/**
 * Starts `n` members. `entry` is how to run the CLI: `['--import', 'tsx', 'src/cli/main.ts']`
 * (default) or `['dist/cli/main.js']`; `extra` are more `raft serve` flags.
 */
export async function raftCluster(
  n = 3,
  entry: readonly string[] = ['--import', 'tsx', 'src/cli/main.ts'],
  extra: readonly string[] = [],
): Promise<RaftCluster> {
  const ports = await freePorts(2 * n);
  const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  const peers = ids.map((id, i) => `${id}=127.0.0.1:${ports[2 * i]}`).join(',');
  const dirs = ids.map((id) => tempDir(`raft-${id}`));
  const members = ids.map(
    (id, i) => new RaftMember(id, ports[2 * i]!, ports[2 * i + 1]!, dirs[i]!, peers, entry, extra),
  );
  for (const m of members) m.start();
  const waitForLeader = async (timeoutMs = 30_000): Promise<RaftMember> => {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const live = members.filter((m) => m.running);
      const all = await Promise.all(live.map((m) => m.status()));
      const leaders = new Set(all.map((s) => s?.leader));
      const leader = members.find((m) => m.id === all[0]?.leader);
      const leaderSays = all.find((s) => s?.id === leader?.id);
      if (leaders.size === 1 && leader !== undefined && leaderSays?.role === 'leader')
        return leader;
      await new Promise((r) => setTimeout(r, 50));
    }
    const out = members.map((m) => `--- ${m.id}\n${m.output}`).join('\n');
    throw new Error(`no agreed leader within ${timeoutMs} ms\n${out}`);
  };
  const cleanup = async () => {
    await Promise.all(members.map((m) => m.stop()));
    for (const d of dirs) removeTempDir(d);
  };
  return { members, waitForLeader, cleanup };
}

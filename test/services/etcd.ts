/** Private etcd clusters (1 or 3 real members) for integration tests. */
import { join } from 'node:path';
import { freePorts } from './net.js';
import { ManagedServer, findBinary, tempDir } from './process.js';

/** One etcd member. */
export class EtcdMember extends ManagedServer {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;

  constructor(
    name: string,
    clientPort: number,
    peerPort: number,
    dir: string,
    initialCluster: string,
    clusterToken: string,
  ) {
    const binary = findBinary('etcd', 'etcd-server');
    const client = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    super(dir, {
      name: `etcd:${name}`,
      command: binary,
      args: [
        '--name',
        name,
        '--data-dir',
        join(dir, 'data'),
        '--listen-client-urls',
        client,
        '--advertise-client-urls',
        client,
        '--listen-peer-urls',
        peer,
        '--initial-advertise-peer-urls',
        peer,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        clusterToken,
        // Fast elections keep failover tests short; loopback latency is tiny.
        '--heartbeat-interval',
        '50',
        '--election-timeout',
        '500',
        '--logger',
        'zap',
        '--log-outputs',
        'stderr',
      ],
      logFile: join(dir, 'etcd.log'),
      dir,
      env: { ETCD_UNSUPPORTED_ARCH: process.arch === 'x64' ? '' : process.arch },
    });
    this.name = name;
    this.clientPort = clientPort;
    this.peerPort = peerPort;
  }

  /** `127.0.0.1:port` for the etcd3 client's `hosts`. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  launch(): void {
    this.process.start();
  }

  async healthy(): Promise<boolean> {
    const res = await fetch(`${this.endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return body.health === 'true';
  }

  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await this.waitReady(`etcd member ${this.name}`, () => this.healthy(), timeoutMs);
  }

  /** Launches the member and waits until it reports healthy (needs a quorum). */
  async start(): Promise<void> {
    this.launch();
    await this.waitHealthy();
  }

  /**
   * Starts the member again with its data dir (it rejoins the cluster). It does not wait for health,
   * which needs a quorum the test may have taken away.
   */
  override async restart(): Promise<void> {
    await this.process.stop();
    this.process.start();
  }
}

/** A running etcd cluster. */
export interface EtcdCluster {
  readonly members: EtcdMember[];
  /** Client endpoints of every member. */
  readonly endpoints: string[];
  cleanup(): Promise<void>;
}

/**
 * Starts a real etcd cluster of 1 or 3 members on free loopback ports.
 *
 * @example
 * const cluster = await etcd({ members: 3 });
 * const client = new Etcd3({ hosts: cluster.endpoints });
 */
export async function etcd(options: { members?: 1 | 3 } = {}): Promise<EtcdCluster> {
  const n = options.members ?? 1;
  const ports = await freePorts(2 * n);
  const names = Array.from({ length: n }, (_, i) => `m${i + 1}`);
  const initialCluster = names
    .map((name, i) => `${name}=http://127.0.0.1:${ports[2 * i + 1]}`)
    .join(',');
  const members = names.map(
    (name, i) =>
      new EtcdMember(
        name,
        ports[2 * i]!,
        ports[2 * i + 1]!,
        tempDir(`etcd-${name}`),
        initialCluster,
        `faultline-${ports[0]}`,
      ),
  );
  const cleanup = () => Promise.all(members.map((m) => m.cleanup())).then(() => undefined);
  try {
    for (const m of members) m.launch();
    await Promise.all(members.map((m) => m.waitHealthy()));
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { members, endpoints: members.map((m) => m.endpoint), cleanup };
}

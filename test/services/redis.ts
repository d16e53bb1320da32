/** Private redis-server instances (independent, or a real Redis Cluster) for integration tests. */
import { join } from 'node:path';
import { freePorts, tcpRequest, waitUntil } from './net.js';
import { ManagedServer, findBinary, tempDir } from './process.js';

/** Encodes a command in RESP and returns the raw reply. */
export function redisCommand(port: number, ...args: string[]): Promise<string> {
  const payload = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  return tcpRequest(port, payload, 2000);
}

/** One private redis-server. */
export class RedisServer extends ManagedServer {
  readonly host = '127.0.0.1';
  readonly port: number;

  constructor(port: number, dir: string, extraArgs: readonly string[]) {
    const binary = findBinary('redis-server', 'redis-server');
    super(dir, {
      name: `redis:${port}`,
      command: binary,
      args: [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--protected-mode',
        'no',
        ...extraArgs,
      ],
      logFile: join(dir, 'redis.log'),
      dir,
    });
    this.port = port;
  }

  /** `redis://127.0.0.1:port`. */
  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  async start(): Promise<void> {
    this.process.start();
    await this.waitReady(
      `redis on port ${this.port}`,
      async () => (await redisCommand(this.port, 'PING')).startsWith('+PONG'),
      15_000,
    );
  }
}

/** A group of servers that can be cleaned up together. */
export interface RedisGroup {
  readonly servers: RedisServer[];
  cleanup(): Promise<void>;
}

async function startServers(
  n: number,
  extraArgs: (port: number, index: number) => string[],
  given?: readonly number[],
): Promise<RedisServer[]> {
  const ports = given ?? (await freePorts(n));
  const servers = ports.map(
    (port, i) => new RedisServer(port, tempDir(`redis-${port}`), extraArgs(port, i)),
  );
  try {
    await Promise.all(servers.map((s) => s.start()));
  } catch (error) {
    await Promise.all(servers.map((s) => s.cleanup()));
    throw error;
  }
  return servers;
}

/**
 * Starts `n` independent redis-server instances on free ports.
 *
 * @example
 * const { servers, cleanup } = await redis(3);
 * afterAll(cleanup);
 */
export async function redis(n = 1): Promise<RedisGroup> {
  const servers = await startServers(n, () => []);
  return {
    servers,
    cleanup: () => Promise.all(servers.map((s) => s.cleanup())).then(() => undefined),
  };
}

/**
 * Starts a real Redis Cluster of `masters` masters (no replicas), slots split evenly, and waits
 * until `cluster_state:ok` on every node.
 */
export async function redisCluster(options: { masters?: number } = {}): Promise<RedisGroup> {
  const masters = options.masters ?? 3;
  // The bus port defaults to port + 10,000, which lands in the kernel's ephemeral range, where an
  // outgoing connection can take it first ("address already in use"): draw it like the others.
  const drawn = await freePorts(2 * masters);
  const buses = drawn.slice(masters);
  const servers = await startServers(
    masters,
    (port, i) => [
      '--cluster-port',
      String(buses[i]),
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${port}.conf`,
      '--cluster-node-timeout',
      '2000',
    ],
    drawn.slice(0, masters),
  );
  const cleanup = () => Promise.all(servers.map((s) => s.cleanup())).then(() => undefined);
  try {
    const per = Math.floor(16384 / masters);
    for (let i = 0; i < masters; i++) {
      const first = i * per;
      const last = i === masters - 1 ? 16383 : first + per - 1;
      await redisCommand(servers[i]!.port, 'CLUSTER', 'ADDSLOTSRANGE', String(first), String(last));
    }
    for (let i = 1; i < masters; i++) {
      const port = String(servers[i]!.port);
      await redisCommand(servers[0]!.port, 'CLUSTER', 'MEET', '127.0.0.1', port, String(buses[i]));
    }
    await waitUntil(
      'redis cluster',
      async () => {
        for (const s of servers) {
          const info = await redisCommand(s.port, 'CLUSTER', 'INFO');
          if (
            !info.includes('cluster_state:ok') ||
            !info.includes(`cluster_known_nodes:${masters}`)
          )
            return false;
        }
        return true;
      },
      30_000,
    );
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { servers, cleanup };
}

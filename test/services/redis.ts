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
  extraArgs: (port: number) => string[],
): Promise<RedisServer[]> {
  const ports = await freePorts(n);
  const servers = ports.map(
    (port) => new RedisServer(port, tempDir(`redis-${port}`), extraArgs(port)),
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
  const servers = await startServers(masters, (port) => [
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    `nodes-${port}.conf`,
    '--cluster-node-timeout',
    '2000',
  ]);
  const cleanup = () => Promise.all(servers.map((s) => s.cleanup())).then(() => undefined);
  try {
    const per = Math.floor(16384 / masters);
    for (let i = 0; i < masters; i++) {
      const first = i * per;
      const last = i === masters - 1 ? 16383 : first + per - 1;
      await redisCommand(servers[i]!.port, 'CLUSTER', 'ADDSLOTSRANGE', String(first), String(last));
    }
    for (const s of servers.slice(1)) {
      await redisCommand(servers[0]!.port, 'CLUSTER', 'MEET', '127.0.0.1', String(s.port));
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

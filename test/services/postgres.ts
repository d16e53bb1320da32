/** Private PostgreSQL servers (initdb + postgres) for integration tests. */
import { readdirSync, existsSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './net.js';
import { ManagedServer, findBinary, giveTo, runSync, tempDir } from './process.js';

function pgBinDirs(): string[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, 'bin'));
}

/** Options of {@link postgres}. */
export interface PostgresOptions {
  /** `max_prepared_transactions` (default 10; two-phase commit needs it > 0). */
  maxPreparedTransactions?: number;
  /** Further `-c name=value` settings. */
  settings?: Readonly<Record<string, string>>;
}

/** One private PostgreSQL server, superuser `postgres`, trust auth on 127.0.0.1. */
export class PostgresServer extends ManagedServer {
  readonly host = '127.0.0.1';
  readonly user = 'postgres';
  readonly database = 'postgres';
  readonly port: number;

  constructor(port: number, dir: string, options: PostgresOptions) {
    const postgresBin = findBinary('postgres', 'postgresql', pgBinDirs());
    super(dir, {
      name: `postgres:${port}`,
      command: postgresBin,
      args: [
        '-D',
        join(dir, 'data'),
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `max_prepared_transactions=${options.maxPreparedTransactions ?? 10}`,
        '-c',
        'max_connections=200',
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
        ...Object.entries(options.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
      ],
      user: 'postgres',
      logFile: join(dir, 'postgres.log'),
      dir,
      stopSignal: 'SIGINT',
    });
    this.port = port;
  }

  /** Connection settings for `new pg.Client(...)` / `new pg.Pool(...)`. */
  get connection(): { host: string; port: number; user: string; database: string } {
    return { host: this.host, port: this.port, user: this.user, database: this.database };
  }

  get url(): string {
    return `postgres://${this.user}@${this.host}:${this.port}/${this.database}`;
  }

  /**
   * SIGKILL, then waits (bounded) until the killed postmaster's backends have exited too: they
   * stay attached to its shared memory for a moment, and a restart before that fails with
   * "pre-existing shared memory block is still in use". Backends run with the data dir as their
   * working directory, which is how they are found.
   */
  override async kill(): Promise<void> {
    await super.kill();
    const dataDir = join(this.dir, 'data');
    const inDataDir = (pid: string): boolean => {
      try {
        return readlinkSync(`/proc/${pid}/cwd`) === dataDir;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 500; i++) {
      if (!readdirSync('/proc').some((entry) => /^\d+$/.test(entry) && inDataDir(entry))) return;
      await sleep(20);
    }
    throw new Error(`backends of the killed postgres still run in ${dataDir}`);
  }

  async start(): Promise<void> {
    this.process.start();
    await this.waitReady(
      `postgres on port ${this.port}`,
      async () => {
        const client = new pg.Client({ ...this.connection, connectionTimeoutMillis: 1000 });
        try {
          await client.connect();
          await client.query('SELECT 1');
          return true;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      30_000,
    );
  }
}

/**
 * initdb's a fresh cluster in a temp dir and starts it on a free port. As root the server runs as
 * the `postgres` user (PostgreSQL refuses to run as root).
 *
 * @example
 * const server = await postgres({ maxPreparedTransactions: 20 });
 * const pool = new pg.Pool(server.connection);
 */
export async function postgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const initdb = findBinary('initdb', 'postgresql', pgBinDirs());
  const dir = tempDir('postgres');
  giveTo(dir, 'postgres');
  runSync(
    initdb,
    [
      '-D',
      join(dir, 'data'),
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
      '--no-instructions',
    ],
    'postgres',
  );
  const server = new PostgresServer(await freePort(), dir, options);
  try {
    await server.start();
  } catch (error) {
    await server.cleanup();
    throw error;
  }
  return server;
}

/** Options of {@link postgresReplica}. */
export interface PostgresReplicaOptions {
  /** `recovery_min_apply_delay` in ms (default 0): how late the replica applies each commit. */
  applyDelayMs?: number;
}

/**
 * A streaming replica of `primary`: `pg_basebackup -R` into a temp dir, then a hot standby on a
 * free port, optionally applying commits `applyDelayMs` late.
 *
 * @example
 * const primary = await postgres();
 * const replica = await postgresReplica(primary, { applyDelayMs: 30 });
 */
export async function postgresReplica(
  primary: PostgresServer,
  options: PostgresReplicaOptions = {},
): Promise<PostgresServer> {
  const basebackup = findBinary('pg_basebackup', 'postgresql', pgBinDirs());
  const dir = tempDir('postgres-replica');
  giveTo(dir, 'postgres');
  runSync(
    basebackup,
    [
      '-D',
      join(dir, 'data'),
      '-h',
      primary.host,
      '-p',
      String(primary.port),
      '-U',
      'postgres',
      '-R',
      '-X',
      'stream',
      '--no-sync',
    ],
    'postgres',
  );
  const server = new PostgresServer(await freePort(), dir, {
    settings: { recovery_min_apply_delay: `${options.applyDelayMs ?? 0}ms`, hot_standby: 'on' },
  });
  try {
    await server.start();
  } catch (error) {
    await server.cleanup();
    throw error;
  }
  return server;
}

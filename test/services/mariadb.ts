/** Private MariaDB servers for integration tests. */
import { join } from 'node:path';
import mariadbClient from 'mariadb';
import { freePort, waitUntil } from './net.js';
import { ServerProcess, findBinary, giveTo, removeTempDir, runSync, tempDir } from './process.js';

/** One private MariaDB server; user `root` with an empty password on 127.0.0.1. */
export class MariadbServer {
  readonly host = '127.0.0.1';
  readonly user = 'root';
  readonly port: number;
  readonly dir: string;
  private readonly process: ServerProcess;

  constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
    this.process = new ServerProcess({
      name: `mariadb:${port}`,
      command: findBinary('mariadbd', 'mariadb-server'),
      args: [
        '--no-defaults',
        `--datadir=${join(dir, 'data')}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(dir, 'mysqld.sock')}`,
        `--pid-file=${join(dir, 'mysqld.pid')}`,
        '--skip-name-resolve',
        '--innodb-flush-log-at-trx-commit=2',
        ...(process.getuid?.() === 0 ? ['--user=mysql'] : []),
      ],
      logFile: join(dir, 'mariadb.log'),
      dir,
    });
  }

  /** Connection settings for `mariadb.createConnection(...)`. */
  get connection(): { host: string; port: number; user: string; password: string } {
    return { host: this.host, port: this.port, user: this.user, password: '' };
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  async start(): Promise<void> {
    this.process.start();
    await waitUntil(
      `mariadb on port ${this.port}`,
      async () => {
        const conn = await mariadbClient.createConnection({
          ...this.connection,
          connectTimeout: 1000,
        });
        try {
          await conn.query('SELECT 1');
          return true;
        } finally {
          await conn.end().catch(() => undefined);
        }
      },
      60_000,
      () => this.process.logTail(),
    );
  }

  stop(): Promise<void> {
    return this.process.stop();
  }

  kill(): Promise<void> {
    return this.process.kill();
  }

  pause(): void {
    this.process.pause();
  }

  resume(): void {
    this.process.resume();
  }

  async restart(): Promise<void> {
    await this.process.stop();
    await this.start();
  }

  async cleanup(): Promise<void> {
    await this.process.stop();
    removeTempDir(this.dir);
  }
}

/**
 * Initialises a fresh data dir and starts MariaDB on a free port.
 *
 * @example
 * const server = await mariadb();
 * const conn = await mariadbClient.createConnection(server.connection);
 */
export async function mariadb(): Promise<MariadbServer> {
  const installDb = findBinary('mariadb-install-db', 'mariadb-server');
  const dir = tempDir('mariadb');
  const user = process.getuid?.() === 0 ? ['--user=mysql'] : [];
  runSync(installDb, [
    '--no-defaults',
    `--datadir=${join(dir, 'data')}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    ...user,
  ]);
  giveTo(dir, 'mysql');
  const server = new MariadbServer(await freePort(), dir);
  try {
    await server.start();
  } catch (error) {
    await server.cleanup();
    throw error;
  }
  return server;
}

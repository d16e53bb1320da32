/** Private MariaDB servers for integration tests. */
import { join } from 'node:path';
import mariadbClient from 'mariadb';
import { freePort } from './net.js';
import { ManagedServer, findBinary, giveTo, runSync, tempDir } from './process.js';

/** One private MariaDB server; user `root` with an empty password on 127.0.0.1. */
export class MariadbServer extends ManagedServer {
  readonly host = '127.0.0.1';
  readonly user = 'root';
  readonly port: number;

  constructor(port: number, dir: string) {
    super(dir, {
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
    this.port = port;
  }

  /** Connection settings for `mariadb.createConnection(...)`. */
  get connection(): { host: string; port: number; user: string; password: string } {
    return { host: this.host, port: this.port, user: this.user, password: '' };
  }

  async start(): Promise<void> {
    this.process.start();
    await this.waitReady(
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
    );
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

/**
 * Participants of the transaction tests, built from a plain description so that the crash tests'
 * child process and the test itself build the same ones.
 */
import mariadb from 'mariadb';
import pg from 'pg';
import { MariadbParticipant } from '../../src/adapters/mariadb/index.js';
import type { MariadbBranch } from '../../src/adapters/mariadb/index.js';
import { PostgresDecisionLog, PostgresParticipant } from '../../src/adapters/postgres/index.js';
import type { PostgresBranch } from '../../src/adapters/postgres/index.js';
import { TwoPhaseCommit } from '../../src/txn/index.js';
import type { Branch, Participant } from '../../src/txn/index.js';

/** How to reach one participant database. */
export type ParticipantSpec =
  | { kind: 'postgres'; name: string; url: string }
  | { kind: 'mariadb'; name: string; host: string; port: number; user: string };

/** A built participant and what closes it. */
export interface Built {
  readonly spec: ParticipantSpec;
  readonly participant: Participant;
  /** Rows of `items` with `id` (committed data only). */
  count(id: number): Promise<number>;
  /** Prepared transactions left in the database. */
  prepared(): Promise<number>;
  close(): Promise<void>;
}

/** Builds the participants of `specs`. */
export async function makeParticipants(
  specs: readonly ParticipantSpec[],
): Promise<{ participants: Built[] }> {
  const participants: Built[] = [];
  for (const spec of specs) {
    if (spec.kind === 'mariadb') {
      participants.push(mariadbParticipant(spec));
      continue;
    }
    const pool = new pg.Pool({ connectionString: spec.url, max: 4 });
    pool.on('error', () => undefined);
    participants.push({
      spec,
      participant: new PostgresParticipant({ name: spec.name, pool }),
      count: async (id) =>
        Number((await pool.query('SELECT count(*) AS n FROM items WHERE id = $1', [id])).rows[0].n),
      prepared: async () =>
        Number((await pool.query('SELECT count(*) AS n FROM pg_prepared_xacts')).rows[0].n),
      close: () => pool.end(),
    });
  }
  return { participants };
}

function mariadbParticipant(spec: ParticipantSpec & { kind: 'mariadb' }): Built {
  const pool = mariadb.createPool({
    host: spec.host,
    port: spec.port,
    user: spec.user,
    password: '',
    connectionLimit: 4,
    acquireTimeout: 5_000,
  });
  return {
    spec,
    participant: new MariadbParticipant({ name: spec.name, pool }),
    count: async (id) =>
      Number(
        (
          (await pool.query('SELECT count(*) AS n FROM shop.items WHERE id = ?', [id])) as {
            n: bigint;
          }[]
        )[0]!.n,
      ),
    prepared: async () => ((await pool.query('XA RECOVER')) as unknown[]).length,
    close: () => pool.end(),
  };
}

/** Inserts row `id` into `items` on `branch`. */
export async function insertRow(p: Built, branch: Branch, id: number): Promise<void> {
  if (p.spec.kind === 'mariadb') {
    await (branch as MariadbBranch).connection.query(
      'INSERT INTO shop.items (id, note) VALUES (?, ?)',
      [id, `from ${p.spec.name}`],
    );
    return;
  }
  await (branch as PostgresBranch).client.query('INSERT INTO items (id, note) VALUES ($1, $2)', [
    id,
    `from ${p.spec.name}`,
  ]);
}

/** Creates table `items` at a PostgreSQL url. */
export async function createItems(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, note text NOT NULL)');
  await client.end();
}

/** Creates database `shop` with table `items` on a MariaDB server. */
export async function createMariadbItems(connection: {
  host: string;
  port: number;
  user: string;
  password: string;
}): Promise<void> {
  const conn = await mariadb.createConnection(connection);
  await conn.query('CREATE DATABASE IF NOT EXISTS shop');
  await conn.query(
    'CREATE TABLE IF NOT EXISTS shop.items (id int PRIMARY KEY, note text NOT NULL) ENGINE=InnoDB',
  );
  await conn.end();
}

/**
 * The coordinator the crash tests drive: its decision log in `logPool`, bounded phase-2 retries
 * (50 ms apart) and a 5 s call timeout.
 */
export function testCoordinator(options: {
  id: string;
  logPool: pg.Pool;
  participants: readonly Participant[];
  phaseTwoAttempts: number;
}): TwoPhaseCommit {
  return new TwoPhaseCommit({
    coordinatorId: options.id,
    log: new PostgresDecisionLog({ pool: options.logPool }),
    participants: options.participants,
    phaseTwoAttempts: options.phaseTwoAttempts,
    phaseTwoBackoff: { kind: 'constant', baseMs: 50, jitter: 'none' },
    callTimeoutMs: 5_000,
  });
}

/** Row `id` at each participant, their prepared transactions, and the decision records left. */
export async function txnState(
  built: readonly Built[],
  logPool: pg.Pool,
  id: number,
): Promise<{ rows: number[]; prepared: number[]; decisions: number }> {
  const rows = await Promise.all(built.map((p) => p.count(id)));
  const prepared = await Promise.all(built.map((p) => p.prepared()));
  const result = await logPool.query<{ n: string }>(
    'SELECT count(*) AS n FROM faultline_txn_decisions',
  );
  return { rows, prepared, decisions: Number(result.rows[0]?.n) };
}

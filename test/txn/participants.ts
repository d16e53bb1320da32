/**
 * Participants of the transaction tests, built from a plain description so that the crash tests'
 * child process and the test itself build the same ones.
 */
import pg from 'pg';
import { PostgresParticipant } from '../../src/adapters/postgres/index.js';
import type { PostgresBranch } from '../../src/adapters/postgres/index.js';
import type { Branch, Participant } from '../../src/txn/index.js';

/** How to reach one participant database. */
export type ParticipantSpec = { kind: 'postgres'; name: string; url: string };

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

/** Inserts row `id` into `items` on `branch`. */
export async function insertRow(p: Built, branch: Branch, id: number): Promise<void> {
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

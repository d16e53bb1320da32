/**
 * The PostgreSQL schema of the lock backends: a lease table, a holder table for advisory locks,
 * and one sequence that issues every fencing token.
 *
 * @module
 */
import type { Pool } from 'pg';
import { rangeError } from '../../core/validate.js';

/** Names of every object the schema creates, derived from one validated base name. */
export interface SchemaNames {
  /** The lease table (one row per key, kept after release so tokens stay monotonic). */
  readonly leases: string;
  /** The advisory-lock holder table (who holds which advisory lock, for `holder()`). */
  readonly holders: string;
  /** The token sequence. */
  readonly sequence: string;
  /** The LISTEN/NOTIFY channel. */
  readonly channel: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,39}$/;

/**
 * Derives the object names from `base` (default `faultline_lock`): `<base>_leases`,
 * `<base>_holders`, `<base>_token_seq`, channel `<base>_changed`. `base` must be a lowercase SQL
 * identifier of at most 40 characters (so every derived name fits PostgreSQL's 63 bytes); it is
 * interpolated into SQL, which is why it is validated so strictly.
 */
export function schemaNames(base: string): SchemaNames {
  if (typeof base !== 'string' || !IDENTIFIER.test(base)) {
    throw rangeError(
      'schema',
      'a lowercase SQL identifier ([a-z_][a-z0-9_]*, at most 40 characters)',
      base,
    );
  }
  return {
    leases: `${base}_leases`,
    holders: `${base}_holders`,
    sequence: `${base}_token_seq`,
    channel: `${base}_changed`,
  };
}

/**
 * Creates the schema if it does not exist. Idempotent and safe to run from many processes at once
 * (it serialises itself with a transaction-scoped advisory lock). Needs CREATE privilege on the
 * current schema.
 *
 * @example
 * await ensureSchema(pool, schemaNames('faultline_lock'));
 */
export async function ensureSchema(pool: Pool, names: SchemaNames): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `faultline schema ${names.leases}`,
    ]);
    await client.query(`CREATE SEQUENCE IF NOT EXISTS ${names.sequence} AS bigint MINVALUE 1`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${names.leases} (
         key text PRIMARY KEY,
         owner text NOT NULL,
         token bigint NOT NULL CHECK (token > 0),
         expires_at timestamptz NOT NULL
       )`,
    );
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${names.holders} (
         key text PRIMARY KEY,
         owner text NOT NULL,
         token bigint NOT NULL CHECK (token > 0),
         pid integer NOT NULL,
         ttl_ms double precision NOT NULL,
         renewed_at timestamptz NOT NULL
       )`,
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Fenced row writes to PostgreSQL: one conditional `UPDATE` (or upsert) that changes the row only
 * when its fence column is not newer than the token. Answers the shared {@link FenceResult}.
 * Imports no client library: any `{ query(text, values) }` (`pg`'s `Client` and `Pool`) will do.
 *
 * @module
 */
import { rangeError } from '../../core/validate.js';
import { checkFenceToken } from '../../coord/fence.js';
import type { FenceResult } from '../../coord/fence.js';

/** The minimal PostgreSQL client this helper needs (`pg`'s `Client` and `Pool` fit). */
export interface PgQueryClient {
  query(text: string, values?: unknown[]): Promise<{ rowCount: number | null; rows: unknown[] }>;
}

/** A fenced row write: which table, which row, which columns. */
export interface PgFencedWrite {
  /** Table name, optionally schema-qualified (`jobs` or `app.jobs`); quoted as identifiers. */
  readonly table: string;
  /** The key column and its value (the row must be unique on it for the upsert form). */
  readonly keyColumn: string;
  readonly key: unknown;
  /** The `bigint` column holding the newest accepted token (default `fence`). */
  readonly fenceColumn?: string;
  /** Columns to set and their values (at least one). */
  readonly set: Readonly<Record<string, unknown>>;
  /** Insert the row when it does not exist (`INSERT ... ON CONFLICT ... DO UPDATE ... WHERE`), default false. */
  readonly upsert?: boolean;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** Quotes a (possibly schema-qualified) identifier after checking it is a plain name. */
export function quoteIdent(field: string, name: string): string {
  const parts = typeof name === 'string' ? name.split('.') : [];
  if (parts.length === 0 || parts.length > 2 || !parts.every((p) => IDENTIFIER.test(p))) {
    throw rangeError(
      field,
      'a plain SQL identifier (letters, digits, _; optionally schema.name)',
      name,
    );
  }
  return parts.map((p) => `"${p}"`).join('.');
}

/**
 * Builds the SQL of a fenced write. Parameters: `$1` the token (as text, cast to `bigint`), `$2`
 * the key, `$3...` the values of `set`. The row is changed only when its fence is ≤ the token, so
 * a stale holder's statement matches no row; `RETURNING` tells the two cases apart.
 */
export function pgFencedWriteSql(write: PgFencedWrite): { text: string; values: unknown[] } {
  const table = quoteIdent('table', write.table);
  const keyCol = quoteIdent('keyColumn', write.keyColumn);
  const fence = quoteIdent('fenceColumn', write.fenceColumn ?? 'fence');
  const cols = Object.keys(write.set);
  if (cols.length === 0) throw rangeError('set', 'an object with at least one column', '{}');
  // The fence column belongs to the helper alone: a key column or a set column of the same name
  // would let a write compare against, or overwrite, the token it is fenced by.
  if (keyCol === fence)
    throw rangeError('keyColumn', `a column other than the fence column ${fence}`, write.keyColumn);
  for (const c of cols) {
    const q = quoteIdent(`set.${c}`, c);
    if (q === fence || q === keyCol)
      throw rangeError(
        `set.${c}`,
        `a column other than the key and fence columns (${keyCol}, ${fence})`,
        c,
      );
  }
  const quoted = cols.map((c) => quoteIdent(`set.${c}`, c));
  const values = cols.map((c) => write.set[c]);
  if (write.upsert === true) {
    const params = quoted.map((_, i) => `$${i + 3}`).join(', ');
    const updates = quoted.map((q) => `${q} = EXCLUDED.${q}`).join(', ');
    const text =
      `INSERT INTO ${table} (${keyCol}, ${fence}, ${quoted.join(', ')}) VALUES ($2, $1::bigint, ${params}) ` +
      `ON CONFLICT (${keyCol}) DO UPDATE SET ${fence} = EXCLUDED.${fence}, ${updates} ` +
      `WHERE ${table}.${fence} <= EXCLUDED.${fence} RETURNING ${fence}`;
    return { text, values: [null, write.key, ...values] };
  }
  const sets = quoted.map((q, i) => `${q} = $${i + 3}`).join(', ');
  const text =
    `UPDATE ${table} SET ${fence} = $1::bigint, ${sets} ` +
    `WHERE ${keyCol} = $2 AND ${fence} <= $1::bigint RETURNING ${fence}`;
  return { text, values: [null, write.key, ...values] };
}

/**
 * Runs a fenced write. `accepted` when the row was written; `stale` when a newer token already
 * wrote (or, without `upsert`, when the row does not exist: `current` is then undefined).
 *
 * @example
 * const r = await pgFencedWrite(pool, lease.token, {
 *   table: 'reports', keyColumn: 'id', key: 42, set: { body: text },
 * });
 * assertAccepted('reports/42', r);
 */
export async function pgFencedWrite(
  client: PgQueryClient,
  token: bigint,
  write: PgFencedWrite,
): Promise<FenceResult> {
  checkFenceToken(token);
  const { text, values } = pgFencedWriteSql(write);
  values[0] = token.toString();
  const result = await client.query(text, values);
  if ((result.rowCount ?? result.rows.length) > 0) return { kind: 'accepted', token };
  const fence = quoteIdent('fenceColumn', write.fenceColumn ?? 'fence');
  const probe = await client.query(
    `SELECT ${fence}::text AS fence FROM ${quoteIdent('table', write.table)} WHERE ${quoteIdent('keyColumn', write.keyColumn)} = $1`,
    [write.key],
  );
  const row = probe.rows[0] as { fence?: unknown } | undefined;
  const current =
    row?.fence === undefined || row.fence === null ? undefined : BigInt(String(row.fence));
  return { kind: 'stale', token, current };
}

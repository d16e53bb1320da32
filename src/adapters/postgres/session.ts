/**
 * Read-your-writes and monotonic reads on PostgreSQL streaming replicas: faultline's
 * {@link SessionRouter} with WAL positions as session tokens, over one `pg.Pool` per server.
 *
 * @module
 */
import type { Pool, PoolClient } from 'pg';
import type { Runtime } from '../../core/runtime.js';
import { rangeError } from '../../core/validate.js';
import { SessionRouter, SessionToken } from '../../txn/session.js';
import type { RoutedRead, ServedRead } from '../../txn/session.js';

/** Parses a PostgreSQL LSN (`16/B374D848`) into a 64-bit position. */
export function parseLsn(text: string): bigint {
  const match =
    typeof text === 'string' ? /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text) : null;
  if (match === null) throw rangeError('lsn', 'an LSN like 16/B374D848', text);
  return (BigInt(`0x${match[1] ?? '0'}`) << 32n) | BigInt(`0x${match[2] ?? '0'}`);
}

/** Options of a {@link PostgresReadRouter}. */
export interface PostgresReadRouterOptions {
  /** The primary's pool (writes, and reads no replica can serve in time). */
  primary: Pool;
  /** One pool per streaming replica. */
  replicas: readonly Pool[];
  /** How long a read may wait for a replica to replay the session's position, in ms (default 0). */
  maxWaitMs?: number;
  /** Pause between rounds over the replicas while waiting, in ms (default 10). */
  pollMs?: number;
  runtime?: Runtime;
}

/**
 * Routes each session's reads to a replica that has replayed the session's writes
 * (`pg_last_wal_replay_lsn()` at least the `pg_current_wal_insert_lsn()` read after the session's
 * last COMMIT), else to the primary.
 *
 * @example
 * const router = new PostgresReadRouter({ primary: primaryPool, replicas: [replicaPool], maxWaitMs: 50 });
 * const session = router.session(request.cookies.pgpos); // undefined: a new session
 * await session.write((c) => c.query('UPDATE users SET name = $1 WHERE id = $2', [name, id]));
 * const { value } = await session.read((c) => c.query('SELECT name FROM users WHERE id = $1', [id]));
 * response.cookie('pgpos', session.token.toString());
 */
export class PostgresReadRouter {
  readonly router: SessionRouter<Pool>;
  private readonly primary: Pool;

  constructor(options: PostgresReadRouterOptions) {
    if (typeof options.primary?.connect !== 'function')
      throw rangeError('primary', 'a pg Pool', options.primary);
    for (const r of options.replicas ?? [])
      if (typeof r?.connect !== 'function') throw rangeError('replicas', 'pg Pools', r);
    this.primary = options.primary;
    this.router = new SessionRouter<Pool>({
      primary: options.primary,
      replicas: options.replicas,
      ...(options.maxWaitMs === undefined ? {} : { maxWaitMs: options.maxWaitMs }),
      ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
      ...(options.runtime === undefined ? {} : { runtime: options.runtime }),
    });
  }

  /** A session, new or resumed from a token's text (`pos:<hex>`). */
  session(token?: string): PostgresSession {
    return new PostgresSession(
      this.primary,
      this.router,
      token === undefined ? new SessionToken() : SessionToken.parse(token),
    );
  }
}

/** One client's session: its writes raise its token, its reads never go below it. */
export class PostgresSession {
  constructor(
    private readonly primary: Pool,
    private readonly router: SessionRouter<Pool>,
    readonly token: SessionToken,
  ) {}

  /** Runs `fn` in a transaction on the primary; after COMMIT the session observes the WAL position. */
  async write<R>(fn: (client: PoolClient) => Promise<R>): Promise<R> {
    const client = await this.primary.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const value = await fn(client);
      await client.query('COMMIT');
      const { rows } = await client.query<{ lsn: string }>(
        'SELECT pg_current_wal_insert_lsn()::text AS lsn',
      );
      this.token.observe(parseLsn(rows[0]?.lsn ?? ''));
      return value;
    } catch (error) {
      broken = true;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** Runs `fn` in a read-only snapshot on a server that has the session's writes. */
  read<R>(fn: (client: PoolClient) => Promise<R>, signal?: AbortSignal): Promise<RoutedRead<R>> {
    return this.router.read(this.token, (pool, token) => readOn(pool, token, fn), signal);
  }
}

const POSITION =
  'SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END)::text AS lsn';

function positionOf(result: { rows: { lsn?: string | null }[] } | undefined): bigint {
  const lsn = result?.rows[0]?.lsn;
  return lsn === null || lsn === undefined ? 0n : parseLsn(lsn);
}

/**
 * Reads the server's position, then opens a REPEATABLE READ snapshot and reads the position again
 * as its first statement (two round trips; PostgreSQL refuses to set the isolation level after
 * a statement in the same query string). The snapshot holds at least everything up to the
 * first position (taken before it: the read-your-writes check) and nothing past the second (taken
 * after it: what the session observes, for monotonic reads). `fn` runs only when the first
 * position reaches `token`. (Checking inside the snapshot alone is not enough: a commit replayed
 * between the snapshot and the check would pass the check and be missing from the read, which the
 * integration test caught.)
 */
async function readOn<R>(
  pool: Pool,
  token: bigint,
  fn: (client: PoolClient) => Promise<R>,
): Promise<ServedRead<R>> {
  const client = await pool.connect();
  let broken = false;
  try {
    const before = positionOf(await client.query<{ lsn: string | null }>(POSITION));
    if (before < token) return { kind: 'behind', position: before };
    const results = (await client.query(
      `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; ${POSITION}`,
    )) as unknown as { rows: { lsn?: string | null }[] }[];
    const after = positionOf(results[1]);
    const value = await fn(client);
    await client.query('COMMIT');
    return { kind: 'read', value, position: after };
  } catch (error) {
    broken = true;
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * A distributed deadlock across a real PostgreSQL server and a real MariaDB server: T1 holds a row
 * in PostgreSQL and waits for a row in MariaDB, T2 holds that MariaDB row and waits for T1's
 * PostgreSQL row. Each database sees one wait and no cycle, so neither breaks it; the wait-for
 * edges read from both (`pg_locks` via `pg_blocking_pids`, `INNODB_LOCK_WAITS`), mapped to global
 * transaction ids, show the cycle, and the `DeadlockMonitor` polling both confirms it on a second
 * reading, cancels the victim's wait, and lets the other commit.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import mariadbClient from 'mariadb';
import type { Connection } from 'mariadb';
import pg from 'pg';
import { cancelMariadbWait, mariadbWaitForEdges } from '../../src/adapters/mariadb/index.js';
import { cancelPostgresWait, postgresWaitForEdges } from '../../src/adapters/postgres/index.js';
import { DeadlockMonitor, findDeadlocks, isDeadlockError } from '../../src/deadlock/index.js';
import type {
  DeadlockError,
  DeadlockMonitorEvent,
  FoundDeadlock,
  WaitForEdge,
} from '../../src/deadlock/index.js';
import { mariadb, postgres, waitUntil } from '../services/index.js';
import type { MariadbServer, PostgresServer } from '../services/index.js';

let pgServer: PostgresServer;
let maria: MariadbServer;
let pgMonitor: pg.Pool;
let mariaMonitor: Connection;
const open: GlobalTxn[] = [];

/** One global transaction: a session on each database, and the error it gets if chosen as victim. */
class GlobalTxn {
  victimError: DeadlockError | undefined;
  /** The database's error behind the victim's abort (the cancelled wait). */
  cancelled: unknown;
  private constructor(
    readonly id: string,
    readonly pg: pg.Client,
    readonly maria: Connection,
    readonly pgPid: number,
    readonly mariaThread: number,
  ) {}

  static async begin(id: string): Promise<GlobalTxn> {
    const pgClient = new pg.Client({ connectionString: pgServer.url });
    pgClient.on('error', () => undefined);
    await pgClient.connect();
    const conn = await mariadbClient.createConnection({ ...maria.connection, database: 'shop' });
    const [{ pid }] = (await pgClient.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))
      .rows as [{ pid: number }];
    const [{ thread }] = (await conn.query('SELECT CONNECTION_ID() AS thread')) as [
      { thread: number | bigint },
    ];
    // Bounds, so that a broken detector fails the test instead of hanging it.
    await pgClient.query("SET lock_timeout = '30s'");
    await conn.query('SET SESSION innodb_lock_wait_timeout = 30');
    await pgClient.query('BEGIN');
    await conn.query('BEGIN');
    const txn = new GlobalTxn(id, pgClient, conn, pid, Number(thread));
    open.push(txn);
    return txn;
  }

  /**
   * Runs one statement of the transaction; if the detector chose it as a victim meanwhile, rolls
   * back both sides and fails with the detector's DeadlockError instead of the database's error.
   */
  async step<T>(statement: () => Promise<T>): Promise<T> {
    try {
      return await statement();
    } catch (error) {
      if (this.victimError === undefined) throw error;
      this.cancelled = error;
      await this.rollback();
      throw this.victimError;
    }
  }

  async commit(): Promise<void> {
    // Two one-phase commits are enough here: the test is about the deadlock, not atomicity.
    await this.pg.query('COMMIT');
    await this.maria.query('COMMIT');
  }

  async rollback(): Promise<void> {
    await this.pg.query('ROLLBACK').catch(() => undefined);
    await this.maria.query('ROLLBACK').catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.rollback();
    await this.pg.end().catch(() => undefined);
    await this.maria.end().catch(() => undefined);
  }
}

function globalIds(txns: readonly GlobalTxn[]) {
  return {
    pg: (pid: number) => txns.find((t) => t.pgPid === pid)?.id,
    maria: (thread: number) => txns.find((t) => t.mariaThread === thread)?.id,
  };
}

async function edgesOf(
  txns: readonly GlobalTxn[],
): Promise<{ pg: WaitForEdge[]; maria: WaitForEdge[] }> {
  const ids = globalIds(txns);
  const [pgEdges, mariaEdges] = await Promise.all([
    postgresWaitForEdges(pgMonitor, { globalIdOf: ids.pg }),
    mariadbWaitForEdges(mariaMonitor, { globalIdOf: ids.maria }),
  ]);
  return { pg: pgEdges, maria: mariaEdges };
}

/** Polls both databases until `expected` edges show, at most 20 s (real servers, real time). */
async function waitForEdges(txns: readonly GlobalTxn[], expected: number) {
  for (let i = 0; i < 134; i++) {
    const edges = await edgesOf(txns);
    if (edges.pg.length + edges.maria.length >= expected) return edges;
    await new Promise((resolve) => setTimeout(resolve, 150)); // > InnoDB's 100 ms (see below)
  }
  throw new Error(`fewer than ${expected} wait-for edges after 20 s`);
}

/** Tells the victim it was chosen and cancels its waits: the monitor's `cancel`. */
function cancelVictim(txns: readonly GlobalTxn[]) {
  return async (d: FoundDeadlock): Promise<void> => {
    const victim = txns.find((t) => t.id === d.victim);
    if (victim === undefined) throw new Error(`no transaction ${d.victim}`);
    victim.victimError = d.error;
    for (const wait of d.victimWaits)
      if (wait.source === 'postgres') await cancelPostgresWait(pgMonitor, wait.waiterSession);
      else await cancelMariadbWait(mariaMonitor, wait.waiterSession);
  };
}

/** The detector over both databases, polling every 50 ms; its events are collected in `events`. */
function startMonitor(txns: readonly GlobalTxn[], events: DeadlockMonitorEvent[]) {
  const ids = globalIds(txns);
  const monitor = new DeadlockMonitor({
    sources: [
      () => postgresWaitForEdges(pgMonitor, { globalIdOf: ids.pg }),
      () => mariadbWaitForEdges(mariaMonitor, { globalIdOf: ids.maria }),
    ],
    cancel: cancelVictim(txns),
    // InnoDB refreshes its lock tables' snapshot only when nobody read them for 100 ms: a reader
    // polling faster than that keeps reading the same stale snapshot.
    intervalMs: 150,
    // Above InnoDB's 100 ms refresh of its lock tables, so a stale edge cannot fake a cycle.
    confirmMs: 150,
  });
  monitor.onEvent((e) => events.push(e));
  return monitor;
}

beforeAll(async () => {
  [pgServer, maria] = await Promise.all([postgres(), mariadb()]);
  pgMonitor = new pg.Pool({ connectionString: pgServer.url, max: 2 });
  pgMonitor.on('error', () => undefined);
  await pgMonitor.query('CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL)');
  mariaMonitor = await mariadbClient.createConnection(maria.connection);
  await mariaMonitor.query('CREATE DATABASE shop');
  await mariaMonitor.query(
    'CREATE TABLE shop.stock (id int PRIMARY KEY, owner varchar(16) NOT NULL) ENGINE=InnoDB',
  );
});

afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
  await pgMonitor.query('TRUNCATE accounts');
  await mariaMonitor.query('DELETE FROM shop.stock');
});

afterAll(async () => {
  await pgMonitor?.end().catch(() => undefined);
  await mariaMonitor?.end().catch(() => undefined);
  await Promise.all([pgServer?.cleanup(), maria?.cleanup()]);
});

async function seedRows(): Promise<void> {
  await pgMonitor.query("INSERT INTO accounts VALUES (1, 'nobody')");
  await mariaMonitor.query("INSERT INTO shop.stock VALUES (1, 'nobody')");
}

describe('a deadlock across PostgreSQL and MariaDB', () => {
  it('is invisible to each database, found in the union of their waits, and broken by aborting the victim', async () => {
    await seedRows();
    const t1 = await GlobalTxn.begin('T1');
    const t2 = await GlobalTxn.begin('T2');
    await t1.step(() => t1.pg.query("UPDATE accounts SET owner = 'T1' WHERE id = 1"));
    await t2.step(() => t2.maria.query("UPDATE stock SET owner = 'T2' WHERE id = 1"));
    // T1 now waits in MariaDB for T2, and T2 in PostgreSQL for T1.
    const t1Wait = t1.step(() => t1.maria.query("UPDATE stock SET owner = 'T1' WHERE id = 1"));
    const t2Wait = t2.step(() => t2.pg.query("UPDATE accounts SET owner = 'T2' WHERE id = 1"));
    t1Wait.catch(() => undefined);
    t2Wait.catch(() => undefined);

    const edges = await waitForEdges([t1, t2], 2);
    expect(edges.pg.map((e) => [e.waiter, e.holder])).toEqual([['T2', 'T1']]);
    expect(edges.maria.map((e) => [e.waiter, e.holder])).toEqual([['T1', 'T2']]);
    // Neither database alone holds a cycle: each sees one wait.
    expect(findDeadlocks(edges.pg)).toEqual([]);
    expect(findDeadlocks(edges.maria)).toEqual([]);

    // The monitor confirms the cycle on a reading at least 150 ms after it first saw it (after
    // InnoDB's 100 ms snapshot of its lock tables was refreshed), then cancels the victim's wait.
    const events: DeadlockMonitorEvent[] = [];
    await using monitor = startMonitor([t1, t2], events);
    await waitUntil('the monitor broke the deadlock', async () => monitor.broken === 1, 10_000);
    const broken = events.filter((e) => e.kind === 'broken');
    expect(broken).toHaveLength(1);
    const found = broken[0]?.kind === 'broken' ? broken[0] : undefined;
    expect(found?.seenMs).toBeGreaterThanOrEqual(150);
    expect([found?.deadlock.victim, found?.deadlock.cycle]).toEqual(['T2', ['T2', 'T1']]);
    expect(found?.deadlock.victimWaits.map((w) => [w.source, w.waiterSession])).toEqual([
      ['postgres', t2.pgPid],
    ]);
    expect(events.find((e) => e.kind === 'suspected')).toMatchObject({ cycle: ['T2', 'T1'] });
    expect(events.filter((e) => e.kind === 'source-failed' || e.kind === 'cancel-failed')).toEqual(
      [],
    );

    const victim = await t2Wait.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isDeadlockError(victim)).toBe(true);
    expect(isDeadlockError(victim) && [victim.code, victim.victim, victim.cycle]).toEqual([
      'FAULTLINE_DEADLOCK',
      'T2',
      ['T2', 'T1'],
    ]);
    // PostgreSQL did not break it (that would be 40P01): the detector cancelled the wait.
    expect((t2.cancelled as { code?: string }).code).toBe('57014');
    // The survivor's MariaDB wait is granted once the victim rolled back; it commits both sides.
    await t1Wait;
    await t1.commit();
    expect((await pgMonitor.query('SELECT owner FROM accounts WHERE id = 1')).rows).toEqual([
      { owner: 'T1' },
    ]);
    expect(await mariaMonitor.query('SELECT owner FROM shop.stock WHERE id = 1')).toEqual([
      { owner: 'T1' },
    ]);
    // No wait is left (InnoDB's lock tables are a snapshot refreshed at most every 100 ms).
    let left: Awaited<ReturnType<typeof edgesOf>> | undefined;
    await waitUntil(
      'no wait-for edge left',
      async () => {
        // Reads more than 100 ms apart, so InnoDB refreshes its snapshot (see the monitor above).
        await new Promise((resolve) => setTimeout(resolve, 150));
        left = await edgesOf([t1, t2]);
        if (left.pg.length + left.maria.length === 0) return true;
        throw new Error(`left: ${JSON.stringify(left)}`);
      },
      // Room for a loaded CI machine: the victim's rollback and InnoDB's snapshot refresh.
      30_000,
    );
  });

  it('reports a plain wait as an edge and no deadlock: nobody is aborted', async () => {
    await seedRows();
    const t1 = await GlobalTxn.begin('T1');
    const t2 = await GlobalTxn.begin('T2');
    await t1.step(() => t1.pg.query("UPDATE accounts SET owner = 'T1' WHERE id = 1"));
    await t1.step(() => t1.maria.query("UPDATE stock SET owner = 'T1' WHERE id = 1"));
    const t2Wait = t2.step(() => t2.maria.query("UPDATE stock SET owner = 'T2' WHERE id = 1"));
    const events: DeadlockMonitorEvent[] = [];
    await using monitor = startMonitor([t1, t2], events);
    const edges = await waitForEdges([t1, t2], 1);
    expect(edges.maria.map((e) => [e.waiter, e.holder, e.source])).toEqual([
      ['T2', 'T1', 'mariadb'],
    ]);
    // A few readings of the monitor see the wait and no cycle.
    const after = monitor.readings + 5;
    await waitUntil('five more readings', async () => monitor.readings >= after, 10_000);
    expect(monitor.broken).toBe(0);
    expect(events).toEqual([]);
    await t1.commit();
    await t2Wait;
    await t2.commit();
    expect(await mariaMonitor.query('SELECT owner FROM shop.stock WHERE id = 1')).toEqual([
      { owner: 'T2' },
    ]);
  });
});

/**
 * `txn`: the same transfer (take 1 from an account in database A, give 1 to an account in
 * database B) as two-phase commit, as a saga and as TCC, on private servers from the test harness
 * (two PostgreSQL; and PostgreSQL + MariaDB for 2PC over XA), in the same run. Each round runs
 * every design in turn for TRANSFERS transfers from CONCURRENCY concurrent clients over random
 * accounts, and reports throughput and the p50 and p99 of a transfer's latency; the table gives the
 * medians of the rounds. `plain` is the reference: two autocommit updates, no atomicity at all.
 * Every design writes its log or fence with `synchronous_commit` on; the harness runs PostgreSQL
 * with `fsync=off`, so the figures are the protocols' round trips, not the disks'.
 */
import { performance } from 'node:perf_hooks';
import mariadbDriver from 'mariadb';
import pg from 'pg';
import type * as PostgresModule from '../src/adapters/postgres/index.js';
import type * as MariadbModule from '../src/adapters/mariadb/index.js';
import type * as TxnModule from '../src/txn/index.js';
import { mariadb, postgres } from '../test/services/index.js';
import type { BenchContext, BenchRow, BenchSuite } from './types.js';
import { compiled, median } from './util.js';

const TRANSFERS = 400;
const CONCURRENCY = 8;
const ROUNDS = 5;
/** Transfers per design before the measured rounds (connections, plans, caches warm). */
const WARM_UP = 100;
const ACCOUNTS = 1000;

type Transfer = (from: number, to: number) => Promise<void>;

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))]!;
}

async function setupPostgres(pool: pg.Pool): Promise<void> {
  await pool.query(
    `CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL, frozen bigint NOT NULL DEFAULT 0,
       incoming bigint NOT NULL DEFAULT 0)`,
  );
  await pool.query(
    'INSERT INTO accounts (id, balance) SELECT g, 1000000 FROM generate_series(1, $1) g',
    [ACCOUNTS],
  );
  await pool.query('CREATE TABLE saga_steps (key text PRIMARY KEY)');
}

/** A saga step that applies once per key: the step's marker and its update in one statement. */
function sagaStep(pool: pg.Pool, sql: string) {
  return async (key: string, id: number): Promise<void> => {
    await pool.query(
      `WITH marker AS (INSERT INTO saga_steps (key) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1)
       ${sql} AND EXISTS (SELECT 1 FROM marker)`,
      [key, id],
    );
  };
}

interface Designs {
  readonly transfers: Record<string, Transfer>;
  close(): Promise<void>;
}

async function designs(a: pg.Pool, b: pg.Pool, maria: unknown): Promise<Designs> {
  const pgMod = await compiled<typeof PostgresModule>('adapters/postgres/index.js');
  const mariaMod = await compiled<typeof MariadbModule>('adapters/mariadb/index.js');
  const txn = await compiled<typeof TxnModule>('txn/index.js');
  const decisions = new pgMod.PostgresDecisionLog({ pool: a });
  await decisions.ensureSchema();
  const sagaLog = new pgMod.PostgresSagaLog({ pool: a });
  await sagaLog.ensureSchema();
  const fenceA = new pgMod.PostgresTccFenceStore({ pool: a });
  const fenceB = new pgMod.PostgresTccFenceStore({ pool: b });
  await fenceA.ensureSchema();
  await fenceB.ensureSchema();

  // Two-phase commit, PostgreSQL + PostgreSQL and PostgreSQL + MariaDB (XA).
  const pa = new pgMod.PostgresParticipant({ name: 'a', pool: a });
  const pb = new pgMod.PostgresParticipant({ name: 'b', pool: b });
  const mb = new mariaMod.MariadbParticipant({
    name: 'm',
    pool: maria as MariadbModule.MariadbParticipantOptions['pool'],
  });
  const twoPc = new txn.TwoPhaseCommit({
    coordinatorId: 'bench2pc',
    log: decisions,
    participants: [pa, pb, mb],
  });
  const debit2pc = async (tx: TxnModule.TxnScope, from: number): Promise<void> => {
    const branch = await tx.enlist(pa);
    await branch.client.query('UPDATE accounts SET balance = balance - 1 WHERE id = $1', [from]);
  };

  // The saga: debit at A, then credit at B, each step idempotent by its key.
  const debit = sagaStep(a, 'UPDATE accounts SET balance = balance - 1 WHERE id = $2');
  const undoDebit = sagaStep(a, 'UPDATE accounts SET balance = balance + 1 WHERE id = $2');
  const credit = sagaStep(b, 'UPDATE accounts SET balance = balance + 1 WHERE id = $2');
  const undoCredit = sagaStep(b, 'UPDATE accounts SET balance = balance - 1 WHERE id = $2');
  type Move = { from: number; to: number };
  const transfer: TxnModule.SagaDefinition<Move> = {
    name: 'transfer',
    steps: [
      {
        name: 'debit',
        run: ({ key, input }) => debit(key, input.from),
        compensate: ({ key, input }) => undoDebit(`undo:${key}`, input.from),
      },
      {
        name: 'credit',
        run: ({ key, input }) => credit(key, input.to),
        compensate: ({ key, input }) => undoCredit(`undo:${key}`, input.to),
      },
    ],
  };
  const sagas = new txn.SagaOrchestrator({
    orchestratorId: 'benchsaga',
    log: sagaLog,
    definitions: [transfer as TxnModule.SagaDefinition<never>],
  });

  // TCC: Try freezes the amount at A and announces it at B; Confirm spends and credits.
  const update = (sql: string) => async (db: pg.PoolClient, input: { id: number }) => {
    await db.query(sql, [input.id]);
  };
  const payer = new txn.TccResource<pg.PoolClient, { id: number }>({
    name: 'payer',
    store: fenceA,
    actions: {
      try: update('UPDATE accounts SET balance = balance - 1, frozen = frozen + 1 WHERE id = $1'),
      confirm: update('UPDATE accounts SET frozen = frozen - 1 WHERE id = $1'),
      cancel: update(
        'UPDATE accounts SET balance = balance + 1, frozen = frozen - 1 WHERE id = $1',
      ),
    },
  });
  const payee = new txn.TccResource<pg.PoolClient, { id: number }>({
    name: 'payee',
    store: fenceB,
    actions: {
      try: update('UPDATE accounts SET incoming = incoming + 1 WHERE id = $1'),
      confirm: update(
        'UPDATE accounts SET incoming = incoming - 1, balance = balance + 1 WHERE id = $1',
      ),
      cancel: update('UPDATE accounts SET incoming = incoming - 1 WHERE id = $1'),
    },
  });
  const tcc = new txn.TccCoordinator({
    coordinatorId: 'benchtcc',
    log: decisions,
    participants: [payer, payee] as TxnModule.TccParticipant<never>[],
  });

  const transfers: Record<string, Transfer> = {
    plain: async (from, to) => {
      await a.query('UPDATE accounts SET balance = balance - 1 WHERE id = $1', [from]);
      await b.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [to]);
    },
    'faultline/2pc': async (from, to) => {
      await twoPc.transaction(async (tx) => {
        await debit2pc(tx, from);
        const branch = await tx.enlist(pb);
        await branch.client.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [to]);
      });
    },
    'faultline/2pc-mariadb': async (from, to) => {
      await twoPc.transaction(async (tx) => {
        await debit2pc(tx, from);
        const branch = await tx.enlist(mb);
        await branch.connection.query(
          'UPDATE bench.accounts SET balance = balance + 1 WHERE id = ?',
          [to],
        );
      });
    },
    'faultline/saga': async (from, to) => {
      await sagas.run('transfer', { from, to });
    },
    'faultline/tcc': async (from, to) => {
      await tcc.transaction([txn.tccBranch(payer, { id: from }), txn.tccBranch(payee, { id: to })]);
    },
  };
  return { transfers, close: () => twoPc.close() };
}

/** One round of one design: TRANSFERS transfers from CONCURRENCY clients. */
async function round(
  transfer: Transfer,
  transfers = TRANSFERS,
): Promise<{ opsPerSec: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < transfers) {
        next++;
        const from = 1 + Math.floor(Math.random() * ACCOUNTS);
        const to = 1 + Math.floor(Math.random() * ACCOUNTS);
        const t0 = performance.now();
        await transfer(from, to);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsedMs = performance.now() - start;
  return {
    opsPerSec: (latencies.length / elapsedMs) * 1000,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
  };
}

async function run(ctx: BenchContext): Promise<BenchRow[]> {
  ctx.log('starting two PostgreSQL servers and one MariaDB server');
  const [serverA, serverB, serverM] = await Promise.all([
    postgres({ maxPreparedTransactions: 64 }),
    postgres({ maxPreparedTransactions: 64 }),
    mariadb(),
  ]);
  const a = new pg.Pool({ ...serverA.connection, max: 3 * CONCURRENCY });
  const b = new pg.Pool({ ...serverB.connection, max: 3 * CONCURRENCY });
  a.on('error', () => undefined);
  b.on('error', () => undefined);
  const maria = mariadbDriver.createPool({
    host: serverM.host,
    port: serverM.port,
    user: serverM.user,
    password: '',
    connectionLimit: 2 * CONCURRENCY,
  });
  let built: Designs | undefined;
  try {
    await setupPostgres(a);
    await setupPostgres(b);
    await maria.query('CREATE DATABASE bench');
    await maria.query(
      'CREATE TABLE bench.accounts (id int PRIMARY KEY, balance bigint NOT NULL) ENGINE=InnoDB',
    );
    await maria.query('INSERT INTO bench.accounts SELECT seq, 1000000 FROM bench.seq_1_to_1000');
    built = await designs(a, b, maria);
    const samples: Record<string, { opsPerSec: number[]; p50: number[]; p99: number[] }> = {};
    for (const transfer of Object.values(built.transfers)) await round(transfer, WARM_UP);
    for (let r = 0; r < ROUNDS; r++)
      for (const [impl, transfer] of Object.entries(built.transfers)) {
        const result = await round(transfer);
        const s = (samples[impl] ??= { opsPerSec: [], p50: [], p99: [] });
        s.opsPerSec.push(result.opsPerSec);
        s.p50.push(result.p50);
        s.p99.push(result.p99);
        ctx.log(
          `round ${r + 1} ${impl}: ${result.opsPerSec.toFixed(0)} transfers/s, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms`,
        );
      }
    await checkBalances(a, b);
    const rows: BenchRow[] = [];
    for (const [impl, s] of Object.entries(samples)) {
      const c = impl === 'faultline/2pc-mariadb' ? 'transfer PG+MariaDB' : 'transfer PG+PG';
      rows.push({ case: c, impl, metric: 'throughput', value: median(s.opsPerSec), unit: 'ops/s' });
      rows.push({ case: c, impl, metric: 'p50', value: median(s.p50), unit: 'ms' });
      rows.push({ case: c, impl, metric: 'p99', value: median(s.p99), unit: 'ms' });
    }
    return rows;
  } finally {
    await built?.close();
    await a.end();
    await b.end();
    await maria.end();
    await Promise.all([serverA.cleanup(), serverB.cleanup(), serverM.cleanup()]);
  }
}

/** Nothing is left frozen or announced: every TCC transfer was confirmed, not left half done. */
async function checkBalances(a: pg.Pool, b: pg.Pool): Promise<void> {
  const left = async (pool: pg.Pool): Promise<number> =>
    Number((await pool.query('SELECT sum(frozen) + sum(incoming) AS n FROM accounts')).rows[0].n);
  const held = (await left(a)) + (await left(b));
  if (held !== 0) throw new Error(`${held} units left frozen or incoming after the TCC rounds`);
}

const suite: BenchSuite = {
  name: 'txn',
  description: `txn: a transfer between two databases, ${TRANSFERS} per round from ${CONCURRENCY} clients, harness PostgreSQL x2 (+ MariaDB for 2PC over XA); medians of ${ROUNDS} rounds after a warm-up`,
  run,
};
export default suite;

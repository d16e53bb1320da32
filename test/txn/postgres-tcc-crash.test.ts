/**
 * TCC on a real PostgreSQL server with the coordinator process SIGKILLed at every step: inside the
 * first branch's Try, between the Tries, after the last Try, after the decision, inside and
 * between the Confirms, and inside and between the Cancels. A restarted coordinator's `recover()`
 * then settles both branches the same way (all confirmed or all cancelled), leaves nothing
 * reserved and no decision record, and a Try that arrives late (the dead coordinator's message,
 * delivered after recovery) reserves nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { TccCoordinator, isTccHangingTryError } from '../../src/txn/index.js';
import { postgres } from '../services/index.js';
import type { PostgresServer } from '../services/index.js';
import { runTccChild } from './crash.js';
import {
  BRANCHES,
  DECISION_TABLE,
  INITIAL,
  rowOf,
  createTccTables,
  tccSetup,
} from './tcc-resources.js';
import type { BranchName } from './tcc-resources.js';

let server: PostgresServer;
let pool: pg.Pool;
const signal = new AbortController().signal;

beforeAll(async () => {
  server = await postgres();
  pool = new pg.Pool({ ...server.connection, max: 8 });
  pool.on('error', () => undefined);
  await createTccTables(pool);
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await server?.cleanup();
});

/** Inserts case `index`'s two rows, each with INITIAL free. */
async function seed(index: number): Promise<void> {
  await pool.query('INSERT INTO tcc_crash VALUES ($1, $3, 0, 0), ($2, $3, 0, 0)', [
    rowOf(index, 'payer'),
    rowOf(index, 'stock'),
    INITIAL,
  ]);
}

async function rows(
  index: number,
): Promise<Record<BranchName, { free: number; frozen: number; spent: number }>> {
  const r = await pool.query('SELECT id, free, frozen, spent FROM tcc_crash WHERE id IN ($1, $2)', [
    rowOf(index, 'payer'),
    rowOf(index, 'stock'),
  ]);
  const of = (b: BranchName) => {
    const { free, frozen, spent } = r.rows.find((x) => x.id === rowOf(index, b));
    return { free, frozen, spent };
  };
  return { payer: of('payer'), stock: of('stock') };
}

async function fenceStates(gid: string): Promise<Record<string, string>> {
  const r = await pool.query(
    'SELECT branch_id, state FROM faultline_tcc_fence WHERE gid = $1 ORDER BY branch_id',
    [gid],
  );
  return Object.fromEntries(r.rows.map((x) => [x.branch_id, x.state]));
}

const AMOUNT = 10;
const ok = { payer: AMOUNT, stock: AMOUNT };
/** The stock branch's Try asks for more than there is: it fails, and the transaction cancels. */
const declined = { payer: AMOUNT, stock: INITIAL + 1 };

const cases = [
  { killAt: 'in-try:payer', first: 'stock', amounts: ok, end: 'cancelled' },
  { killAt: 'tried:payer', first: 'payer', amounts: ok, end: 'cancelled' },
  { killAt: 'tried:stock', first: 'payer', amounts: ok, end: 'cancelled' },
  { killAt: 'decided', first: 'payer', amounts: ok, end: 'confirmed' },
  { killAt: 'in-confirm:payer', first: 'payer', amounts: ok, end: 'confirmed' },
  { killAt: 'confirmed:payer', first: 'payer', amounts: ok, end: 'confirmed' },
  { killAt: 'in-cancel:payer', first: 'payer', amounts: declined, end: 'cancelled' },
  { killAt: 'cancelled:payer', first: 'payer', amounts: declined, end: 'cancelled' },
  { killAt: 'none', first: 'payer', amounts: ok, end: 'confirmed' },
] as const;

// The cases have their own rows and coordinator ids, so they run side by side.
describe.concurrent('TCC on PostgreSQL with the coordinator SIGKILLed', () => {
  cases.forEach(({ killAt, first, amounts, end }, i) => {
    const label = amounts === declined ? ' (a Try fails)' : '';
    it(`ends ${end} at both branches when killed at ${killAt}${label}`, async () => {
      const coordinatorId = `tcc-${i}`;
      await seed(i);
      const rowsOfCase = { payer: rowOf(i, 'payer'), stock: rowOf(i, 'stock') };
      const config = { url: server.url, coordinatorId, killAt, first, amounts, rows: rowsOfCase };
      const run = await runTccChild(config);
      expect(run.gid, run.stderr).toMatch(new RegExp(`^${coordinatorId}\\.`));
      if (killAt === 'none') expect([run.code, run.acknowledged], run.stderr).toEqual([0, true]);
      else expect([run.signal, run.acknowledged], run.stderr).toEqual(['SIGKILL', false]);
      const gid = run.gid!;

      const { log, resources, participants } = tccSetup(pool);
      const restarted = new TccCoordinator({ coordinatorId, log, participants });
      const report = await restarted.recover();
      expect(report.failed).toEqual([]);
      // A second pass finds nothing left to do.
      expect(await restarted.recover()).toMatchObject({ confirmed: 0, cancelled: 0, forgotten: 0 });

      const state = end === 'confirmed' ? 'confirmed' : 'cancelled';
      expect(await fenceStates(gid)).toEqual({ payer: state, stock: state });
      const spent = end === 'confirmed' ? AMOUNT : 0;
      const settled = { free: INITIAL - spent, frozen: 0, spent };
      expect(await rows(i)).toEqual({ payer: settled, stock: settled });
      for (const b of BRANCHES)
        expect(await resources[b].pending(`${coordinatorId}.`, signal)).toEqual([]);
      const records = await pool.query(
        `SELECT count(*)::int AS n FROM ${DECISION_TABLE} WHERE gid LIKE $1`,
        [`${coordinatorId}.%`],
      );
      expect(records.rows[0].n).toBe(0);

      // The dead coordinator's Try arrives late: refused after a Cancel, a no-op after a Confirm.
      for (const b of BRANCHES) {
        const late = await resources[b]
          .try(gid, { amount: AMOUNT, row: rowsOfCase[b] }, signal)
          .catch((e: unknown) => e);
        if (end === 'cancelled')
          expect(isTccHangingTryError(late), `${b}: ${String(late)}`).toBe(true);
        else expect(late).toBe('duplicate');
      }
      expect(await rows(i)).toEqual({ payer: settled, stock: settled });
    });
  });
});

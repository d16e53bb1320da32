/**
 * Two-phase commit across two real PostgreSQL servers: the coordinator process is SIGKILLed at
 * every step, a database is SIGKILLed during phase 2, and after restart and recovery both
 * databases agree, nothing acknowledged is lost and no prepared transaction is left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PostgresDecisionLog, PostgresParticipant } from '../../src/adapters/postgres/index.js';
import { isTxnAbortedError } from '../../src/txn/index.js';
import type { Participant } from '../../src/txn/index.js';
import { postgres } from '../services/index.js';
import type { PostgresServer } from '../services/index.js';
import { runCoordinatorChild } from './crash.js';
import {
  createItems,
  insertRow,
  makeParticipants,
  testCoordinator,
  txnState,
} from './participants.js';
import type { Built, ParticipantSpec } from './participants.js';

let a: PostgresServer;
let b: PostgresServer;
let logPool: pg.Pool;
let built: Built[];
let specs: ParticipantSpec[];

beforeAll(async () => {
  [a, b] = await Promise.all([postgres(), postgres()]);
  await Promise.all([createItems(a.url), createItems(b.url)]);
  logPool = new pg.Pool({ connectionString: a.url, max: 4 });
  logPool.on('error', () => undefined);
  await new PostgresDecisionLog({ pool: logPool }).ensureSchema();
  specs = [
    { kind: 'postgres', name: 'accounts', url: a.url },
    { kind: 'postgres', name: 'stock', url: b.url },
  ];
  built = (await makeParticipants(specs)).participants;
});

afterAll(async () => {
  for (const p of built ?? []) await p.close().catch(() => undefined);
  await logPool?.end().catch(() => undefined);
  await Promise.all([a?.cleanup(), b?.cleanup()]);
});

function coordinator(
  id: string,
  participants: readonly Participant[] = built.map((p) => p.participant),
) {
  return testCoordinator({ id, logPool, participants, phaseTwoAttempts: 2 });
}

function state(id: number) {
  return txnState(built, logPool, id);
}

describe('two-phase commit on PostgreSQL', () => {
  it('commits at both databases, and a failing branch rolls both back', async () => {
    const c = coordinator('pg-ok');
    const result = await c.transaction(async (tx) => {
      for (const p of built) await insertRow(p, await tx.enlist(p.participant), 1);
    });
    expect(result.unfinished).toEqual([]);
    expect(await state(1)).toEqual({ rows: [1, 1], prepared: [0, 0], decisions: 0 });
    // Row 1 exists in both: the second branch's insert fails, so the body throws and both roll back.
    const error = await c
      .transaction(async (tx) => {
        await insertRow(built[0]!, await tx.enlist(built[0]!.participant), 2);
        await insertRow(built[1]!, await tx.enlist(built[1]!.participant), 1);
      })
      .catch((e: unknown) => e);
    expect(isTxnAbortedError(error)).toBe(true);
    expect(await state(2)).toEqual({ rows: [0, 0], prepared: [0, 0], decisions: 0 });
  });

  // `settled`: the prepared branches recovery must commit or roll back after the kill.
  const killPoints = [
    { killAt: 'preparing:accounts', committed: false, settled: 0, what: 'before prepare' },
    { killAt: 'prepared:accounts', committed: false, settled: 1, what: 'between the prepares' },
    {
      killAt: 'prepared:stock',
      committed: false,
      settled: 2,
      what: 'after both prepared, before the decision',
    },
    { killAt: 'decided', committed: true, settled: 2, what: 'right after the decision' },
    { killAt: 'committed:accounts', committed: true, settled: 1, what: 'during phase 2' },
    { killAt: 'none', committed: true, settled: 0, what: 'never (the transaction completes)' },
  ];
  killPoints.forEach(({ killAt, committed, settled, what }, i) => {
    it(`converges when the coordinator is SIGKILLed ${what}`, async () => {
      const id = 100 + i;
      const coordinatorId = `crash-${i}`;
      const run = await runCoordinatorChild({
        coordinatorId,
        logUrl: a.url,
        id,
        killAt,
        participants: specs,
      });
      if (killAt === 'none') {
        expect(run.code, run.stderr).toBe(0);
        expect(run.acknowledged).toBe(true);
      } else {
        expect(run.signal, run.stderr).toBe('SIGKILL');
        expect(run.acknowledged).toBe(false);
      }
      expect(run.gid).toMatch(new RegExp(`^${coordinatorId}\\.[0-9a-f]{32}$`));
      // The restarted coordinator recovers; afterwards both databases agree.
      const report = await coordinator(coordinatorId).recover();
      expect(report.failed).toEqual([]);
      expect(committed ? report.committed : report.rolledBack).toBe(settled);
      expect(committed ? report.rolledBack : report.committed).toBe(0);
      const n = committed ? 1 : 0;
      expect(await state(id)).toEqual({ rows: [n, n], prepared: [0, 0], decisions: 0 });
    });
  });

  it('completes phase 2 after a database is SIGKILLed during it and restarted', async () => {
    let killed = false;
    const stock = built[1]!.participant;
    const killing: Participant = {
      name: stock.name,
      begin: (gid, s) => stock.begin(gid, s),
      rollbackPrepared: (gid, s) => stock.rollbackPrepared(gid, s),
      listPrepared: (prefix, s) => stock.listPrepared(prefix, s),
      commitPrepared: async (gid, s) => {
        if (!killed) {
          killed = true;
          await b.kill();
        }
        return stock.commitPrepared(gid, s);
      },
    };
    const c = coordinator('pg-dbkill', [built[0]!.participant, killing]);
    const result = await c.transaction(async (tx) => {
      await insertRow(built[0]!, await tx.enlist(built[0]!.participant), 200);
      await insertRow(built[1]!, await tx.enlist(killing), 200);
    });
    // Acknowledged: the decision is durable, though the stock database has not committed yet.
    expect(result.unfinished).toEqual(['stock']);
    expect(await built[0]!.count(200)).toBe(1);
    await b.start();
    const report = await c.recover();
    expect(report).toEqual({ committed: 1, rolledBack: 0, forgotten: 1, failed: [] });
    expect(await state(200)).toEqual({ rows: [1, 1], prepared: [0, 0], decisions: 0 });
  });

  it('a gid that is not prepared counts as settled (idempotent phase 2)', async () => {
    const p = new PostgresParticipant({ name: 'x', pool: logPool });
    await p.commitPrepared('nobody.0123456789abcdef0123456789abcdef');
    await p.rollbackPrepared('nobody.0123456789abcdef0123456789abcdef');
    expect(await p.listPrepared('nobody.')).toEqual([]);
  });
});

/**
 * Two-phase commit across a real PostgreSQL server (decision log and one participant) and a real
 * MariaDB server (an XA participant): the coordinator process is SIGKILLed at every step, MariaDB
 * is SIGKILLed during phase 2, and after restart and recovery both databases agree, nothing
 * acknowledged is lost, and neither `pg_prepared_xacts` nor `XA RECOVER` lists anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool as MariadbPool } from 'mariadb';
import pg from 'pg';
import { MariadbParticipant } from '../../src/adapters/mariadb/index.js';
import { PostgresDecisionLog } from '../../src/adapters/postgres/index.js';
import { TwoPhaseCommit } from '../../src/txn/index.js';
import type { Participant } from '../../src/txn/index.js';
import { mariadb, postgres } from '../services/index.js';
import type { MariadbServer, PostgresServer } from '../services/index.js';
import { runCoordinatorChild } from './crash.js';
import {
  createItems,
  createMariadbItems,
  insertRow,
  makeParticipants,
  testCoordinator,
  txnState,
} from './participants.js';
import type { Built, ParticipantSpec } from './participants.js';

let pgServer: PostgresServer;
let maria: MariadbServer;
let logPool: pg.Pool;
let built: Built[];
let specs: ParticipantSpec[];

beforeAll(async () => {
  [pgServer, maria] = await Promise.all([postgres(), mariadb()]);
  await Promise.all([createItems(pgServer.url), createMariadbItems(maria.connection)]);
  logPool = new pg.Pool({ connectionString: pgServer.url, max: 4 });
  logPool.on('error', () => undefined);
  await new PostgresDecisionLog({ pool: logPool }).ensureSchema();
  specs = [
    { kind: 'postgres', name: 'accounts', url: pgServer.url },
    { kind: 'mariadb', name: 'stock', host: maria.host, port: maria.port, user: maria.user },
  ];
  built = (await makeParticipants(specs)).participants;
});

afterAll(async () => {
  for (const p of built ?? []) await p.close().catch(() => undefined);
  await logPool?.end().catch(() => undefined);
  await Promise.all([pgServer?.cleanup(), maria?.cleanup()]);
});

function coordinator(
  id: string,
  participants: readonly Participant[] = built.map((p) => p.participant),
) {
  return testCoordinator({ id, logPool, participants, phaseTwoAttempts: 5 });
}

function state(id: number) {
  return txnState(built, logPool, id);
}

describe('two-phase commit across PostgreSQL and MariaDB XA', () => {
  it('commits at both, many times in a row (phase 2 waits for the XA session to detach)', async () => {
    const c = coordinator('mix-ok');
    for (let id = 1; id <= 20; id++) {
      const result = await c.transaction(async (tx) => {
        for (const p of built) await insertRow(p, await tx.enlist(p.participant), id);
      });
      expect(result.unfinished).toEqual([]);
    }
    for (let id = 1; id <= 20; id++)
      expect(await state(id)).toEqual({ rows: [1, 1], prepared: [0, 0], decisions: 0 });
  });

  it('rolls back both when the MariaDB branch fails', async () => {
    const c = coordinator('mix-no');
    await expect(
      c.transaction(async (tx) => {
        await insertRow(built[0]!, await tx.enlist(built[0]!.participant), 50);
        await insertRow(built[1]!, await tx.enlist(built[1]!.participant), 1); // duplicate key
      }),
    ).rejects.toThrow(/aborted/);
    expect(await state(50)).toEqual({ rows: [0, 0], prepared: [0, 0], decisions: 0 });
  });

  const killPoints = [
    { killAt: 'preparing:stock', committed: false, settled: 1, what: 'between the prepares' },
    {
      killAt: 'prepared:stock',
      committed: false,
      settled: 2,
      what: 'after both prepared, before the decision',
    },
    { killAt: 'decided', committed: true, settled: 2, what: 'right after the decision' },
    { killAt: 'committed:accounts', committed: true, settled: 1, what: 'during phase 2' },
  ];
  killPoints.forEach(({ killAt, committed, settled, what }, i) => {
    it(`converges when the coordinator is SIGKILLed ${what}`, async () => {
      const id = 100 + i;
      const coordinatorId = `mixcrash-${i}`;
      const run = await runCoordinatorChild({
        coordinatorId,
        logUrl: pgServer.url,
        id,
        killAt,
        participants: specs,
      });
      expect(run.signal, run.stderr).toBe('SIGKILL');
      expect(run.acknowledged).toBe(false);
      const report = await coordinator(coordinatorId).recover();
      expect(report.failed).toEqual([]);
      expect(committed ? report.committed : report.rolledBack).toBe(settled);
      const n = committed ? 1 : 0;
      expect(await state(id)).toEqual({ rows: [n, n], prepared: [0, 0], decisions: 0 });
    });
  });

  it('completes phase 2 after MariaDB is SIGKILLed during it and restarted (XA prepared survives)', async () => {
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
          await maria.kill();
        }
        return stock.commitPrepared(gid, s);
      },
    };
    const c = new TwoPhaseCommit({
      coordinatorId: 'mix-dbkill',
      log: new PostgresDecisionLog({ pool: logPool }),
      participants: [built[0]!.participant, killing],
      phaseTwoAttempts: 2,
      phaseTwoBackoff: { kind: 'constant', baseMs: 50, jitter: 'none' },
      callTimeoutMs: 5_000,
    });
    const result = await c.transaction(async (tx) => {
      await insertRow(built[0]!, await tx.enlist(built[0]!.participant), 200);
      await insertRow(built[1]!, await tx.enlist(killing), 200);
    });
    expect(result.unfinished).toEqual(['stock']);
    await maria.start();
    const report = await c.recover();
    expect(report).toEqual({ committed: 1, rolledBack: 0, forgotten: 1, failed: [] });
    expect(await state(200)).toEqual({ rows: [1, 1], prepared: [0, 0], decisions: 0 });
  });

  it('refuses a pool that is not one, naming the field', () => {
    expect(() => new MariadbParticipant({ name: 'x', pool: {} as MariadbPool })).toThrow(
      /pool must be a mariadb Pool/,
    );
  });
});

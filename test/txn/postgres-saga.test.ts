/**
 * Sagas on a real PostgreSQL server: the orchestrator process is SIGKILLed at every step, forward
 * and while compensating, and a restarted orchestrator's resume() ends every saga all or nothing
 * with nothing left in the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PostgresSagaLog } from '../../src/adapters/postgres/index.js';
import { SagaOrchestrator } from '../../src/txn/index.js';
import type { SagaDefinition } from '../../src/txn/index.js';
import { postgres } from '../services/index.js';
import type { PostgresServer } from '../services/index.js';
import { runSagaChild } from './crash.js';
import { bookedRows, createStepTables, tripSaga } from './saga-steps.js';

let server: PostgresServer;
let pool: pg.Pool;

beforeAll(async () => {
  server = await postgres();
  pool = new pg.Pool({ ...server.connection, max: 4 });
  pool.on('error', () => undefined);
  await new PostgresSagaLog({ pool }).ensureSchema();
  await createStepTables(pool);
});

afterAll(async () => {
  await pool?.end();
  await server?.cleanup();
});

function orchestrator(id: string): SagaOrchestrator {
  return new SagaOrchestrator({
    orchestratorId: id,
    log: new PostgresSagaLog({ pool }),
    definitions: [tripSaga(pool) as SagaDefinition<never>],
    retry: { maxAttempts: 2, backoff: { kind: 'constant', baseMs: 10, jitter: 'none' } },
  });
}

async function logRows(): Promise<number> {
  return Number((await pool.query('SELECT count(*) AS n FROM faultline_saga_log')).rows[0].n);
}

describe('sagas on PostgreSQL', () => {
  const cases = [
    { killAt: 'started:flight', declined: false, end: 'completed' },
    { killAt: 'done:flight', declined: false, end: 'completed' },
    { killAt: 'started:card', declined: false, end: 'completed' },
    { killAt: 'done:card', declined: false, end: 'completed' },
    { killAt: 'failed:card', declined: true, end: 'compensated' },
    { killAt: 'compensated:hotel', declined: true, end: 'compensated' },
    { killAt: 'none', declined: true, end: 'compensated' },
  ] as const;
  cases.forEach(({ killAt, declined, end }, i) => {
    it(`ends all or nothing when the orchestrator is SIGKILLed at ${killAt}${declined ? ' (card declined)' : ''}`, async () => {
      const orchestratorId = `saga-${i}`;
      const run = await runSagaChild({ url: server.url, orchestratorId, killAt, declined });
      expect(run.gid, run.stderr).toMatch(new RegExp(`^${orchestratorId}\\.[0-9a-f]{32}$`));
      if (killAt === 'none') expect(run.code, run.stderr).toBe(0);
      else expect(run.signal, run.stderr).toBe('SIGKILL');
      const report = await orchestrator(orchestratorId).resume();
      const resumed = killAt === 'none' ? 0 : 1;
      expect(report).toEqual({
        completed: end === 'completed' ? resumed : 0,
        compensated: end === 'compensated' ? resumed : 0,
        stuck: 0,
      });
      const n = end === 'completed' ? 1 : 0;
      expect(await bookedRows(pool, run.gid!)).toEqual([n, n, n]);
      expect(await logRows()).toBe(0);
    });
  });

  it('compensates in reverse order in one process', async () => {
    const o = orchestrator('saga-inproc');
    const order: string[] = [];
    o.onEvent((e) => {
      if (e.kind === 'compensated') order.push(e.step);
    });
    await expect(o.run('trip', { declined: true })).rejects.toThrow(/failed at step "card"/);
    expect(order).toEqual(['card', 'hotel', 'flight']);
    expect(await logRows()).toBe(0);
  });
});

/**
 * A saga orchestrator process for the crash tests: runs one trip saga on PostgreSQL and SIGKILLs
 * itself at the event named on the command line (`<kind>` or `<kind>:<step>`, or `none`).
 *
 * Usage: `saga-child.ts <config-json>` with `{ url, orchestratorId, killAt, declined }`. Prints
 * `SAGA <id>` when the saga starts and `DONE <outcome>` when it ends.
 */
import pg from 'pg';
import { PostgresSagaLog } from '../../src/adapters/postgres/index.js';
import { SagaOrchestrator, isSagaCompensatedError } from '../../src/txn/index.js';
import type { SagaDefinition } from '../../src/txn/index.js';
import { tripSaga } from './saga-steps.js';

const config = JSON.parse(process.argv[2] ?? '{}') as {
  url: string;
  orchestratorId: string;
  killAt: string;
  declined: boolean;
};
const pool = new pg.Pool({ connectionString: config.url, max: 4 });
const orchestrator = new SagaOrchestrator({
  orchestratorId: config.orchestratorId,
  log: new PostgresSagaLog({ pool }),
  definitions: [tripSaga(pool) as SagaDefinition<never>],
  retry: { maxAttempts: 1 },
});
orchestrator.onEvent((e) => {
  if (e.kind === 'started' && e.index === 0) process.stdout.write(`SAGA ${e.sagaId}\n`);
  const name = 'step' in e ? `${e.kind}:${e.step}` : e.kind;
  if (name === config.killAt || e.kind === config.killAt) process.kill(process.pid, 'SIGKILL');
});
try {
  await orchestrator.run('trip', { declined: config.declined });
  process.stdout.write('DONE completed\n');
} catch (error) {
  process.stdout.write(`DONE ${isSagaCompensatedError(error) ? 'compensated' : String(error)}\n`);
}
process.exit(0);

/**
 * A coordinator process for the crash tests: runs one two-phase transaction that inserts row `id`
 * into table `items` at every participant, and SIGKILLs itself at the step named on the command
 * line (the real thing: no cleanup, no finally, connections cut by the kernel).
 *
 * Usage: `coordinator-child.ts <config-json>` with `{ coordinatorId, logUrl, id, killAt,
 * participants: [{ kind: 'postgres', name, url } | { kind: 'mariadb', name, host, port, user, database }] }`.
 * `killAt` is `<step kind>` or `<step kind>:<participant>`, or `none`. Prints `GID <gid>` from the
 * transaction's body and `ACK <gid>` once it is acknowledged.
 */
import pg from 'pg';
import { PostgresDecisionLog } from '../../src/adapters/postgres/index.js';
import { TwoPhaseCommit } from '../../src/txn/index.js';
import { makeParticipants, insertRow } from './participants.js';
import type { ParticipantSpec } from './participants.js';

interface Config {
  coordinatorId: string;
  logUrl: string;
  id: number;
  killAt: string;
  participants: ParticipantSpec[];
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
const logPool = new pg.Pool({ connectionString: config.logUrl, max: 2 });
const { participants } = await makeParticipants(config.participants);
const coordinator = new TwoPhaseCommit({
  coordinatorId: config.coordinatorId,
  log: new PostgresDecisionLog({ pool: logPool }),
  participants: participants.map((p) => p.participant),
});
coordinator.onStep((step) => {
  const name = 'participant' in step ? `${step.kind}:${step.participant}` : step.kind;
  if (name === config.killAt || step.kind === config.killAt) process.kill(process.pid, 'SIGKILL');
});
const result = await coordinator.transaction(async (tx) => {
  process.stdout.write(`GID ${tx.gid}\n`);
  for (const p of participants) await insertRow(p, await tx.enlist(p.participant), config.id);
});
process.stdout.write(`ACK ${result.gid}\n`);
process.exit(0);

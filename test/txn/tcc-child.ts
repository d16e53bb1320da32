/**
 * A TCC coordinator process for the crash tests: runs one transaction over the `payer` and
 * `stock` branches (tcc-resources.ts) and SIGKILLs itself at the point named on the command line.
 *
 * Usage: `tcc-child.ts <config-json>` with `{ url, coordinatorId, killAt, first, amounts, rows }`.
 * `killAt` is a step (`<kind>` or `<kind>:<branch>`, e.g. `tried:payer`, `decided`), a point
 * inside an action's transaction after its statement (`in-<action>:<branch>`, e.g.
 * `in-try:payer`), or `none`. To make every run take the same path, the branch other than `first`
 * starts each action only after `first`'s action of the same phase has finished (an empty Cancel,
 * of a branch whose Try failed, runs no action and so is not held back: it races with the kill). `amounts` gives
 * each branch's Try amount (a Try beyond the 100 available fails). Prints `GID <gid>` as soon as
 * the gid is known and `ACK <outcome>` when the transaction ends.
 */
import pg from 'pg';
import { TccCoordinator, isTxnAbortedError, tccBranch } from '../../src/txn/index.js';
import { BRANCHES, tccSetup } from './tcc-resources.js';
import type { Action, BranchName } from './tcc-resources.js';

interface Config {
  url: string;
  coordinatorId: string;
  killAt: string;
  first: BranchName;
  amounts: Record<BranchName, number>;
  rows: Record<BranchName, number>;
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
const pool = new pg.Pool({ connectionString: config.url, max: 4 });
pool.on('error', () => undefined);
const done = new Map<string, () => void>();
const finished = new Map<string, Promise<void>>();
for (const action of ['try', 'confirm', 'cancel'] as const) {
  finished.set(action, new Promise<void>((resolve) => done.set(action, resolve)));
}
const stepAction: Record<string, Action> = {
  tried: 'try',
  'try-failed': 'try',
  confirmed: 'confirm',
  cancelled: 'cancel',
};

let printed = false;
const printGid = (gid: string): void => {
  if (!printed) process.stdout.write(`GID ${gid}\n`);
  printed = true;
};
const { resources, participants, log } = tccSetup(pool, async (branch, action, when, gid) => {
  printGid(gid);
  if (when === 'before' && branch !== config.first) await finished.get(action);
  if (when === 'after' && config.killAt === `in-${action}:${branch}`)
    process.kill(process.pid, 'SIGKILL');
});
const coordinator = new TccCoordinator({
  coordinatorId: config.coordinatorId,
  log,
  participants,
  phaseTwoAttempts: 1,
});
coordinator.onStep((step) => {
  printGid(step.gid);
  const name = 'participant' in step ? `${step.kind}:${step.participant}` : step.kind;
  if (name === config.killAt || step.kind === config.killAt) process.kill(process.pid, 'SIGKILL');
  const action = stepAction[step.kind];
  if (action !== undefined && 'participant' in step && step.participant === config.first)
    done.get(action)?.();
});
const branches = BRANCHES.map((b) =>
  tccBranch(resources[b], { amount: config.amounts[b], row: config.rows[b] }),
);
try {
  await coordinator.transaction(branches);
  process.stdout.write('ACK confirmed\n');
} catch (error) {
  process.stdout.write(`ACK ${isTxnAbortedError(error) ? 'cancelled' : String(error)}\n`);
}
await pool.end();
process.exit(0);

/**
 * FLP in practice: five Paxos proposers start at once. Without back-off each pre-empts the others
 * with a higher ballot and a run can go on without deciding; with randomized back-off (partial
 * synchrony) one proposer gets a quiet moment and the value is decided.
 *
 * @module
 */
import { FLP_HORIZON_MS, flpWorkload, runPaxos } from '../../protocols/paxos/sim.js';
import type { LabContext, Scenario, VariantOutcome } from '../types.js';

async function run(context: LabContext, backoff: boolean): Promise<VariantOutcome> {
  const sim = context.simulation();
  const outcome = await runPaxos({
    sim,
    variant: backoff ? 'correct' : 'duelling',
    ...flpWorkload(5),
    note: (node, text) => context.note(node, text),
  });
  const first = outcome.violations[0];
  const figures = {
    decided: outcome.decided ? 1 : 0,
    decisionMs: outcome.decisionMs,
    ballots: outcome.ballots,
  };
  if (first === undefined) return { violated: false, figures };
  return {
    violated: true,
    evidence: {
      timeMs: first.timeMs,
      summary: first.summary,
      operations: [`${outcome.ballots} ballots started by 5 proposers, none decided`],
      ...(first.traceIndex === undefined ? {} : { traceIndex: first.traceIndex }),
    },
    figures,
  };
}

/** The flp-duelling scenario. */
export const flpDuelling: Scenario = {
  name: 'flp-duelling',
  title: 'FLP in practice: duelling proposers',
  problem:
    'No deterministic protocol can guarantee that an asynchronous system with one possible crash ' +
    'decides (Fischer, Lynch & Paterson). In Paxos it shows as duelling proposers: each new ' +
    'ballot pre-empts the other’s, and nothing is chosen for as long as the duel lasts.',
  reference:
    'Fischer, Lynch & Paterson, “Impossibility of Distributed Consensus with One Faulty Process” ' +
    '(JACM 1985); Dwork, Lynch & Stockmeyer, “Consensus in the Presence of Partial Synchrony” (1988)',
  property: `A value is chosen and learned by every node within ${FLP_HORIZON_MS} ms of virtual time (liveness; safety is checked too).`,
  api: [
    "import { PaxosNode } from 'faultline/paxos';",
    "new PaxosNode({ id, peers, value, random, backoff: 'randomized', backoffTicks: 10 });",
  ].join('\n'),
  figures: [
    { name: 'decided', label: 'decided in time', unit: 'share', better: 'higher', key: true },
    { name: 'decisionMs', label: 'decision time', unit: 'ms', better: 'lower', key: true },
    { name: 'ballots', label: 'ballots started', unit: '', better: 'lower' },
  ],
  variants: {
    unsafe: {
      summary: 'A proposer whose ballot is rejected retries at once with a higher ballot.',
      run: (context) => run(context, false),
    },
    safe: {
      summary:
        'A rejected proposer waits a random time from a window that doubles with each failure.',
      run: (context) => run(context, true),
    },
  },
};

/**
 * Paxos with and without durable acceptor state: a value is chosen, two of three acceptors crash
 * and restart, and a proposer that missed the decision runs a new ballot. Acceptors that kept
 * their promise and accepted proposal on disk make it re-propose the chosen value; acceptors that
 * forgot let it choose a second value.
 *
 * @module
 */
import { runPaxos } from '../../protocols/paxos/sim.js';
import type { PaxosVariant } from '../../protocols/paxos/sim.js';
import type { LabContext, Scenario, VariantOutcome } from '../types.js';

async function run(context: LabContext, variant: PaxosVariant): Promise<VariantOutcome> {
  const sim = context.simulation();
  const random = sim.random.fork('paxos-durable-promise');
  // n1 proposes at once; n3 proposes late, after n2 and n3 crashed and restarted while n1 was
  // cut off (so nobody who remembers the decision answers n3).
  const crashAtMs = 40 + random.int(20);
  const outcome = await runPaxos({
    sim,
    variant,
    nodes: 3,
    proposers: 3,
    startTicks: [0, 10_000, 30 + random.int(30)],
    faults: [
      { atMs: crashAtMs - 5, fault: { kind: 'isolate', node: 'n1', durationMs: 200 } },
      { atMs: crashAtMs, fault: { kind: 'crash', node: 'n2', restartAfterMs: 5 + random.int(15) } },
      {
        atMs: crashAtMs + random.int(5),
        fault: { kind: 'crash', node: 'n3', restartAfterMs: 5 + random.int(15) },
      },
    ],
    horizonMs: 600,
    note: (node, text) => context.note(node, text),
  });
  const first = outcome.violations[0];
  return {
    violated: first !== undefined,
    ...(first === undefined
      ? {}
      : {
          evidence: {
            timeMs: first.timeMs,
            summary: first.summary,
            operations: first.operations.length > 0 ? first.operations : [first.summary],
            ...(first.traceIndex === undefined ? {} : { traceIndex: first.traceIndex }),
          },
        }),
    figures: {
      valuesChosen: outcome.valuesChosen,
      ballots: outcome.ballots,
      messages: outcome.messages,
    },
  };
}

/** The paxos-durable-promise scenario. */
export const paxosDurablePromise: Scenario = {
  name: 'paxos-durable-promise',
  title: 'Paxos with and without durable promises',
  problem:
    'A Paxos acceptor’s promise (“I will accept no lower ballot”) and the proposal it accepted are ' +
    'what let the next proposer find a chosen value. An acceptor that keeps them only in memory ' +
    'forgets them in a crash, and a later ballot can choose a second value.',
  reference:
    'Lamport, “Paxos Made Simple” (2001); Chandra, Griesemer & Redstone, “Paxos Made Live” (PODC 2007)',
  property:
    'At most one value is chosen (accepted by a majority at one ballot), and every value a node ' +
    'learns is the chosen one: checked outside the protocol from the acceptors’ accepted messages.',
  api: [
    "import { PaxosNode } from 'faultline/paxos';",
    "const node = new PaxosNode({ id: 'n1', peers, value: 'x', random }, await disk.load());",
    'node.step(from, message);',
    'const { persist, messages } = node.ready();',
    'if (persist) await disk.saveAndSync(persist); // before any message leaves',
    'for (const m of messages) transport.send(m.to, m.message);',
    'node.advance();',
  ].join('\n'),
  figures: [
    { name: 'valuesChosen', label: 'values chosen', unit: 'values', better: 'lower', key: true },
    { name: 'ballots', label: 'ballots started', unit: '', better: 'none', key: true },
    { name: 'messages', label: 'messages sent', unit: 'messages', better: 'none' },
  ],
  variants: {
    unsafe: {
      summary: 'Acceptors keep their promise and accepted proposal in memory only.',
      run: (context) => run(context, 'no-durable-promise'),
    },
    safe: {
      summary: 'Acceptors persist (fsync) their promise and accepted proposal before replying.',
      run: (context) => run(context, 'correct'),
    },
  },
};

/**
 * TCC's hanging Try: an order reserves money and goods with a Try at two services; a Try slowed
 * down on the network misses the coordinator's deadline, so the coordinator cancels the order,
 * and the Cancel overtakes the Try. Without a fence table the Cancel finds nothing to release and
 * the late Try then reserves for good; with faultline's fence table the Cancel is recorded and
 * the late Try is refused.
 *
 * @module
 */
import type { LabContext, Scenario, VariantOutcome } from '../types.js';
import { TCC_CALL_TIMEOUT_MS, TCC_NETWORK } from '../txn/tcc-protocol.js';
import { runTccWorkload } from '../txn/tcc-workload.js';
import type { TccMode } from '../txn/tcc-workload.js';
import { short } from '../txn/resource.js';

const WORKLOAD_MS = 1_000;
const HORIZON_MS = 1_600;

async function run(context: LabContext, mode: TccMode): Promise<VariantOutcome> {
  const sim = context.simulation({ network: TCC_NETWORK });
  const result = await runTccWorkload({
    sim,
    mode,
    refuseProbability: 0.1,
    callTimeoutMs: context.knobs['callTimeoutMs'] ?? TCC_CALL_TIMEOUT_MS,
    workloadMs: WORKLOAD_MS,
    horizonMs: HORIZON_MS,
    note: (node, text) => context.note(node, text),
  });
  const first = result.first;
  const figures = {
    stuckReservations: result.stuck,
    hangingTriesRefused: result.hangingRefused,
    transactions: result.transactions,
    confirmed: result.confirmed,
  };
  if (first === undefined) return { violated: false, figures };
  const what =
    first.kind === 'stuck'
      ? `still reserves for ${short(first.gid)}, which was cancelled`
      : first.kind === 'double-confirm'
        ? `confirmed ${short(first.gid)} twice`
        : `confirmed ${short(first.gid)}, which the other service cancelled`;
  return {
    violated: true,
    evidence: {
      timeMs: sim.nowMs,
      summary: `${first.service} ${what}`,
      node: first.service,
      traceIndex: context.note(first.service, `checker: ${what}`),
      operations: [`${short(first.gid)} at ${first.service}: ${first.kind}`],
    },
    figures,
  };
}

/** The tcc-hanging-try scenario. */
export const tccHangingTry: Scenario = {
  name: 'tcc-hanging-try',
  title: 'TCC hanging Try (without vs with the fence table)',
  problem:
    'A TCC order reserves at two services and then confirms or cancels both. When a Try is slow ' +
    'the coordinator times out and cancels; the Cancel can overtake the Try, find nothing to ' +
    'release, and the late Try then reserves money and goods that nobody will ever confirm or cancel.',
  reference:
    'Pat Helland, “Life beyond Distributed Transactions” (CIDR 2007); Seata TCC mode and its ' +
    'tcc_fence_log table (empty rollback, hanging prevention, idempotency)',
  property:
    'No reservation is left at the end of the run: every order is confirmed or cancelled at both ' +
    'services, and each Confirm applies once (read from the services’ disks, outside the TCC code).',
  standIn:
    'The coordinator and the branch logic are faultline’s TccCoordinator and TccResource; the ' +
    'fence table lives on each simulated service’s disk instead of PostgreSQL.',
  api: [
    "import { TccCoordinator, TccResource, tccBranch } from 'faultline/txn';",
    "import { PostgresTccFenceStore, PostgresDecisionLog } from 'faultline/postgres';",
    "const stock = new TccResource({ name: 'stock', store: new PostgresTccFenceStore({ pool }), actions });",
    "const tcc = new TccCoordinator({ coordinatorId: 'orders-1', log, participants: [account, stock] });",
    'await tcc.transaction([tccBranch(account, { id, amount }), tccBranch(stock, { sku, units })]);',
  ].join('\n'),
  figures: [
    {
      name: 'stuckReservations',
      label: 'reservations held forever',
      unit: '',
      better: 'lower',
      key: true,
    },
    {
      name: 'hangingTriesRefused',
      label: 'late Tries refused by the fence',
      unit: '',
      better: 'none',
      key: true,
    },
    { name: 'transactions', label: 'orders started', unit: '', better: 'none' },
    { name: 'confirmed', label: 'orders confirmed', unit: '', better: 'higher' },
  ],
  knobs: [
    {
      name: 'callTimeoutMs',
      label: 'coordinator deadline per call',
      min: 10,
      max: 100,
      step: 5,
      default: TCC_CALL_TIMEOUT_MS,
      unit: 'ms',
    },
  ],
  variants: {
    unsafe: {
      summary:
        'Services without a fence table: a Try reserves whenever it arrives and a Cancel releases whatever it finds.',
      run: (context) => run(context, 'no-fence'),
    },
    safe: {
      summary:
        'faultline’s TccResource with a fence table: a Cancel before its Try is recorded and the late Try refused; Confirm and Cancel apply once.',
      run: (context) => run(context, 'fenced'),
    },
  },
};

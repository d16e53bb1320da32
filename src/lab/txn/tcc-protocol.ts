/**
 * TCC as a {@link ProtocolSim}: `faultline sim tcc` runs faultline's TCC coordinator and fence
 * table under a slow network tail, duplicated messages and crashes, judged from the services'
 * disks.
 *
 * @module
 */
import type { ScheduledFault } from '../../sim/faults.js';
import { Simulation } from '../../sim/simulation.js';
import type { ProtocolSim } from '../../protocols/contract.js';
import { TCC_SERVICES, runTccWorkload } from './tcc-workload.js';
import type { TccMode } from './tcc-workload.js';

const WORKLOAD_MS = 1_000;
const HORIZON_MS = 1_800;

/** The network: a long latency tail that outlasts the call deadline, some reordering and duplicates. */
export const TCC_NETWORK = {
  latency: { kind: 'exponential', minMs: 1, meanMs: 6, maxMs: 150 },
  reorderProbability: 0.15,
  duplicateProbability: 0.03,
} as const;

/** The coordinator's deadline for each call in these runs, in ms. */
export const TCC_CALL_TIMEOUT_MS = 25;

const MODES: Readonly<Record<string, TccMode>> = {
  correct: 'fenced',
  'no-fence': 'no-fence',
  'non-idempotent-confirm': 'non-idempotent-confirm',
};

/** TCC under crashes and a slow network: `violations` counts stuck, doubled and split branches. */
export const tccProtocol: ProtocolSim = {
  name: 'tcc',
  summary:
    'TCC (Try-Confirm-Cancel) with a fence table under crashes and late messages, checked for stuck reservations, double confirms and split orders',
  variants: Object.keys(MODES),
  async run({ seed, variant }) {
    const mode = MODES[variant];
    if (mode === undefined)
      throw new RangeError(
        `variant must be one of ${Object.keys(MODES).join(', ')} (got ${JSON.stringify(variant)})`,
      );
    const sim = new Simulation({ seed, trace: false, network: TCC_NETWORK });
    const random = sim.random.fork('tcc-crashes');
    const nodes = ['coord', ...TCC_SERVICES];
    const faults: ScheduledFault[] = [];
    for (let i = 0, n = 1 + random.int(3); i < n; i++)
      faults.push({
        atMs: 50 + random.int(WORKLOAD_MS - 100),
        fault: {
          kind: 'crash',
          node: nodes[random.int(nodes.length)] ?? 'coord',
          restartAfterMs: 20 + random.int(200),
        },
      });
    faults.sort((a, b) => a.atMs - b.atMs);
    const result = await runTccWorkload({
      sim,
      mode,
      refuseProbability: 0.1,
      callTimeoutMs: TCC_CALL_TIMEOUT_MS,
      workloadMs: WORKLOAD_MS,
      horizonMs: HORIZON_MS,
      note: () => -1,
      faults,
    });
    const first = result.first;
    return {
      violations: result.stuck + result.doubleConfirmed + result.split,
      ...(first === undefined
        ? {}
        : {
            firstViolation: {
              timeMs: HORIZON_MS,
              summary: `${first.kind} branch of ${first.gid} at ${first.service}`,
            },
          }),
      figures: {
        transactions: result.transactions,
        confirmed: result.confirmed,
        hangingTriesRefused: result.hangingRefused,
        stuckReservations: result.stuck,
        doubleConfirms: result.doubleConfirmed,
        crashes: faults.length,
      },
    };
  },
};

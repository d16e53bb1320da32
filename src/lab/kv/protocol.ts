/**
 * The key-value example as a {@link ProtocolSim}: `faultline sim kv --seeds N --variant lossy`.
 *
 * @module
 */
import { check } from '../../check/checker.js';
import { register } from '../../check/models.js';
import type { ProtocolSim } from '../../protocols/contract.js';
import { kvServerKinds, runKvWorkload } from './kv.js';
import type { KvServerKind } from './kv.js';

/** One server under random faults (swarm testing), histories checked for linearizability. */
export const kvProtocol: ProtocolSim = {
  name: 'kv',
  summary: 'the single-server key-value example under random faults, checked for linearizability',
  variants: kvServerKinds,
  async run({ seed, variant }) {
    const result = await runKvWorkload({
      seed,
      server: variant as KvServerKind,
      faults: 'random',
      durationMs: 1000,
      trace: { record: false, hash: false },
    });
    const verdict = check(result.history, register(), { timeoutMs: 10_000 });
    const ops = verdict.operations;
    const history =
      verdict.kind === 'legal'
        ? 'linearizable'
        : verdict.kind === 'illegal'
          ? 'not-linearizable'
          : 'unknown';
    const failing = verdict.kind === 'illegal' ? verdict.counterexample.failing : undefined;
    return {
      violations: verdict.kind === 'legal' ? 0 : 1,
      ...(verdict.kind === 'legal'
        ? {}
        : {
            firstViolation: {
              timeMs: failing === undefined ? 0 : (result.history[failing.call]?.timeMs ?? 0),
              summary:
                verdict.kind === 'illegal'
                  ? 'the history is not linearizable'
                  : 'the checker gave up',
            },
          }),
      figures: { operations: ops, events: result.events, faults: result.faults.length },
      history,
    };
  },
};

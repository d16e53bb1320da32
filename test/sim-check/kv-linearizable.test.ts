/**
 * Integration of the simulator and the linearizability checker: the simulated key-value workload
 * runs under random faults over many seeds and every recorded history is checked. The correct
 * server must always be linearizable; the lossy variant (acknowledges before it is durable) must
 * be caught, and its failing seed must replay to the same verdict and trace hash.
 */
import { describe, expect, it } from 'vitest';
import type { CheckResult, Model, Operation } from '../../src/check/index.js';
import { casRegister, check, explainResult, register } from '../../src/check/index.js';
import type { KvServerKind, KvWorkloadResult } from '../../src/lab/kv/kv.js';
import { runKvWorkload } from '../../src/lab/kv/kv.js';
import { randomFaultKinds } from '../../src/sim/faults.js';

const model = register();
/** A deterministic bound on the search instead of a timeout: verdicts never depend on load. */
const checkOptions = { maxCacheEntries: 1 << 18 };

async function runSeed(seed: number, server: KvServerKind): Promise<KvWorkloadResult> {
  return runKvWorkload({ seed, server, faults: 'random', trace: { record: false, hash: true } });
}

/** The virtual times of an operation (its call and return index events of the history). */
function timesOf(run: KvWorkloadResult): (op: Operation) => string {
  const at = (i: number): string =>
    Number.isFinite(i) ? (run.history[i]?.timeMs ?? NaN).toFixed(3) : '∞';
  return (op) => `[${at(op.call)} .. ${at(op.ret)} ms]`;
}

/** What a failing test prints: the seed, how to replay it, and the partial linearization. */
function failureMessage(
  run: KvWorkloadResult,
  result: CheckResult,
  checked: Model<unknown> = model,
): string {
  const flags = checked === model ? '' : ' --cas';
  return [
    `seed ${String(run.seed)}: server ${run.server}, faults ${run.enabledFaults.join(', ')}, trace hash ${run.traceHash}`,
    `replay: faultline sim --seed ${String(run.seed)} --faults random --server ${run.server}${flags} --check`,
    explainResult(result, checked, { annotate: timesOf(run) }),
  ].join('\n');
}

describe('simulated kv workload checked for linearizability', () => {
  it('correct server: 300 seeds under random faults, every history linearizable', async () => {
    const kinds = new Set<string>();
    let indeterminate = 0;
    let oks = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const run = await runSeed(seed, 'correct');
      const result = check(run.history, model, checkOptions);
      if (result.kind !== 'legal') expect.fail(failureMessage(run, result));
      for (const kind of run.enabledFaults) kinds.add(kind);
      for (const e of run.history) {
        if (e.type === 'info') indeterminate++;
        if (e.type === 'ok') oks++;
      }
    }
    // The runs were not vacuous: every fault kind was drawn, and faults made requests time out.
    expect([...kinds].sort()).toEqual([...randomFaultKinds].sort());
    expect(indeterminate).toBeGreaterThan(1000);
    expect(oks).toBeGreaterThan(10_000);
  });

  it('lossy server: lost acknowledged writes are caught, and the failing seed replays', async () => {
    const caught: { run: KvWorkloadResult; result: CheckResult }[] = [];
    for (let seed = 1; seed <= 300; seed++) {
      const run = await runSeed(seed, 'lossy');
      const result = check(run.history, model, checkOptions);
      // Every verdict is decided within the bound: none is left unknown.
      expect(result.kind).not.toBe('unknown');
      if (result.kind === 'illegal') caught.push({ run, result });
    }
    expect(caught.length).toBeGreaterThan(0);
    const first = caught[0] as { run: KvWorkloadResult; result: CheckResult };
    console.info(
      `lossy kv: ${caught.length} of 300 seeds not linearizable; first:\n${failureMessage(first.run, first.result)}`,
    );
    // Every caught run had its server crash: that is how the lossy server loses writes.
    for (const { run } of caught) expect(run.enabledFaults).toContain('crash');
    const replay = await runSeed(first.run.seed as number, 'lossy');
    expect(replay.traceHash).toBe(first.run.traceHash);
    const again = check(replay.history, model, checkOptions);
    expect(again.kind).toBe('illegal');
    expect(explainResult(again, model)).toBe(explainResult(first.result, model));
  });

  it('the correct server passes on the seeds that catch the lossy one', async () => {
    for (const seed of [2, 6, 8, 14]) {
      const lossy = await runSeed(seed, 'lossy');
      expect(check(lossy.history, model, checkOptions).kind).toBe('illegal');
      const correct = await runSeed(seed, 'correct');
      const result = check(correct.history, model, checkOptions);
      if (result.kind !== 'legal') expect.fail(failureMessage(correct, result));
    }
  });

  it('with compare-and-set: correct server linearizable over 300 seeds, lossy one caught', async () => {
    const cas = casRegister();
    const tally = { ok: 0, fail: 0, info: 0 };
    let caught = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const run = await runKvWorkload({ seed, cas: true, faults: 'random', trace: false });
      const result = check(run.history, cas, checkOptions);
      if (result.kind !== 'legal') {
        expect.fail(failureMessage(run, result, cas));
      }
      for (const e of run.history) if (e.f === 'cas' && e.type !== 'invoke') tally[e.type]++;
      const lossy = await runKvWorkload({
        seed,
        cas: true,
        server: 'lossy',
        faults: 'random',
        trace: false,
      });
      if (check(lossy.history, cas, checkOptions).kind === 'illegal') caught++;
    }
    // Swaps that succeeded, ones that returned false (recorded `fail`), and timed-out ones.
    expect(tally.ok).toBeGreaterThan(1000);
    expect(tally.fail).toBeGreaterThan(1000);
    expect(tally.info).toBeGreaterThan(100);
    expect(caught).toBeGreaterThan(0);
  });
});

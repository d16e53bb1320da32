/**
 * Checks every scenario's tests share: runs over a range of seeds, replay, and evidence
 * that points at a note of the trace. Free of any test framework: each returns what it found, and
 * the test asserts on it.
 *
 * @module
 */
import { runVariant } from './run.js';
import type { VariantRun } from './run.js';
import type { Scenario, VariantName } from './types.js';

/** Runs `variant` of `scenario` on seeds `from..to` (inclusive). */
export async function runSeeds(
  scenario: Scenario,
  variant: VariantName,
  from: number,
  to: number,
): Promise<VariantRun[]> {
  const runs: VariantRun[] = [];
  for (let seed = from; seed <= to; seed++)
    runs.push(await runVariant(scenario, variant, { seed }));
  return runs;
}

/** The mean of `figure` over `runs`. */
export function meanOf(runs: readonly VariantRun[], figure: string): number {
  let sum = 0;
  for (const r of runs) sum += r.figures[figure] ?? Number.NaN;
  return sum / runs.length;
}

/** Runs `seed` twice; returns what differed between the runs (empty when they replayed). */
export async function replayDifferences(
  scenario: Scenario,
  variant: VariantName,
  seed: number,
): Promise<string[]> {
  const a = await runVariant(scenario, variant, { seed });
  const b = await runVariant(scenario, variant, { seed });
  const out: string[] = [];
  if (a.traceHash !== b.traceHash) out.push(`trace hash ${a.traceHash} vs ${b.traceHash}`);
  if (a.violated !== b.violated) out.push(`verdict ${a.violated} vs ${b.violated}`);
  if (JSON.stringify(a.figures) !== JSON.stringify(b.figures))
    out.push(`figures ${JSON.stringify(a.figures)} vs ${JSON.stringify(b.figures)}`);
  return out;
}

/**
 * Runs `seed` with a recorded trace and returns what is wrong with its evidence (empty when the
 * run violated, the evidence has a finite time, a summary and operations, and its trace index is
 * a `note` event, or the `op` event of the failing operation, at that time).
 */
export async function evidenceProblems(
  scenario: Scenario,
  variant: VariantName,
  seed: number,
): Promise<string[]> {
  const run = await runVariant(scenario, variant, { seed, record: true });
  const evidence = run.evidence;
  if (!run.violated || evidence === undefined) return ['the run did not violate the property'];
  const out: string[] = [];
  if (!Number.isFinite(evidence.timeMs)) out.push(`timeMs is ${evidence.timeMs}`);
  if (evidence.summary.length === 0) out.push('empty summary');
  if ((evidence.operations?.length ?? 0) === 0) out.push('no operations');
  const index = evidence.traceIndex;
  const event = index === undefined ? undefined : run.trace?.events[index];
  if (event === undefined || event.index !== index) out.push(`trace index ${index} is not stored`);
  else if (event.kind !== 'note' && event.kind !== 'op')
    out.push(`trace event ${index} is a ${event.kind}, not a note or an op`);
  else if (Math.abs(event.timeMs - evidence.timeMs) > 1e-6)
    out.push(`note at ${event.timeMs} ms, evidence at ${evidence.timeMs} ms`);
  return out;
}

/**
 * Replay checks: run a simulation twice from the same seed and compare trace hashes, so a source
 * of nondeterminism (a real clock, `Math.random`, unordered iteration over external input) shows
 * up as a failure that names the seed.
 *
 * @module
 */
import { FaultlineError } from '../core/errors.js';
import { integerIn } from '../core/validate.js';

/** Two runs from the same seed and options produced different traces. */
export class NondeterminismError extends FaultlineError {
  override name = 'NondeterminismError';
  readonly seed: number | string;
  readonly hashes: readonly string[];

  constructor(seed: number | string, hashes: readonly string[]) {
    super(
      'FAULTLINE_SIM_NONDETERMINISM',
      `runs of seed ${String(seed)} differ: trace hashes ${hashes.join(' vs ')}`,
    );
    this.seed = seed;
    this.hashes = hashes;
  }
}

/** Options of {@link checkReplay}. */
export interface CheckReplayOptions {
  /** How many times each seed runs (default 2). More runs catch rarer nondeterminism. */
  runs?: number;
}

/**
 * Runs `run(seed)` (which builds a simulation from the seed, runs it and returns its trace hash)
 * `runs` times per seed and throws a {@link NondeterminismError} at the first seed whose hashes
 * differ. Resolves to each seed's hash.
 *
 * @example
 * await checkReplay([1, 2, 3], async (seed) => (await runKvWorkload({ seed })).traceHash);
 */
export async function checkReplay<S extends number | string>(
  seeds: Iterable<S>,
  run: (seed: S) => string | Promise<string>,
  options: CheckReplayOptions = {},
): Promise<Map<S, string>> {
  const runs = integerIn('runs', options.runs ?? 2, 2, 1000);
  const out = new Map<S, string>();
  for (const seed of seeds) {
    const hashes: string[] = [];
    for (let i = 0; i < runs; i++) hashes.push(await run(seed));
    if (hashes.some((h) => h !== hashes[0])) throw new NondeterminismError(seed, hashes);
    out.set(seed, hashes[0] as string);
  }
  return out;
}

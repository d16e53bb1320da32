/**
 * The benchmark contract (DESIGN.md): each suite runs ours and the anchors interleaved in the same
 * run, several rounds, and reports medians as comparable rows.
 */

/** One measured row. Rows with the same `case` and `metric` are comparable across `impl`s. */
export interface BenchRow {
  case: string;
  /** `faultline`, `faultline/<variant>`, or the anchor's npm name. */
  impl: string;
  metric: string;
  value: number;
  /** `ops/s` (higher is better), `ns/op`, `us`, `ms`, `calls` (lower is better). */
  unit: 'ops/s' | 'ns/op' | 'us' | 'ms' | 'calls' | 'events/s' | string;
}

/** What the runner hands a suite. */
export interface BenchContext {
  /** Extra arguments after the suite name (flags other than --json). */
  args: readonly string[];
  /** Progress output; goes to stderr so `--json` keeps stdout clean. */
  log(message: string): void;
}

/** A benchmark suite: `bench/<name>.ts` default-exports one. */
export interface BenchSuite {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

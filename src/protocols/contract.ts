/**
 * The contract every simulated protocol follows so that `faultline sim <protocol>` can run it:
 * one seeded run of one variant, judged by checkers outside the protocol's code.
 *
 * @module
 */

/** Options of one run. */
export interface ProtocolRunOptions {
  /** The seed: the same seed, variant and nodes replay the same run. */
  readonly seed: number;
  /** One of {@link ProtocolSim.variants}. */
  readonly variant: string;
  /** Cluster size, when the protocol takes one (within {@link ProtocolSim.nodes}). */
  readonly nodes?: number;
}

/** What one run found. */
export interface ProtocolRunResult {
  /** Safety violations the checkers found in this run (0: every property held). */
  readonly violations: number;
  /** The first violation, for the replay message. */
  readonly firstViolation?: { readonly timeMs: number; readonly summary: string };
  /** Protocol figures of this run (rounds, messages, decision time in ms, ...): finite numbers. */
  readonly figures: Readonly<Record<string, number>>;
  /** The linearizability verdict of the run's client history, for protocols that serve clients. */
  readonly history?: 'linearizable' | 'not-linearizable' | 'unknown';
}

/** A protocol the `sim` command can run. */
export interface ProtocolSim {
  /** What `faultline sim <name>` takes. */
  readonly name: string;
  /** One line for the help. */
  readonly summary: string;
  /** `correct` first, then the deliberately broken variants the checkers must catch. */
  readonly variants: readonly string[];
  /** Allowed cluster sizes and the default, when the protocol takes `--nodes`. */
  readonly nodes?: { readonly min: number; readonly max: number; readonly default: number };
  /** Runs one seed of one variant. */
  run(options: ProtocolRunOptions): Promise<ProtocolRunResult>;
}

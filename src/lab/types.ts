/**
 * The lab's vocabulary: a scenario is one classic problem of distributed systems, shown as an
 * unsafe variant (the naive design), a safe variant (faultline's fix) and optionally a textbook
 * variant (the fix as commonly taught, which still fails), each run on the simulator from a seed
 * and decided by a checker outside the code under test.
 *
 * @module
 */
import type { Simulation, SimulationOptions } from '../sim/simulation.js';

/** The variants a scenario can have. `unsafe` and `safe` are required; `textbook` is optional. */
export type VariantName = 'unsafe' | 'safe' | 'textbook';

/** Every variant name, in display order. */
export const variantNames: readonly VariantName[] = ['unsafe', 'textbook', 'safe'];

/** How a figure is read: which direction is better (for the table's arrows and the page). */
export type FigureDirection = 'lower' | 'higher' | 'none';

/** A measured number a scenario reports per run (e.g. stale writes accepted, origin calls, p99). */
export interface FigureSpec {
  /** Key in {@link VariantOutcome.figures}; lower camel case, e.g. `staleWrites`. */
  readonly name: string;
  /** Short human label, e.g. `stale writes accepted`. */
  readonly label: string;
  /** Unit, e.g. `calls`, `ms`, `writes`; empty for a plain count. */
  readonly unit: string;
  /** Which direction is better. */
  readonly better: FigureDirection;
  /** Shown in the terminal table's key-figures column (at most two per scenario read well). */
  readonly key?: boolean;
}

/** A numeric fault knob the page (and `runVariant`) can change, e.g. the GC pause length. */
export interface KnobSpec {
  /** Key in {@link LabContext.knobs}; lower camel case with its unit last, e.g. `pauseMs`. */
  readonly name: string;
  readonly label: string;
  readonly min: number;
  readonly max: number;
  readonly step: number;
  readonly default: number;
  /** Unit shown beside the control, e.g. `ms`, `%`. */
  readonly unit: string;
}

/**
 * Where and how a run violated its property: the first violating event, with its virtual time
 * and the operations involved.
 */
export interface Evidence {
  /** Virtual time of the first violating event, ms since the start of the run. */
  readonly timeMs: number;
  /** One sentence: what went wrong. */
  readonly summary: string;
  /** The node the violation was observed on, if any. */
  readonly node?: string;
  /** Index of the trace event to highlight (see {@link LabContext.note}). */
  readonly traceIndex?: number;
  /** The operations involved, as short text (e.g. `c1 write 3 [12.0 .. 15.2 ms]`). */
  readonly operations?: readonly string[];
}

/** What a variant's run returns to the framework. */
export interface VariantOutcome {
  /** True when the checker found the property violated in this run. */
  readonly violated: boolean;
  /** Required when `violated`; the first violation. */
  readonly evidence?: Evidence;
  /** One finite number per {@link FigureSpec} of the scenario, by name. */
  readonly figures: Readonly<Record<string, number>>;
}

/** What the framework hands a variant's run. */
export interface LabContext {
  /** The run's seed: every random choice of the run derives from it. */
  readonly seed: number;
  /** The knob values of this run (defaults filled in, validated against the specs). */
  readonly knobs: Readonly<Record<string, number>>;
  /**
   * Creates the run's simulation (call it exactly once). The seed and tracing are the
   * framework's; the scenario chooses the network and the rest.
   */
  simulation(options?: Omit<SimulationOptions, 'seed' | 'trace'>): Simulation;
  /**
   * Records a domain event (a write accepted, a lease granted) on `node`'s lane of the trace at
   * the current virtual time, and returns its trace index (for {@link Evidence.traceIndex}).
   */
  note(node: string, text: string): number;
}

/** One variant of a scenario. */
export interface Variant {
  /** One sentence: the design this variant runs. */
  readonly summary: string;
  /** Textbook variants: one sentence on why the taught fix fails. */
  readonly why?: string;
  /** Runs the variant once; must be deterministic for a seed and knobs. */
  run(context: LabContext): Promise<VariantOutcome>;
}

/**
 * A classic problem with its naive design and its fix. Scenarios are independent modules listed
 * in the catalogue (`src/lab/catalogue.ts`).
 */
export interface Scenario {
  /** Stable id, kebab case: what `--scenario` takes. */
  readonly name: string;
  /** Short title for tables and headings. */
  readonly title: string;
  /** The problem in two sentences. */
  readonly problem: string;
  /** The classic reference: a paper, a book chapter, an article. */
  readonly reference: string;
  /** The property that decides a run, and which checker decides it. */
  readonly property: string;
  /** Set when a part of the scenario is a toy stand-in rather than faultline's production code. */
  readonly standIn?: string;
  /** The faultline API a service uses to get the fix, as a few lines of code. */
  readonly api: string;
  readonly figures: readonly FigureSpec[];
  readonly knobs?: readonly KnobSpec[];
  readonly variants: {
    readonly unsafe: Variant;
    readonly safe: Variant;
    readonly textbook?: Variant;
  };
}

/**
 * The safety checker of Paxos, outside the protocol: it watches the acceptors' `accepted`
 * messages as they leave, works out which values were chosen (accepted by a majority at one
 * ballot), and compares what learners learned with that.
 *
 * @module
 */

/** A violation the checker found. */
export interface PaxosViolation {
  readonly timeMs: number;
  readonly summary: string;
  /** The acceptances involved, as short text. */
  readonly operations: readonly string[];
  /** What the report callback returned (a trace index in the lab). */
  readonly traceIndex?: number;
}

/** Called with every violation as it is found; may return a trace index. */
export type ViolationReport = (summary: string) => number | undefined;

/**
 * Chosen values per slot (single-decree Paxos uses slot 0).
 *
 * @example
 * const checker = new ChosenChecker(5, () => sim.nowMs);
 * checker.accepted('n1', 0, ballot, 'x');
 * checker.learned('n2', 0, 'x');
 */
export class ChosenChecker {
  private readonly majority: number;
  private readonly nowMs: () => number;
  /** slot → ballot → acceptors that accepted it, with the value. */
  private readonly acceptances = new Map<number, Map<number, Map<string, string>>>();
  private readonly chosenValues = new Map<
    number,
    { value: string; atMs: number; operation: string }
  >();
  private readonly report: ViolationReport | undefined;
  private readonly found: PaxosViolation[] = [];
  private readonly distinct = new Map<number, Set<string>>();

  constructor(acceptors: number, nowMs: () => number, report?: ViolationReport) {
    this.majority = Math.floor(acceptors / 2) + 1;
    this.nowMs = nowMs;
    this.report = report;
  }

  /** Violations found so far, in order. */
  get violations(): readonly PaxosViolation[] {
    return this.found;
  }

  /** Slots with a chosen value. */
  get chosenSlots(): number {
    return this.chosenValues.size;
  }

  /** Distinct values that reached a majority at some ballot of `slot` (1 when safe). */
  valuesChosen(slot: number): number {
    return this.distinct.get(slot)?.size ?? 0;
  }

  /** The value chosen for `slot` and when it was first chosen, if any. */
  chosen(slot: number): { value: string; atMs: number } | undefined {
    return this.chosenValues.get(slot);
  }

  /** `acceptor` accepted `value` at `ballot` for `slot`. */
  accepted(acceptor: string, slot: number, ballot: number, value: string): void {
    let ballots = this.acceptances.get(slot);
    if (ballots === undefined) this.acceptances.set(slot, (ballots = new Map()));
    let voters = ballots.get(ballot);
    if (voters === undefined) ballots.set(ballot, (voters = new Map()));
    const before = voters.get(acceptor);
    if (before !== undefined && before !== value)
      this.violate(`${acceptor} accepted two values at ballot ${ballot} of slot ${slot}`, []);
    voters.set(acceptor, value);
    if (voters.size < this.majority) return;
    const values = new Set(voters.values());
    if (values.size !== 1) return;
    let distinct = this.distinct.get(slot);
    if (distinct === undefined) this.distinct.set(slot, (distinct = new Set()));
    distinct.add(value);
    const operation = `slot ${slot}: ${JSON.stringify(value)} accepted at ballot ${ballot} by ${[...voters.keys()].join(', ')}`;
    const chosen = this.chosenValues.get(slot);
    if (chosen === undefined) this.chosenValues.set(slot, { value, atMs: this.nowMs(), operation });
    else if (chosen.value !== value)
      this.violate(
        `two values chosen for slot ${slot}: ${JSON.stringify(chosen.value)} and ${JSON.stringify(value)}`,
        [chosen.operation, operation],
      );
  }

  /** `learner` learned `value` for `slot`: it must be the chosen one. */
  learned(learner: string, slot: number, value: string): void {
    const chosen = this.chosenValues.get(slot);
    const op = `${learner} learned ${JSON.stringify(value)} for slot ${slot}`;
    if (chosen === undefined) this.violate(`${op}, a value never chosen`, [op]);
    else if (chosen.value !== value)
      this.violate(`${op}, but ${JSON.stringify(chosen.value)} was chosen`, [chosen.operation, op]);
  }

  /** Records a violation (also those the harness finds, e.g. no decision by the end). */
  violate(summary: string, operations: readonly string[]): void {
    if (this.found.length >= 100) return;
    const traceIndex = this.report?.(summary);
    this.found.push({
      timeMs: this.nowMs(),
      summary,
      operations,
      ...(traceIndex === undefined ? {} : { traceIndex }),
    });
  }
}

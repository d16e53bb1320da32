/**
 * Raft's safety properties (Figure 3 of the paper, plus two of the implementation), checked from
 * outside the members by a driver that reports what each member does: who leads in which term,
 * which entries each log holds, what each member commits and applies, and what each disk keeps.
 *
 * @module
 */
import type { Entry, RaftId } from './types.js';

/** The properties checked. */
export type RaftProperty =
  | 'vote-once'
  | 'election-safety'
  | 'log-matching'
  | 'leader-completeness'
  | 'state-machine-safety'
  | 'commit-monotonic'
  | 'committed-durable';

/** One violation. */
export interface RaftViolation {
  readonly property: RaftProperty;
  readonly node: RaftId;
  /** One sentence: what went wrong. */
  readonly summary: string;
  /** When it was observed (the driver's clock, virtual ms in the simulator). */
  readonly timeMs: number;
}

/** What the checker needs to look at a member's log directly. */
export interface LogView {
  /** The last index held. */
  readonly lastIndex: number;
  /** The index of the snapshot the log starts after (0: none). */
  readonly snapshotIndex: number;
  /** The entry at `index` (undefined when compacted or missing). */
  entry(index: number): Entry | undefined;
}

const MAX_RECORDED = 100;

/** A short, stable fingerprint of an entry's payload (kind and data). */
export function entryFingerprint(e: Entry): string {
  return e.kind === 'conf' ? `conf:${JSON.stringify(e.change)}` : JSON.stringify(e.data ?? null);
}

function mix(h: number, text: string): number {
  let x = h >>> 0;
  for (let i = 0; i < text.length; i++) x = Math.imul(x ^ text.charCodeAt(i), 16777619) >>> 0;
  return x;
}

interface Committed {
  readonly term: number;
  readonly fingerprint: string;
  /** The chain hash of the log prefix ending here (Log Matching makes it unique). */
  readonly chain: number;
  /** The term of the member that first reported it committed. */
  readonly inTerm: number;
}

/**
 * Checks the safety properties as the driver reports events. Every method is cheap: chain hashes
 * of log prefixes make Log Matching a map lookup per appended entry.
 *
 * @example
 * const checker = new RaftSafetyChecker(() => sim.nowMs);
 * checker.leader('n1', 3);
 * checker.appended('n1', entries);
 * checker.violations; // [] while Raft is safe
 */
export class RaftSafetyChecker {
  private readonly now: () => number;
  private readonly recorded: RaftViolation[] = [];
  private total = 0;
  private readonly leaders = new Map<number, RaftId>();
  private readonly votes = new Map<string, RaftId>();
  private readonly chains = new Map<RaftId, Map<number, number>>();
  private readonly byIndexTerm = new Map<string, { chain: number; node: RaftId }>();
  private readonly committed = new Map<number, Committed>();
  private readonly commits = new Map<string, number>();
  private maxCommitted = 0;

  private readonly onViolation: ((v: RaftViolation) => void) | undefined;

  /** `onViolation` hears every violation as it is found (the lab notes it on the trace). */
  constructor(now: () => number, onViolation?: (v: RaftViolation) => void) {
    this.now = now;
    this.onViolation = onViolation;
  }

  /** The violations found (the first 100). */
  get violations(): readonly RaftViolation[] {
    return this.recorded;
  }

  /** Violations found in all. */
  get count(): number {
    return this.total;
  }

  /** The highest index known committed by any member. */
  get committedIndex(): number {
    return this.maxCommitted;
  }

  private violate(property: RaftProperty, node: RaftId, summary: string): void {
    this.total++;
    const v: RaftViolation = { property, node, summary, timeMs: this.now() };
    if (this.recorded.length < MAX_RECORDED) this.recorded.push(v);
    this.onViolation?.(v);
  }

  /**
   * §5.2: a member grants at most one vote per term (pre-votes do not count). Called for every
   * granted vote the member sends.
   */
  voted(voter: RaftId, term: number, candidate: RaftId): void {
    const key = `${voter}@${term}`;
    const before = this.votes.get(key);
    if (before === undefined) this.votes.set(key, candidate);
    else if (before !== candidate)
      this.violate(
        'vote-once',
        voter,
        `${voter} voted for ${before} and ${candidate} in term ${term}`,
      );
  }

  /** Election Safety: at most one leader per term. Leader Completeness is checked here too. */
  leader(node: RaftId, term: number, log: LogView): void {
    const other = this.leaders.get(term);
    if (other !== undefined && other !== node)
      this.violate('election-safety', node, `${node} and ${other} both lead term ${term}`);
    if (other !== undefined) return;
    this.leaders.set(term, node);
    for (const [index, c] of this.committed) {
      if (c.inTerm >= term || index <= log.snapshotIndex) continue;
      const e = log.entry(index);
      if (e === undefined || e.term !== c.term || entryFingerprint(e) !== c.fingerprint)
        this.violate(
          'leader-completeness',
          node,
          `${node} leads term ${term} without entry ${index}/t${c.term}, committed in term ${c.inTerm}`,
        );
    }
  }

  /** A member's log was reset (a restart from disk, a snapshot installed). */
  reset(node: RaftId, snapshotIndex: number, entries: readonly Entry[]): void {
    const chain = new Map<number, number>();
    const base = this.committed.get(snapshotIndex)?.chain;
    if (base !== undefined || snapshotIndex === 0) chain.set(snapshotIndex, base ?? 0);
    this.chains.set(node, chain);
    this.appended(node, entries);
  }

  /**
   * Log Matching: `entries` replaced `node`'s log from `entries[0].index` on. Two logs holding an
   * entry with the same index and term must hold the same prefix up to it.
   */
  appended(node: RaftId, entries: readonly Entry[]): void {
    let chain = this.chains.get(node);
    if (chain === undefined) {
      chain = new Map([[0, 0]]);
      this.chains.set(node, chain);
    }
    const first = entries[0];
    if (first === undefined) return;
    for (const i of [...chain.keys()]) if (i >= first.index) chain.delete(i);
    let h = chain.get(first.index - 1);
    for (const e of entries) {
      if (h === undefined) return; // The prefix is unknown (after a snapshot): nothing to compare.
      h = mix(mix(h, `${e.index}/${e.term}`), entryFingerprint(e));
      chain.set(e.index, h);
      const key = `${e.index}/${e.term}`;
      const seen = this.byIndexTerm.get(key);
      if (seen === undefined) this.byIndexTerm.set(key, { chain: h, node });
      else if (seen.chain !== h)
        this.violate(
          'log-matching',
          node,
          `${node} and ${seen.node} hold entry ${key} after different logs`,
        );
    }
  }

  /**
   * A member's commit index is now `commit` (in incarnation `generation`): it must never go down
   * within an incarnation. `durableCopies(index, term)` counts the members whose disk keeps that
   * entry: a committed entry must be durable on a quorum of `quorum`.
   */
  commit(
    node: RaftId,
    generation: number,
    commit: number,
    term: number,
    log: LogView,
    durable: { quorum: number; copies: (index: number, term: number) => number },
  ): void {
    const key = `${node}#${generation}`;
    const before = this.commits.get(key) ?? 0;
    if (commit < before)
      this.violate(
        'commit-monotonic',
        node,
        `${node}'s commit index went from ${before} to ${commit}`,
      );
    this.commits.set(key, commit);
    if (commit <= this.maxCommitted) return;
    const top = log.entry(commit);
    if (top !== undefined) {
      const copies = durable.copies(commit, top.term);
      if (copies < durable.quorum)
        this.violate(
          'committed-durable',
          node,
          `entry ${commit}/t${top.term} committed by ${node} is durable on ${copies} member(s), fewer than a quorum of ${durable.quorum}`,
        );
    }
    for (let i = this.maxCommitted + 1; i <= commit; i++) {
      const e = log.entry(i);
      const h = this.chains.get(node)?.get(i);
      if (e === undefined || h === undefined) continue;
      this.committed.set(i, {
        term: e.term,
        fingerprint: entryFingerprint(e),
        chain: h,
        inTerm: term,
      });
    }
    this.maxCommitted = commit;
  }

  /** State Machine Safety: no two members apply different entries at the same index. */
  applied(node: RaftId, entry: Entry): void {
    const c = this.committed.get(entry.index);
    const fingerprint = entryFingerprint(entry);
    if (c === undefined) {
      this.committed.set(entry.index, {
        term: entry.term,
        fingerprint,
        chain: this.chains.get(node)?.get(entry.index) ?? 0,
        inTerm: entry.term,
      });
      this.maxCommitted = Math.max(this.maxCommitted, entry.index);
      return;
    }
    if (c.term !== entry.term || c.fingerprint !== fingerprint)
      this.violate(
        'state-machine-safety',
        node,
        `${node} applied ${entry.index}/t${entry.term}, another member applied ${entry.index}/t${c.term}`,
      );
  }
}

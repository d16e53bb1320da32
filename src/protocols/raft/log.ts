/**
 * A member's log in memory: a snapshot (the compacted prefix), the entries after it, how far they
 * are durable (`stable`), committed and applied.
 *
 * @module
 */
import { assert } from '../../core/assert.js';
import type { Entry, Snapshot } from './types.js';

/** The Raft log (§5.3). Indexes start at 1; index 0 is the empty log's sentinel of term 0. */
export class RaftLog {
  /** The last index the snapshot covers (0: none). */
  snapIndex = 0;
  /** The term at `snapIndex`. */
  snapTerm = 0;
  /** The entries after the snapshot: `entries[i].index === snapIndex + 1 + i`. */
  private entries: Entry[] = [];
  /** The last index known durable on this member. */
  stable = 0;
  /** The highest index known committed. */
  committed = 0;
  /** The highest index handed to the application. */
  applied = 0;
  /** A snapshot received from the leader and not persisted yet. */
  pendingSnapshot: Snapshot | undefined;

  /**
   * Starts from durable state: everything given is already stable. `unsafe` lets a deliberately
   * broken member truncate entries it believed committed (lowering its commit index) instead of
   * failing an assertion, so that the checkers outside see what such a bug does.
   */
  constructor(
    snapshot: Snapshot | undefined,
    entries: readonly Entry[],
    committed: number,
    private readonly unsafe = false,
  ) {
    if (snapshot !== undefined) {
      this.snapIndex = snapshot.index;
      this.snapTerm = snapshot.term;
    }
    let expected = this.snapIndex + 1;
    for (const e of entries) {
      assert(
        e.index === expected,
        `stored entries must be contiguous (got ${e.index}, expected ${expected})`,
      );
      expected++;
    }
    this.entries = [...entries];
    this.stable = this.lastIndex();
    this.committed = Math.min(Math.max(committed, this.snapIndex), this.lastIndex());
    this.applied = this.snapIndex;
  }

  /** The first index still held as an entry. */
  firstIndex(): number {
    return this.snapIndex + 1;
  }

  lastIndex(): number {
    return this.snapIndex + this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** The term of the entry at `index`; undefined when it is compacted or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapIndex) return this.snapTerm;
    if (index < this.snapIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapIndex - 1]?.term;
  }

  /** The entry at `index`, when held. */
  entry(index: number): Entry | undefined {
    if (index <= this.snapIndex) return undefined;
    return this.entries[index - this.snapIndex - 1];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** §5.4.1: a candidate's log is at least as up to date as this one. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [lo, hi), at most `max` of them; lo must not be compacted. */
  slice(lo: number, hi: number, max = Number.POSITIVE_INFINITY): Entry[] {
    assert(
      lo > this.snapIndex,
      `slice from a compacted index ${lo} (snapshot at ${this.snapIndex})`,
    );
    const end = Math.min(hi, this.lastIndex() + 1, lo + max);
    return this.entries.slice(lo - this.snapIndex - 1, end - this.snapIndex - 1);
  }

  /** Entries not yet durable. */
  unstableEntries(): Entry[] {
    return this.stable >= this.lastIndex() ? [] : this.slice(this.stable + 1, this.lastIndex() + 1);
  }

  /** Appends entries that follow the last one (a leader's own proposals). */
  appendNew(entries: readonly Entry[]): void {
    for (const e of entries) {
      assert(
        e.index === this.lastIndex() + 1,
        `appended entry ${e.index} does not follow ${this.lastIndex()}`,
      );
      this.entries.push(e);
    }
  }

  /**
   * §5.3's AppendEntries receiver: when the entry at `prevIndex` has `prevTerm`, deletes the first
   * conflicting entry and all that follow, appends the new ones and returns the last new index;
   * otherwise returns undefined. Never truncates committed entries (asserted).
   */
  maybeAppend(prevIndex: number, prevTerm: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const newLast = prevIndex + entries.length;
    for (const e of entries) {
      if (e.index <= this.snapIndex) continue;
      const mine = this.term(e.index);
      if (mine === e.term) continue;
      if (mine !== undefined) this.truncateFrom(e.index);
      this.appendNew(entries.filter((x) => x.index >= e.index));
      break;
    }
    return newLast;
  }

  private truncateFrom(index: number): void {
    if (this.unsafe) this.committed = Math.min(this.committed, index - 1);
    assert(
      index > this.committed,
      `truncating committed entry ${index} (commit ${this.committed})`,
    );
    this.entries.length = index - this.snapIndex - 1;
    this.stable = Math.min(this.stable, index - 1);
  }

  /** Raises the commit index (never lowers it); returns true when it moved. */
  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    assert(index <= this.lastIndex(), `commit ${index} beyond the last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** The durable prefix moved up to `index` (if the entry there still has `term`). */
  stableTo(index: number, term: number): void {
    if (this.term(index) === term && index > this.stable) this.stable = index;
  }

  /** Committed, durable entries not yet applied. */
  nextToApply(): Entry[] {
    const hi = Math.min(this.committed, this.stable);
    const lo = Math.max(this.applied + 1, this.firstIndex());
    return hi < lo ? [] : this.slice(lo, hi + 1);
  }

  appliedTo(index: number): void {
    if (index > this.applied) this.applied = index;
  }

  /** Replaces the log by `snapshot` (from the leader); the entries are gone. */
  restore(snapshot: Snapshot): void {
    this.snapIndex = snapshot.index;
    this.snapTerm = snapshot.term;
    this.entries = [];
    this.stable = snapshot.index;
    this.committed = snapshot.index;
    this.applied = snapshot.index;
    this.pendingSnapshot = snapshot;
  }

  /**
   * Keeps `entries` after a snapshot at `index` taken by the application itself: the prefix up to
   * `index` (which must be applied) is dropped.
   */
  compact(index: number, term: number): void {
    assert(index <= this.applied, `compact at ${index} beyond applied ${this.applied}`);
    if (index <= this.snapIndex) return;
    this.entries = this.entries.slice(index - this.snapIndex);
    this.snapIndex = index;
    this.snapTerm = term;
  }
}

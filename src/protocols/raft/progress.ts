/**
 * A leader's view of one follower: how much of the log it holds (`match`), what to send next, and
 * the flow-control state (probe, replicate, snapshot) with its bounded window of in-flight appends.
 *
 * @module
 */

/**
 * `probe`: the leader does not know where the follower's log matches; it sends one append at a
 * time and waits. `replicate`: it knows; it streams appends, at most `maxInflight` unacknowledged.
 * `snapshot`: the follower needs a snapshot; nothing else is sent until it answers.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** Replication progress of one member, kept by the leader. */
export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** Probe: an append is outstanding, wait for its answer (or the next heartbeat answer). */
  probeSent = false;
  /** Snapshot state: the index of the snapshot sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** Last indexes of the appends in flight, oldest first (replicate state). */
  private inflight: number[] = [];
  private readonly maxInflight: number;

  constructor(next: number, maxInflight: number) {
    this.next = next;
    this.maxInflight = maxInflight;
  }

  /** True when nothing may be sent now. */
  paused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflight.length >= this.maxInflight;
      case 'snapshot':
        return true;
    }
  }

  /** Appends in flight (for tests and figures). */
  get inflightCount(): number {
    return this.inflight.length;
  }

  becomeProbe(): void {
    // After a snapshot, probe from just past it; otherwise from past the last match.
    this.next =
      this.state === 'snapshot'
        ? Math.max(this.match + 1, this.pendingSnapshot + 1)
        : this.match + 1;
    this.reset('probe');
  }

  becomeReplicate(): void {
    this.next = this.match + 1;
    this.reset('replicate');
  }

  becomeSnapshot(index: number): void {
    this.reset('snapshot');
    this.pendingSnapshot = index;
  }

  private reset(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflight = [];
  }

  /** An append covering up to `last` was sent. */
  sent(last: number, entries: number): void {
    if (this.state === 'replicate') {
      if (entries > 0) {
        this.next = last + 1;
        this.inflight.push(last);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /** An acknowledgement up to `index`; returns true when `match` moved. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    while (this.inflight.length > 0 && (this.inflight[0] ?? 0) <= index) this.inflight.shift();
    return updated;
  }

  /**
   * A rejection of the append at `rejected`; the follower's last index is `hint`. Returns false
   * when the rejection is stale (answers an older append).
   */
  maybeDecrease(rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), 1);
    this.probeSent = false;
    return true;
  }
}

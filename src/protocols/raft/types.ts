/**
 * The vocabulary of the Raft state machine: log entries, the persistent (hard) state, snapshots,
 * the messages peers exchange, and the {@link Ready} batch a driver acts on.
 *
 * @module
 */

/** A member's id: any non-empty string (the simulator's node names, host:port, ...). */
export type RaftId = string;

/** A membership change (single-server changes, Raft thesis §4.1; one pending at a time). */
export type ConfChange =
  | { readonly kind: 'add-voter'; readonly id: RaftId }
  | { readonly kind: 'add-learner'; readonly id: RaftId }
  | { readonly kind: 'remove'; readonly id: RaftId };

/** The members: voters decide elections and commits, learners only receive the log. */
export interface ConfState {
  readonly voters: readonly RaftId[];
  readonly learners: readonly RaftId[];
}

/**
 * One log entry. `normal` entries carry application data (`null` for the no-op a leader appends
 * when elected); `conf` entries carry a {@link ConfChange}.
 */
export type Entry =
  | {
      readonly kind: 'normal';
      readonly index: number;
      readonly term: number;
      readonly data: unknown;
    }
  | {
      readonly kind: 'conf';
      readonly index: number;
      readonly term: number;
      readonly change: ConfChange;
    };

/** What must be durable before any message of the same {@link Ready} is sent. */
export interface HardState {
  /** The latest term this member has seen. */
  readonly term: number;
  /** Whom it voted for in `term` (null: nobody yet). Forgetting it allows two votes in a term. */
  readonly vote: RaftId | null;
  /** The highest index known committed (persisting it is optional for safety, useful for restarts). */
  readonly commit: number;
}

/** A compacted prefix of the log: the application's state as of `index`. */
export interface Snapshot {
  /** The last index the snapshot covers. */
  readonly index: number;
  /** The term of the entry at `index`. */
  readonly term: number;
  /** The membership as of `index`. */
  readonly conf: ConfState;
  /** The application's state (opaque to Raft). */
  readonly data: unknown;
}

/** A linearizable read became safe: serve it once the applied index reaches `index`. */
export interface ReadState {
  /** The commit index at the time the read was requested (the read must see at least this). */
  readonly index: number;
  /** The request's context as given to {@link RaftNode.readIndex}. */
  readonly context: string;
}

/** The roles a member moves through (pre-candidate only with pre-vote). */
export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** The fields every {@link RaftMessage} carries: sender, receiver and the sender's term. */
export interface Header {
  readonly from: RaftId;
  readonly to: RaftId;
  readonly term: number;
}

/** The messages members exchange (the paper's RPCs plus pre-vote, reads and transfer). */
export type RaftMessage =
  | (Header & {
      readonly type: 'vote';
      readonly preVote: boolean;
      readonly lastIndex: number;
      readonly lastTerm: number;
      /** Set by a leadership transfer: the vote is granted even inside a leader's lease. */
      readonly transfer: boolean;
    })
  | (Header & { readonly type: 'vote-resp'; readonly preVote: boolean; readonly reject: boolean })
  | (Header & {
      readonly type: 'append';
      /** The index of the entry before `entries` (the paper's prevLogIndex). */
      readonly index: number;
      /** Its term (prevLogTerm). */
      readonly logTerm: number;
      readonly entries: readonly Entry[];
      readonly commit: number;
    })
  | (Header & {
      readonly type: 'append-resp';
      /** Accepted: the follower's last matching index. Rejected: the `index` it rejected. */
      readonly index: number;
      readonly reject: boolean;
      /** On a rejection, the follower's last index (where the leader probes next). */
      readonly hint: number;
    })
  | (Header & {
      readonly type: 'heartbeat';
      readonly commit: number;
      /** A ReadIndex round's context, echoed back. */
      readonly context: string | null;
    })
  | (Header & { readonly type: 'heartbeat-resp'; readonly context: string | null })
  | (Header & { readonly type: 'snapshot'; readonly snapshot: Snapshot })
  | (Header & { readonly type: 'timeout-now' })
  | (Header & { readonly type: 'read-index'; readonly context: string })
  | (Header & {
      readonly type: 'read-index-resp';
      readonly context: string;
      readonly index: number;
      readonly reject: boolean;
    });

/** The message types. */
export type RaftMessageType = RaftMessage['type'];

/** Volatile state worth showing (who leads, in what role this member is). */
export interface SoftState {
  readonly leader: RaftId | null;
  readonly role: Role;
}

/**
 * What the driver must do, in this order: persist `hardState`, `snapshot` and `entries` (replacing
 * any stored entries from the first of `entries` on) and sync them; then send `messages`; then
 * apply `committedEntries` (and restore `snapshot`) to the application; serve `readStates` once
 * applied; then call {@link RaftNode.advance} with this Ready.
 */
export interface Ready {
  /** Set when the hard state changed since the last Ready. */
  readonly hardState?: HardState;
  /** Set when the role or leader changed since the last Ready. */
  readonly softState?: SoftState;
  /** Entries to persist; they replace stored entries from `entries[0].index` on. */
  readonly entries: readonly Entry[];
  /** A snapshot to persist and to restore the application from. */
  readonly snapshot?: Snapshot;
  /** Messages to send once the above are durable. */
  readonly messages: readonly RaftMessage[];
  /** Committed entries to apply, in order (durable on a quorum, and here). */
  readonly committedEntries: readonly Entry[];
  /** Reads that became safe. */
  readonly readStates: readonly ReadState[];
}

/** A proposal's outcome: its place in the log, or why it was dropped. */
export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | {
      readonly ok: false;
      readonly reason: 'not-leader' | 'transferring' | 'conf-change-pending' | 'too-many-pending';
      /** Who leads, as far as this member knows. */
      readonly leader: RaftId | null;
    };

/** What a member restarts from: its durable state. */
export interface RaftStorage {
  readonly hardState?: HardState;
  readonly snapshot?: Snapshot;
  /** The entries after the snapshot, contiguous. */
  readonly entries?: readonly Entry[];
}

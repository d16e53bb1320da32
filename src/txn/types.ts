/**
 * The seams of the transaction module: a participant (a resource manager that can prepare,
 * commit and roll back a branch by global id), its branch, and the coordinator's decision log.
 * The PostgreSQL and MariaDB adapters implement them over real databases; the lab implements them
 * on simulated nodes, so the same coordinator runs in both.
 *
 * @module
 */

/** One participant's part of a global transaction, from `begin` until it is prepared or aborted. */
export interface Branch {
  /**
   * Phase 1: makes the branch's work durable and votes yes (PostgreSQL `PREPARE TRANSACTION`,
   * MariaDB `XA END` + `XA PREPARE`). Throwing votes no. After it resolves the branch holds its
   * locks until `commitPrepared` or `rollbackPrepared`, across crashes of either side.
   */
  prepare(signal: AbortSignal): Promise<void>;
  /** Rolls back a branch that was not prepared and releases its connection. Never throws. */
  abort(): Promise<void>;
}

/** A resource manager taking part in two-phase commit. */
export interface Participant<B extends Branch = Branch> {
  /** Unique among a coordinator's participants; stable across restarts (recovery uses it). */
  readonly name: string;
  /** Starts branch `gid` (a fresh transaction on a dedicated connection). */
  begin(gid: string, signal: AbortSignal): Promise<B>;
  /**
   * Phase 2, commit: commits prepared branch `gid` from any connection. Idempotent: a gid that is
   * not prepared (any more) counts as committed, because under presumed abort a commit is only
   * sent after every branch prepared and the decision was logged.
   */
  commitPrepared(gid: string, signal: AbortSignal): Promise<void>;
  /** Phase 2, abort: rolls back prepared branch `gid`. Idempotent: an unknown gid is done. */
  rollbackPrepared(gid: string, signal: AbortSignal): Promise<void>;
  /** The gids starting with `prefix` that are prepared here now (PostgreSQL `pg_prepared_xacts`, `XA RECOVER`). */
  listPrepared(prefix: string, signal: AbortSignal): Promise<string[]>;
}

/**
 * The coordinator's durable memory. Under presumed abort only commit decisions are written: a
 * prepared branch without a record is rolled back by recovery.
 */
export interface DecisionLog {
  /**
   * Durably records that `gid` commits, in a write of its own, before phase 2 starts. It must
   * resolve only once the record survives a crash of the coordinator and of the log's server.
   */
  recordCommit(gid: string, participants: readonly string[], signal: AbortSignal): Promise<void>;
  /** The gids starting with `prefix` that have a commit record. */
  committed(prefix: string, signal: AbortSignal): Promise<string[]>;
  /** Removes `gid`'s record once every participant committed it (idempotent). */
  forget(gid: string, signal: AbortSignal): Promise<void>;
}

/** What the coordinator reports as it goes (also the hook crash tests kill the process on). */
export type TwoPhaseStep =
  | { readonly kind: 'preparing'; readonly gid: string; readonly participant: string }
  | { readonly kind: 'prepared'; readonly gid: string; readonly participant: string }
  | { readonly kind: 'decided'; readonly gid: string; readonly outcome: 'commit' | 'abort' }
  | { readonly kind: 'committed'; readonly gid: string; readonly participant: string }
  | { readonly kind: 'rolled-back'; readonly gid: string; readonly participant: string }
  | { readonly kind: 'finished'; readonly gid: string; readonly outcome: 'commit' | 'abort' }
  | {
      readonly kind: 'recovered';
      readonly gid: string;
      readonly participant: string;
      readonly outcome: 'commit' | 'abort';
    };

/**
 * The options of a {@link RaftNode}, validated in its constructor. Timing is in ticks: the driver
 * calls `tick()` at a fixed interval of its choosing (the simulator's and the TCP server's
 * drivers use 10 ms).
 *
 * @module
 */
import type { Random } from '../../core/runtime.js';
import { integerIn, nonEmptyString, rangeError } from '../../core/validate.js';
import type { RaftId, RaftStorage } from './types.js';

/**
 * How a leader serves {@link RaftNode.readIndex}. `safe`: it confirms it still leads with a round
 * of heartbeats to a quorum (one round trip; correct whatever the clocks do). `lease`: it answers
 * at once while its check-quorum lease holds — it assumes that no member's tick runs slower than
 * the leader's by more than the margin between the lease (`electionTicks`) and the other
 * members' election timeouts (at least `electionTicks`), i.e. bounded clock drift; a paused or
 * slowed leader clock can serve a stale read.
 */
export type ReadOnlyMode = 'safe' | 'lease';

/**
 * Deliberately broken rules, for the lab and the simulator's negative controls only. Each one
 * makes Raft unsafe; the checkers must catch it.
 */
export interface RaftUnsafeOptions {
  /**
   * Commit an entry as soon as a quorum stores it, whatever its term — the rule Figure 8 of the
   * Raft paper shows to be wrong (§5.4.2 counts replicas only for entries of the current term).
   */
  readonly commitByCounting?: boolean;
  /**
   * Count this many votes or acknowledgements as a quorum instead of a majority. Below a majority,
   * two quorums need not intersect: both sides of a partition elect leaders and commit.
   */
  readonly quorum?: number;
}

/** Options of a {@link RaftNode}. */
export interface RaftOptions {
  /** This member's id. */
  readonly id: RaftId;
  /**
   * The initial voters (this member among them, unless it joins as a learner), used when the
   * storage holds no snapshot. Membership changes later go through the log.
   */
  readonly voters: readonly RaftId[];
  /** The initial learners (default none): they receive the log and never vote. */
  readonly learners?: readonly RaftId[];
  /**
   * Ticks without hearing from a leader before a follower campaigns (default 10). Each election
   * timeout is drawn uniformly from [electionTicks, 2 × electionTicks) so that split votes resolve.
   * Shorter: faster failover, more spurious elections under latency spikes or pauses.
   */
  readonly electionTicks?: number;
  /**
   * Ticks between a leader's heartbeats (default 1); must be below `electionTicks`. Shorter:
   * followers notice the leader sooner and commits propagate faster, at more messages.
   */
  readonly heartbeatTicks?: number;
  /**
   * Pre-vote (default true, thesis §9.6): a candidate first asks whether it could win, without
   * raising terms, so that a member rejoining from a partition does not depose a healthy leader.
   * Costs one extra round trip per election.
   */
  readonly preVote?: boolean;
  /**
   * Check-quorum (default true): a leader that has not heard from a quorum within an election
   * timeout steps down, and members that heard from a leader within one ignore vote requests.
   * Needed for lease reads; makes a leader cut off by a partition step down on its own.
   */
  readonly checkQuorum?: boolean;
  /** How reads are confirmed (default `safe`); `lease` needs `checkQuorum`. */
  readonly readOnly?: ReadOnlyMode;
  /**
   * Appends in flight to one follower at most (default 64). Larger: more throughput on long
   * links, more to resend after a loss and more memory per follower.
   */
  readonly maxInflight?: number;
  /** Entries per append message at most (default 64). */
  readonly maxEntriesPerMessage?: number;
  /**
   * Proposals not yet committed at most (default 4,096); past it `propose` returns
   * `too-many-pending`, pushing back on clients instead of growing the log without bound.
   */
  readonly maxUncommitted?: number;
  /** Read requests waiting for confirmation at most (default 1,024). */
  readonly maxPendingReads?: number;
  /** Election jitter. */
  readonly random: Random;
  /** The durable state to restart from (default: a fresh member). */
  readonly storage?: RaftStorage;
  /** Deliberately broken rules (lab and negative controls only). */
  readonly unsafe?: RaftUnsafeOptions;
}

/** Options with defaults filled in. */
export interface ResolvedRaftOptions {
  readonly id: RaftId;
  readonly voters: readonly RaftId[];
  readonly learners: readonly RaftId[];
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly readOnly: ReadOnlyMode;
  readonly maxInflight: number;
  readonly maxEntriesPerMessage: number;
  readonly maxUncommitted: number;
  readonly maxPendingReads: number;
  readonly random: Random;
  readonly storage: RaftStorage;
  readonly unsafe: RaftUnsafeOptions;
}

const MAX_MEMBERS = 1024;

function ids(field: string, list: readonly RaftId[]): readonly RaftId[] {
  if (!Array.isArray(list) || list.length > MAX_MEMBERS)
    throw rangeError(field, `an array of at most ${MAX_MEMBERS} ids`, list);
  for (const id of list) nonEmptyString(field, id);
  if (new Set(list).size !== list.length)
    throw rangeError(field, 'ids without duplicates', list.join(','));
  return [...list];
}

/** Validates `options` and fills in the defaults; a bad value throws a RangeError naming it. */
export function resolveOptions(options: RaftOptions): ResolvedRaftOptions {
  nonEmptyString('id', options.id);
  const voters = ids('voters', options.voters);
  const learners = ids('learners', options.learners ?? []);
  for (const l of learners)
    if (voters.includes(l)) throw rangeError('learners', 'ids that are not voters', l);
  const electionTicks = integerIn('electionTicks', options.electionTicks ?? 10, 2, 1_000_000);
  const heartbeatTicks = integerIn(
    'heartbeatTicks',
    options.heartbeatTicks ?? 1,
    1,
    electionTicks - 1,
  );
  const checkQuorum = options.checkQuorum ?? true;
  const readOnly = options.readOnly ?? 'safe';
  if (readOnly !== 'safe' && readOnly !== 'lease')
    throw rangeError('readOnly', 'safe or lease', readOnly);
  if (readOnly === 'lease' && !checkQuorum)
    throw rangeError('readOnly', "'safe' when checkQuorum is false", readOnly);
  if (typeof options.random?.next !== 'function')
    throw rangeError('random', 'a Random', options.random);
  return {
    id: options.id,
    voters,
    learners,
    electionTicks,
    heartbeatTicks,
    preVote: options.preVote ?? true,
    checkQuorum,
    readOnly,
    maxInflight: integerIn('maxInflight', options.maxInflight ?? 64, 1, 1_000_000),
    maxEntriesPerMessage: integerIn(
      'maxEntriesPerMessage',
      options.maxEntriesPerMessage ?? 64,
      1,
      1_000_000,
    ),
    maxUncommitted: integerIn('maxUncommitted', options.maxUncommitted ?? 4096, 1, 1_000_000_000),
    maxPendingReads: integerIn('maxPendingReads', options.maxPendingReads ?? 1024, 1, 1_000_000),
    random: options.random,
    storage: options.storage ?? {},
    unsafe: options.unsafe ?? {},
  };
}

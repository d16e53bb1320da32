/**
 * The lab's resource manager: a simulated database holding one account, reached over the RPC
 * shim, with the two-phase-commit branch life cycle of a real one (a branch is volatile until
 * prepared; a prepared branch is on disk, holds the account's lock and survives crashes until it
 * is committed or rolled back) and the idempotent apply/undo operations sagas use. The
 * {@link OutcomeTruth} watches it from outside the code under test.
 *
 * @module
 */
import type { Node } from '../../sim/node.js';
import { Refusal, serve } from '../resilience/rpc.js';

/** A request to a resource manager. */
export type ResourceRequest =
  | { readonly op: 'begin'; readonly gid: string; readonly delta: number }
  | { readonly op: 'prepare'; readonly gid: string }
  | { readonly op: 'commit'; readonly gid: string }
  | { readonly op: 'rollback'; readonly gid: string }
  | { readonly op: 'list'; readonly prefix: string }
  | { readonly op: 'apply'; readonly id: string; readonly delta: number }
  | { readonly op: 'undo'; readonly id: string }
  | { readonly op: 'read' };

/** How the resource manager behaves. */
export interface ResourceBehaviour {
  /** `eager` is a broken participant: it commits as soon as it is asked to prepare. */
  readonly participant: 'correct' | 'eager';
  /** Probability that a prepare votes no (a constraint failed), drawn from the node's random. */
  readonly noVoteProbability: number;
}

/**
 * The truth about every global transaction and saga operation, recorded from the resource
 * managers' side when a change becomes durable.
 */
export class OutcomeTruth {
  /** gid → resource managers that committed it. */
  readonly committed = new Map<string, Set<string>>();
  /** gid → resource managers that rolled it back (or lost it before it was prepared). */
  readonly aborted = new Map<string, Set<string>>();
  /** gid → virtual time its first branch was prepared, while some branch of it is prepared. */
  private readonly preparedAt = new Map<string, number>();
  /** Longest a prepared branch held its lock, in ms. */
  lockHeldMaxMs = 0;
  /** Begins refused because another transaction's branch held the lock. */
  refusedForLock = 0;
  /** The first atomicity breach, if any. */
  breach:
    { readonly gid: string; readonly timeMs: number; readonly traceIndex: number } | undefined;

  constructor(
    private readonly nowMs: () => number,
    private readonly note: (node: string, text: string) => number,
  ) {}

  prepared(gid: string): void {
    if (!this.preparedAt.has(gid)) this.preparedAt.set(gid, this.nowMs());
  }

  settled(rm: string, gid: string, outcome: 'commit' | 'abort'): void {
    const at = this.preparedAt.get(gid);
    if (at !== undefined) this.lockHeldMaxMs = Math.max(this.lockHeldMaxMs, this.nowMs() - at);
    const mine = outcome === 'commit' ? this.committed : this.aborted;
    const other = outcome === 'commit' ? this.aborted : this.committed;
    let set = mine.get(gid);
    if (set === undefined) mine.set(gid, (set = new Set()));
    set.add(rm);
    const index = this.note(rm, `${outcome === 'commit' ? 'commits' : 'rolls back'} ${short(gid)}`);
    if (this.breach === undefined && (other.get(gid)?.size ?? 0) > 0)
      this.breach = { gid, timeMs: this.nowMs(), traceIndex: index };
  }

  /** Global transactions some resource manager committed and another rolled back. */
  breaches(): number {
    let n = 0;
    for (const gid of this.committed.keys()) if ((this.aborted.get(gid)?.size ?? 0) > 0) n++;
    return n;
  }
}

/** A gid shortened for notes: the coordinator id and the first hex digits. */
export function short(gid: string): string {
  const dot = gid.indexOf('.');
  return dot < 0 ? gid : `${gid.slice(0, dot)}.${gid.slice(dot + 1, dot + 7)}`;
}

interface Active {
  readonly gid: string;
  readonly delta: number;
  readonly sinceMs: number;
}

/**
 * An unprepared branch idle this long is rolled back when another transaction wants the lock, as
 * PostgreSQL's `idle_in_transaction_session_timeout` would (the coordinator that began it died).
 */
const IDLE_BRANCH_MS = 100;

const BALANCE = 'balance';
const PREPARED = 'prepared/';
const APPLIED = 'applied/';

/** Starts the resource manager on `node` (call it from the node's start function). */
export function serveResource(node: Node, behaviour: ResourceBehaviour, truth: OutcomeTruth): void {
  const disk = node.disk;
  const random = node.runtime.random.fork('resource');
  // Volatile: a crash loses branches that were not prepared, as a real database does.
  let active: Active | undefined;
  const balance = (): number => (disk.read(BALANCE) as number | undefined) ?? 0;
  const lockedBy = (): string | undefined => {
    if (active !== undefined) return active.gid;
    for (const key of disk.keys()) if (key.startsWith(PREPARED)) return key.slice(PREPARED.length);
    return undefined;
  };

  const commitBranch = async (gid: string, delta: number): Promise<void> => {
    disk.write(BALANCE, balance() + delta);
    disk.delete(PREPARED + gid);
    await disk.sync();
    truth.settled(node.name, gid, 'commit');
  };

  const handlers = {
    begin: (r: { gid: string; delta: number }): unknown => {
      const now = node.runtime.clock.monotonicMs();
      if (active !== undefined && active.gid !== r.gid && now - active.sinceMs > IDLE_BRANCH_MS) {
        truth.settled(node.name, active.gid, 'abort');
        active = undefined;
      }
      const holder = lockedBy();
      if (holder !== undefined && holder !== r.gid) {
        truth.refusedForLock++;
        return new Refusal(`locked by ${short(holder)}`);
      }
      active = { gid: r.gid, delta: r.delta, sinceMs: now };
      return 'ok';
    },
    prepare: async (r: { gid: string }): Promise<unknown> => {
      if (active?.gid !== r.gid) return new Refusal('no such branch');
      const branch = active;
      active = undefined;
      if (random.next() < behaviour.noVoteProbability) {
        truth.settled(node.name, r.gid, 'abort');
        return new Refusal('constraint violated');
      }
      if (behaviour.participant === 'eager') {
        await commitBranch(r.gid, branch.delta);
        return 'ok';
      }
      disk.write(PREPARED + r.gid, branch.delta);
      await disk.sync();
      truth.prepared(r.gid);
      return 'ok';
    },
    commit: async (r: { gid: string }): Promise<unknown> => {
      const delta = disk.read(PREPARED + r.gid) as number | undefined;
      if (delta !== undefined) await commitBranch(r.gid, delta);
      return 'ok';
    },
    rollback: async (r: { gid: string }): Promise<unknown> => {
      if (active?.gid === r.gid) {
        active = undefined;
        truth.settled(node.name, r.gid, 'abort');
      }
      if (disk.has(PREPARED + r.gid)) {
        disk.delete(PREPARED + r.gid);
        await disk.sync();
        truth.settled(node.name, r.gid, 'abort');
      }
      return 'ok';
    },
    list: (r: { prefix: string }): unknown =>
      disk
        .keys()
        .filter((k) => k.startsWith(PREPARED + r.prefix))
        .map((k) => k.slice(PREPARED.length)),
  };

  serve(node, (body) => {
    const request = body as ResourceRequest;
    switch (request.op) {
      case 'begin':
        return handlers.begin(request);
      case 'prepare':
        return handlers.prepare(request);
      case 'commit':
        return handlers.commit(request);
      case 'rollback':
        return handlers.rollback(request);
      case 'list':
        return handlers.list(request);
      case 'apply':
        return applyOnce(node, request.id, request.delta, balance);
      case 'undo':
        return undoOnce(node, request.id, balance);
      case 'read':
        return balance();
    }
  });
}

/** Applies `delta` once per `id` (a retried apply is a no-op): the saga step's idempotency. */
async function applyOnce(
  node: Node,
  id: string,
  delta: number,
  balance: () => number,
): Promise<unknown> {
  const disk = node.disk;
  if (disk.has(APPLIED + id)) return 'ok';
  disk.write(APPLIED + id, delta);
  disk.write(BALANCE, balance() + delta);
  await disk.sync();
  return 'ok';
}

/**
 * Undoes `id`'s apply once; an undo of an apply that never happened records a tombstone, so a
 * late apply of it is refused (the same rule as TCC's fence table, for a compensation that
 * overtakes its step).
 */
async function undoOnce(node: Node, id: string, balance: () => number): Promise<unknown> {
  const disk = node.disk;
  const delta = disk.read(APPLIED + id) as number | 'undone' | undefined;
  if (delta === 'undone') return 'ok';
  disk.write(APPLIED + id, 'undone');
  if (typeof delta === 'number') disk.write(BALANCE, balance() - delta);
  await disk.sync();
  return 'ok';
}

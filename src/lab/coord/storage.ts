/**
 * The storage node of the lock scenarios and the checker that watches it. The storage is either
 * unfenced (it accepts every write) or fenced (faultline's {@link FencedStore}: a write is accepted
 * only with a token at least the highest accepted). The checker is outside both: it sees each
 * write the storage accepted, with the token its writer held, and keeps the lock server's truth
 * (grants and expiries as the server applied them) to explain a violation.
 *
 * @module
 */
import { FencedStore } from '../../coord/fence.js';
import type { AcquireResult, ExtendResult } from '../../coord/types.js';
import type { Envelope, Node } from '../../sim/node.js';
import type { Evidence, LabContext } from '../types.js';
import type { AppliedCall } from './remote-lock.js';

/** How the storage decides a write. */
export type StorageMode = 'unfenced' | 'fenced';

/** A write sent to the storage: the writer's name, the token it holds and the value. */
export interface StorageWrite {
  readonly kind: 'storage-write';
  readonly writer: string;
  /** The writer's fencing token (the lease's token, the leader's term). Unfenced storage ignores it. */
  readonly token: bigint;
  readonly value: string;
}

function isStorageWrite(payload: unknown): payload is StorageWrite {
  return (
    typeof payload === 'object' &&
    payload !== null &&
    (payload as { kind?: unknown }).kind === 'storage-write'
  );
}

/** Sends a write from `node` to the storage node `storage`. */
export function sendWrite(node: Node, storage: string, token: bigint, value: string): void {
  const write: StorageWrite = { kind: 'storage-write', writer: node.name, token, value };
  node.send(storage, write);
}

interface TruthLease {
  readonly owner: string;
  readonly token: bigint;
  readonly node: string;
  /** When the lease ends on the server: its TTL running out, or a release. */
  endsAtMs: number;
}

/**
 * The lock server's truth: every grant, renewal and release as the server applied it, recorded
 * from the server's side of the RPC shim (never from what a client believes).
 */
export class LeaseTruth {
  private readonly byToken = new Map<bigint, TruthLease>();
  private readonly byOwner = new Map<string, TruthLease>();
  /** Grants the server made, in order. */
  grants = 0;

  constructor(
    private readonly context: LabContext,
    private readonly nowMs: () => number,
    private readonly serverNode: string,
    /** What a token is called in the notes: `token` or `term`. */
    private readonly tokenName = 'token',
  ) {}

  /** Records a call the server applied (pass it to `serveLocks`). */
  readonly onApplied = (applied: AppliedCall): void => {
    const { call } = applied;
    const now = this.nowMs();
    if (call.op === 'tryAcquire' || call.op === 'acquireQueued') {
      const result = applied.result as AcquireResult;
      if (result.kind !== 'acquired') return;
      const lease = {
        owner: call.owner,
        token: result.token,
        node: applied.from,
        endsAtMs: now + result.ttlMs,
      };
      this.byToken.set(result.token, lease);
      this.byOwner.set(call.owner, lease);
      this.grants++;
      this.context.note(
        this.serverNode,
        `grant ${this.tokenName} ${result.token} to ${applied.from} for ${result.ttlMs} ms`,
      );
    } else if (call.op === 'extend') {
      const result = applied.result as ExtendResult;
      const lease = this.byOwner.get(call.owner);
      if (result.kind === 'extended' && lease !== undefined) lease.endsAtMs = now + result.ttlMs;
    } else if (call.op === 'raiseToken' && applied.result === true) {
      this.context.note(
        this.serverNode,
        `raise ${this.tokenName} to ${call.token} for ${applied.from}`,
      );
    } else if (call.op === 'release') {
      const lease = this.byOwner.get(call.owner);
      if (lease !== undefined && lease.endsAtMs > now) lease.endsAtMs = now;
    }
  };

  /** When the lease with `token` ended on the server, if it ended by `atMs`. */
  endedAt(token: bigint, atMs: number): number | undefined {
    const lease = this.byToken.get(token);
    return lease !== undefined && lease.endsAtMs <= atMs ? lease.endsAtMs : undefined;
  }
}

/**
 * Watches the writes the storage accepted. The property: the storage never accepts a write whose
 * token is lower than a token it already accepted (a stale holder's write after a newer holder's).
 */
export class StaleWriteChecker {
  accepted = 0;
  rejected = 0;
  /** Accepted writes whose token was lower than one accepted before them. */
  stale = 0;
  /** The first violation. */
  evidence: Evidence | undefined;
  private highest = 0n;
  private highestText = '';

  constructor(
    private readonly context: LabContext,
    private readonly nowMs: () => number,
    private readonly truth: LeaseTruth | undefined,
    /** What a token is called in the notes: `token` or `term`. */
    private readonly tokenName = 'token',
  ) {}

  /** Called by the storage for every write it decided. */
  observe(storage: string, write: StorageWrite, accepted: boolean): void {
    const now = this.nowMs();
    const what = `${write.writer} write ${write.value} (${this.tokenName} ${write.token})`;
    if (!accepted) {
      this.rejected++;
      this.context.note(
        storage,
        `rejected ${what}: ${this.tokenName} ${this.highest} already wrote`,
      );
      return;
    }
    this.accepted++;
    const index = this.context.note(storage, `accepted ${what}`);
    const operation = `${what} accepted at ${now.toFixed(1)} ms`;
    if (write.token < this.highest) {
      this.stale++;
      if (this.evidence === undefined) {
        const ended = this.truth?.endedAt(write.token, now);
        const why =
          ended === undefined
            ? ''
            : `; that lease had ended on the lock server at ${ended.toFixed(1)} ms`;
        this.evidence = {
          timeMs: now,
          node: storage,
          traceIndex: index,
          summary: `The storage accepted ${write.writer}'s write with ${this.tokenName} ${write.token} after a write with ${this.tokenName} ${this.highest}${why}.`,
          operations: [this.highestText, operation],
        };
      }
      return;
    }
    this.highest = write.token;
    this.highestText = operation;
  }
}

/**
 * Runs the storage on `node`: unfenced, it accepts every write; fenced, it accepts a write only
 * through faultline's {@link FencedStore} (token ≥ the highest accepted).
 */
export function serveStorage(node: Node, mode: StorageMode, checker: StaleWriteChecker): void {
  const store = new FencedStore<string>();
  node.onMessage((message: Envelope) => {
    const write = message.payload;
    if (!isStorageWrite(write)) return;
    let accepted = true;
    if (mode === 'fenced')
      accepted = store.write('file', write.token, write.value).kind === 'accepted';
    checker.observe(node.name, write, accepted);
  });
}

/**
 * Who acts as holder (of a lock, or as leader) right now, by their own account: from the moment
 * they learn they hold it until they learn they do not. `max` is the most at once, the figure
 * that shows two holders overlapping even when fencing keeps their writes apart.
 */
export class ActingHolders {
  private readonly acting = new Set<string>();
  /** The most holders at once so far. */
  max = 0;

  /** `name` believes it holds. */
  began(name: string): void {
    this.acting.add(name);
    this.max = Math.max(this.max, this.acting.size);
  }

  /** `name` no longer believes it holds. */
  ended(name: string): void {
    this.acting.delete(name);
  }

  /** One holder acting now, if any. */
  any(): string | undefined {
    for (const name of this.acting) return name;
    return undefined;
  }
}

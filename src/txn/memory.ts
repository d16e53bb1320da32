/**
 * In-memory participants and decision log: the reference implementation of the seams, for tests
 * and examples. A {@link MemoryParticipant} keeps committed values, prepared branches and a lock
 * per key like a database would, all in one process.
 *
 * @module
 */
import type { SagaLog, SagaRecord } from './saga.js';
import type { Branch, DecisionLog, Participant } from './types.js';

/** A branch of a {@link MemoryParticipant}: `set` buffers writes until commit. */
export interface MemoryBranch extends Branch {
  /** Buffers `key = value` in this branch (visible after commit). */
  set(key: string, value: string): void;
}

/** A participant that keeps everything in memory (its "crash" is {@link MemoryParticipant.crash}). */
export class MemoryParticipant implements Participant<MemoryBranch> {
  /** Committed values. */
  readonly data = new Map<string, string>();
  /** Prepared branches by gid (they survive {@link crash}). */
  readonly prepared = new Map<string, ReadonlyMap<string, string>>();
  /** When set, the next prepare votes no with this reason. */
  refuseNextPrepare: string | undefined;
  private active = new Map<string, Map<string, string>>();

  constructor(readonly name: string) {}

  begin(gid: string): Promise<MemoryBranch> {
    const writes = new Map<string, string>();
    this.active.set(gid, writes);
    return Promise.resolve({
      set: (key, value) => void writes.set(key, value),
      prepare: () => {
        if (!this.active.delete(gid)) return Promise.reject(new Error('branch lost'));
        const reason = this.refuseNextPrepare;
        this.refuseNextPrepare = undefined;
        if (reason !== undefined) return Promise.reject(new Error(reason));
        this.prepared.set(gid, writes);
        return Promise.resolve();
      },
      abort: () => {
        this.active.delete(gid);
        return Promise.resolve();
      },
    });
  }

  commitPrepared(gid: string): Promise<void> {
    const writes = this.prepared.get(gid);
    if (writes !== undefined) for (const [k, v] of writes) this.data.set(k, v);
    this.prepared.delete(gid);
    return Promise.resolve();
  }

  rollbackPrepared(gid: string): Promise<void> {
    this.prepared.delete(gid);
    return Promise.resolve();
  }

  listPrepared(prefix: string): Promise<string[]> {
    return Promise.resolve([...this.prepared.keys()].filter((g) => g.startsWith(prefix)));
  }

  /** Loses the branches that were not prepared, as a database restart does. */
  crash(): void {
    this.active = new Map();
  }
}

/** A decision log in memory (durable only as long as the object lives). */
export class MemoryDecisionLog implements DecisionLog {
  readonly records = new Map<string, readonly string[]>();

  recordCommit(gid: string, participants: readonly string[]): Promise<void> {
    this.records.set(gid, [...participants]);
    return Promise.resolve();
  }

  committed(prefix: string): Promise<string[]> {
    return Promise.resolve([...this.records.keys()].filter((g) => g.startsWith(prefix)));
  }

  forget(gid: string): Promise<void> {
    this.records.delete(gid);
    return Promise.resolve();
  }
}

/** A saga log in memory (durable only as long as the object lives). */
export class MemorySagaLog implements SagaLog {
  readonly records = new Map<string, SagaRecord>();

  save(record: SagaRecord): Promise<void> {
    this.records.set(record.sagaId, { ...record });
    return Promise.resolve();
  }

  remove(sagaId: string): Promise<void> {
    this.records.delete(sagaId);
    return Promise.resolve();
  }

  list(prefix: string): Promise<SagaRecord[]> {
    return Promise.resolve([...this.records.values()].filter((r) => r.sagaId.startsWith(prefix)));
  }
}

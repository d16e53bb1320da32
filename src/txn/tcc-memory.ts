/**
 * A TCC fence store in memory: the reference implementation of {@link TccFenceStore}, for tests,
 * examples and single-process use. Changes of one key are serialised, and a row changes only
 * when its business action succeeded, which is what a database transaction gives the real store.
 *
 * @module
 */
import { raceAbort } from '../core/abort.js';
import {
  TccAlreadyConfirmedError,
  TccHangingTryError,
  TccNothingReservedError,
} from './tcc-errors.js';
import { checkBranchKey } from './tcc.js';
import type {
  TccBranchKey,
  TccBranchState,
  TccCancelOutcome,
  TccConfirmOutcome,
  TccFenceStore,
  TccTryOutcome,
} from './tcc.js';

interface Row {
  readonly state: TccBranchState;
  /** The Try's payload; absent on a row a Cancel created before any Try. */
  readonly payload: string | undefined;
}

/** Options of a {@link MemoryTccFenceStore}. */
export interface MemoryTccFenceStoreOptions {
  /** Most rows kept (default 100,000); a new branch beyond it is refused with a `RangeError`. */
  maxRows?: number;
}

/**
 * The fence table in a `Map`. Business actions get no context (`undefined`): they change state
 * of their own, and must not fail after changing it (there is no rollback in memory).
 *
 * @example
 * const store = new MemoryTccFenceStore();
 * const stock = new TccResource({ name: 'stock', store, actions: { try: ..., confirm: ..., cancel: ... } });
 */
export class MemoryTccFenceStore implements TccFenceStore<undefined> {
  private readonly rows = new Map<string, Row>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly maxRows: number;

  constructor(options: MemoryTccFenceStoreOptions = {}) {
    const maxRows = options.maxRows ?? 100_000;
    if (!Number.isSafeInteger(maxRows) || maxRows < 1)
      throw new RangeError(`maxRows must be a positive integer (got ${String(maxRows)})`);
    this.maxRows = maxRows;
  }

  /** Rows kept now. */
  get size(): number {
    return this.rows.size;
  }

  try(
    key: TccBranchKey,
    payload: string,
    reserve: (context: undefined) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<TccTryOutcome> {
    return this.serially(key, signal, async (id, row) => {
      if (row?.state === 'cancelled') throw new TccHangingTryError(key.gid, key.branchId);
      if (row !== undefined) return 'duplicate';
      this.checkRoom();
      await reserve(undefined);
      this.rows.set(id, { state: 'tried', payload });
      return 'tried';
    });
  }

  confirm(
    key: TccBranchKey,
    apply: (context: undefined, payload: string) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<TccConfirmOutcome> {
    return this.serially(key, signal, async (id, row) => {
      if (row === undefined) throw new TccNothingReservedError(key.gid, key.branchId, 'no-try');
      if (row.state === 'cancelled')
        throw new TccNothingReservedError(key.gid, key.branchId, 'cancelled');
      if (row.state === 'confirmed') return 'duplicate';
      await apply(undefined, row.payload ?? 'null');
      this.rows.set(id, { state: 'confirmed', payload: row.payload });
      return 'confirmed';
    });
  }

  cancel(
    key: TccBranchKey,
    release: (context: undefined, payload: string) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<TccCancelOutcome> {
    return this.serially(key, signal, async (id, row) => {
      if (row === undefined) {
        this.checkRoom();
        this.rows.set(id, { state: 'cancelled', payload: undefined });
        return 'empty';
      }
      if (row.state === 'confirmed') throw new TccAlreadyConfirmedError(key.gid, key.branchId);
      if (row.state === 'cancelled') return 'duplicate';
      await release(undefined, row.payload ?? 'null');
      this.rows.set(id, { state: 'cancelled', payload: row.payload });
      return 'cancelled';
    });
  }

  async state(key: TccBranchKey): Promise<TccBranchState | undefined> {
    await Promise.resolve();
    return this.rows.get(rowId(checkBranchKey(key)))?.state;
  }

  pending(prefix: string, branchId: string): Promise<string[]> {
    const out: string[] = [];
    for (const [id, row] of this.rows) {
      const { gid, branchId: b } = JSON.parse(id) as TccBranchKey;
      if (row.state === 'tried' && b === branchId && gid.startsWith(prefix)) out.push(gid);
    }
    return Promise.resolve(out);
  }

  private checkRoom(): void {
    if (this.rows.size >= this.maxRows)
      throw new RangeError(`the fence store is full (maxRows ${this.maxRows})`);
  }

  /** Runs `fn` after every earlier change of the same key, with the key's current row. */
  private serially<T>(
    key: TccBranchKey,
    signal: AbortSignal | undefined,
    fn: (id: string, row: Row | undefined) => Promise<T>,
  ): Promise<T> {
    try {
      checkBranchKey(key);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const id = rowId(key);
    const previous = this.queues.get(id) ?? Promise.resolve();
    const run = previous.then(() => {
      signal?.throwIfAborted();
      return fn(id, this.rows.get(id));
    });
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(id, tail);
    void tail.then(() => {
      if (this.queues.get(id) === tail) this.queues.delete(id);
    });
    return raceAbort(run, signal);
  }
}

function rowId(key: TccBranchKey): string {
  return JSON.stringify({ gid: key.gid, branchId: key.branchId });
}

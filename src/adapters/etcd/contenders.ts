/**
 * The contender keys one etcd lock backend has put (or may have put), and the names it gives them.
 *
 * A contender's key is `<lock prefix><lease id>.<slot>`, its value the owner. The slot is the lowest
 * number not in use by another contender of the same lock key on the same session lease, so a
 * process that takes and gives back a lock again and again writes the same few key names, as etcd's
 * Go `concurrency.Mutex` does with its `<prefix><lease id>` key. Fresh names for every owner would
 * leave one deleted key per lock operation in etcd's key index until the next compaction, and
 * every range over the lock's prefix (the free check of each acquire) walks all of them: the cost
 * of an acquire would grow with the lock's history.
 *
 * A name is reused only after etcd confirmed that the key under it is gone (or the write that would
 * have created it failed its comparison): until then its contender stays registered, its slot taken.
 * A contender being removed is `retired` first: its owner no longer finds it (a new acquire by that
 * owner gets a new name), but its slot stays taken until the removal is confirmed. The backend
 * sends at most one delete per contender at a time and frees the name only when it answered, so no
 * delete of a name can still be on its way when the name is given to the next contender: a plain
 * delete by name is then as safe as an owner-checked one, and cheaper.
 *
 * @module
 */
import { assert } from '../../core/assert.js';
import { rangeError } from '../../core/validate.js';

/** One contender key of this backend. */
export interface Contender {
  /** The lock key (as the caller named it). */
  readonly key: string;
  readonly owner: string;
  /** The session lease the name was made for (decimal string). */
  readonly leaseId: string;
  readonly slot: number;
  /** The etcd key: `<lock prefix><lease id>.<slot>`. */
  readonly name: Buffer;
  /** The key's value: the owner (a proclamation adds to it, see `keys.ts`). */
  readonly value: Buffer;
  /** The delete of this key in flight, if any (the backend sends one at a time). */
  deleting: Promise<void> | undefined;
}

/** The contenders of one lock key: by owner, and those being removed. */
interface KeyContenders {
  readonly owners: Map<string, Contender>;
  readonly retiring: Set<Contender>;
}

/** The contenders of one backend, by lock key and owner. */
export class Contenders {
  private readonly byKey = new Map<string, KeyContenders>();
  private count = 0;

  /** Registered contenders (holders, waiters, and keys whose removal is not yet confirmed). */
  get size(): number {
    return this.count;
  }

  /** The contender of `owner` on `key`, if any. */
  get(key: string, owner: string): Contender | undefined {
    return this.byKey.get(key)?.owners.get(owner);
  }

  /**
   * The contender of `owner` on `key`: the registered one (`fresh: false`), or a new one on the
   * lowest slot of `leaseId` that no registered contender of `key` uses.
   */
  claim(
    key: string,
    lockPrefix: string,
    owner: string,
    leaseId: string,
  ): { contender: Contender; fresh: boolean } {
    let entry = this.byKey.get(key);
    const existing = entry?.owners.get(owner);
    if (existing !== undefined) return { contender: existing, fresh: false };
    // A leading NUL marks a value that carries a proclamation (see `keys.ts`).
    if (owner.charCodeAt(0) === 0)
      throw rangeError('owner', 'a string not starting with NUL', owner);
    if (entry === undefined) {
      entry = { owners: new Map(), retiring: new Set() };
      this.byKey.set(key, entry);
    }
    const slot = lowestFreeSlot(entry, leaseId);
    const name = Buffer.from(`${lockPrefix}${leaseId}.${slot}`);
    const value = Buffer.from(owner);
    const contender: Contender = { key, owner, leaseId, slot, name, value, deleting: undefined };
    entry.owners.set(owner, contender);
    this.count++;
    return { contender, fresh: true };
  }

  /** Its removal starts: the owner no longer finds `contender`, but its slot stays taken. */
  retire(contender: Contender): void {
    const entry = this.byKey.get(contender.key);
    if (entry?.owners.get(contender.owner) !== contender) return;
    entry.owners.delete(contender.owner);
    entry.retiring.add(contender);
  }

  /** Forgets `contender` (its key is gone or was never written): its slot is free again. */
  drop(contender: Contender): void {
    const entry = this.byKey.get(contender.key);
    if (entry === undefined) return;
    if (entry.owners.get(contender.owner) === contender) entry.owners.delete(contender.owner);
    else if (!entry.retiring.delete(contender)) return;
    this.count--;
    if (entry.owners.size === 0 && entry.retiring.size === 0) this.byKey.delete(contender.key);
    assert(this.count >= 0, 'contender count stays >= 0');
  }

  /** Forgets every contender made for `leaseId`: etcd deletes the keys of a lease that ends. */
  dropLease(leaseId: string): void {
    for (const entry of this.byKey.values()) {
      for (const c of entry.owners.values()) if (c.leaseId === leaseId) this.drop(c);
      for (const c of entry.retiring) if (c.leaseId === leaseId) this.drop(c);
    }
  }

  clear(): void {
    this.byKey.clear();
    this.count = 0;
  }
}

function lowestFreeSlot(entry: KeyContenders, leaseId: string): number {
  if (entry.owners.size === 0 && entry.retiring.size === 0) return 0;
  const used = new Set<number>();
  for (const c of entry.owners.values()) if (c.leaseId === leaseId) used.add(c.slot);
  for (const c of entry.retiring) if (c.leaseId === leaseId) used.add(c.slot);
  let slot = 0;
  while (used.has(slot)) slot++;
  return slot;
}

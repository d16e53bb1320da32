/**
 * The visited-configuration cache of the search: a set of (linearized bitset, model state) pairs in
 * an open-addressing hash table of typed arrays. Keys are hashed numerically (the caller passes a
 * 32-bit hash combining a Zobrist hash of the bitset and the state's hash), so the cache never
 * builds strings and is not bound by the 2^24 entries of a JS `Set`.
 *
 * @module
 */

/**
 * A memory budget shared by several caches, so that a bound holds for all the partitions of a
 * check together rather than for each one.
 */
export class CacheBudget {
  private used = 0;

  /** @param bytes the bound, in (estimated) bytes. */
  constructor(readonly bytes: number) {}

  /** Takes `n` bytes; false (taking nothing) when that would pass the bound. */
  take(n: number): boolean {
    if (this.used + n > this.bytes) return false;
    this.used += n;
    return true;
  }

  /** Gives back `n` bytes taken before. */
  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

/** A bounded set of (bitset, state) pairs. */
export class ConfigurationCache<S> {
  /** Entry index + 1 per slot; 0 marks an empty slot. */
  private slots: Int32Array;
  /** The full hash per slot, so probes compare one integer before touching the entry. */
  private slotHashes: Int32Array;
  private mask: number;
  /** Bitsets of the entries, `words` 32-bit words each, back to back. */
  private bits: Uint32Array;
  private states: S[] = [];
  private count = 0;
  private budget: CacheBudget | undefined;
  private entryBytes = 0;

  /**
   * @param words 32-bit words per bitset (`ceil(operations / 32)`).
   * @param equal state equality.
   * @param maxEntries upper bound on entries; {@link add} reports `full` beyond it.
   * @param expected entries to size the table for at first (it grows as needed).
   */
  constructor(
    private readonly words: number,
    private readonly equal: (a: S, b: S) => boolean,
    private readonly maxEntries: number,
    expected = 256,
  ) {
    let size = 16;
    while (size < expected * 2 && size < 1 << 16) size *= 2;
    this.slots = new Int32Array(size);
    this.slotHashes = new Int32Array(size);
    this.mask = size - 1;
    this.bits = new Uint32Array(Math.max(1, words) * (size >> 1));
  }

  /** Number of entries (after {@link release}: the number it had). */
  get size(): number {
    return this.count;
  }

  /**
   * Charges every entry from now on `entryBytes` against `budget`; {@link add} reports `full`
   * when the budget has no room, whatever `maxEntries` says.
   */
  share(budget: CacheBudget, entryBytes: number): void {
    this.budget = budget;
    this.entryBytes = entryBytes;
  }

  /**
   * Frees the table's memory once its search is over; `size` keeps its final value. The cache
   * must not be used after this.
   */
  release(): void {
    this.slots = new Int32Array(16);
    this.slotHashes = new Int32Array(16);
    this.mask = 15;
    this.bits = new Uint32Array(1);
    this.states = [];
    this.budget?.give(this.count * this.entryBytes);
    this.budget = undefined;
  }

  /**
   * Adds (`bitset`, `state`) unless an equal pair is present. Returns 1 when added, 0 when it was
   * already there, -1 when the cache is full.
   */
  add(bitset: Uint32Array, state: S, hash: number): number {
    const words = this.words;
    let slot = hash & this.mask;
    for (;;) {
      const entry = this.slots[slot] as number;
      if (entry === 0) break;
      if (this.slotHashes[slot] === hash && this.matches(entry - 1, bitset, state, words)) return 0;
      slot = (slot + 1) & this.mask;
    }
    if (this.count >= this.maxEntries) return -1;
    if (this.budget !== undefined && !this.budget.take(this.entryBytes)) return -1;
    const index = this.count++;
    if ((index + 1) * words > this.bits.length) this.growBits();
    const bits = this.bits;
    const base = index * words;
    for (let w = 0; w < words; w++) bits[base + w] = bitset[w] as number;
    this.states.push(state);
    this.slots[slot] = index + 1;
    this.slotHashes[slot] = hash;
    // Keep the load factor at most one half so probe sequences stay short.
    if (this.count * 2 > this.slots.length) this.growSlots();
    return 1;
  }

  private matches(index: number, bitset: Uint32Array, state: S, words: number): boolean {
    const base = index * words;
    const bits = this.bits;
    for (let w = 0; w < words; w++) if (bits[base + w] !== bitset[w]) return false;
    return this.equal(this.states[index] as S, state);
  }

  private growBits(): void {
    const next = new Uint32Array(this.bits.length * 2);
    next.set(this.bits);
    this.bits = next;
  }

  private growSlots(): void {
    const oldSlots = this.slots;
    const oldHashes = this.slotHashes;
    const size = oldSlots.length * 2;
    this.slots = new Int32Array(size);
    this.slotHashes = new Int32Array(size);
    this.mask = size - 1;
    for (let i = 0; i < oldSlots.length; i++) {
      const entry = oldSlots[i] as number;
      if (entry === 0) continue;
      const hash = oldHashes[i] as number;
      let slot = hash & this.mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
      this.slots[slot] = entry;
      this.slotHashes[slot] = hash;
    }
  }
}

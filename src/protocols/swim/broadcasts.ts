/**
 * The queue of piggybacked broadcasts: each update rides on outgoing messages until it has been
 * sent `retransmitMult · ⌈log10(N + 1)⌉` times; the least-sent go first, and a newer update about a
 * member replaces the queued ones it makes obsolete.
 *
 * @module
 */
import { retransmitLimit } from './config.js';
import type { SwimUpdate } from './messages.js';

interface Entry {
  readonly update: SwimUpdate;
  transmits: number;
  /** Insertion order, to break ties: newer first. */
  readonly order: number;
}

/** Upper bound on queued broadcasts; past it the most-sent are dropped. */
const MAX_QUEUED = 4096;

/** A transmit-limited broadcast queue. */
export class BroadcastQueue {
  private entries: Entry[] = [];
  private order = 0;

  constructor(private readonly retransmitMult: number) {}

  /** Queued broadcasts. */
  get size(): number {
    return this.entries.length;
  }

  /**
   * Queues `update`. An `alive` or `dead` update replaces everything queued about its member; a
   * `suspect` replaces the queued `alive`/`suspect` from the same originator, so that independent
   * confirmations keep spreading.
   */
  enqueue(update: SwimUpdate): void {
    this.entries = this.entries.filter((e) => !obsoletes(update, e.update));
    this.entries.push({ update, transmits: 0, order: this.order++ });
    if (this.entries.length > MAX_QUEUED) {
      this.entries.sort((a, b) => a.transmits - b.transmits || b.order - a.order);
      this.entries.length = MAX_QUEUED;
    }
  }

  /** Takes up to `max` updates for one message, counting a transmission of each. */
  take(max: number, members: number): SwimUpdate[] {
    if (this.entries.length === 0) return [];
    const limit = retransmitLimit(this.retransmitMult, members);
    this.entries.sort((a, b) => a.transmits - b.transmits || b.order - a.order);
    const out: SwimUpdate[] = [];
    for (const e of this.entries) {
      if (out.length >= max) break;
      out.push(e.update);
      e.transmits++;
    }
    this.entries = this.entries.filter((e) => e.transmits < limit);
    return out;
  }
}

function obsoletes(next: SwimUpdate, queued: SwimUpdate): boolean {
  if (next.node !== queued.node) return false;
  if (next.kind !== 'suspect') return true;
  return queued.kind === 'alive' || (queued.kind === 'suspect' && queued.from === next.from);
}

/**
 * Dotted version vector sets: a compact container of concurrent values (siblings) with exact
 * causality, after Almeida, Baquero, Gonçalves, Preguiça and Fonte, "Scalable and Accurate
 * Causality Tracking for Eventually Consistent Stores" (DAIS 2014), and the semantics of Riak's
 * `dvvset` module. It fixes sibling explosion: one vector entry per *server* (not per client),
 * and a write made with a context discards exactly the values that context had seen.
 *
 * Values are immutable plain data (JSON-serialisable if the values are).
 *
 * Each entry `{ id, counter, values }` stands for the dots `(id, counter - values.length + 1)` …
 * `(id, counter)`, newest value first; `anonymous` holds values without a dot (written by a client
 * with no context and not yet given one by a server update).
 *
 * @module
 */
import { assert } from '../core/assert.js';
import { integerIn, nonEmptyString, rangeError } from '../core/validate.js';

/** One server's entry in a {@link DvvSet}. */
export interface DvvEntry<V> {
  /** The server (replica) id. */
  readonly id: string;
  /** Number of events of `id` in the causal history; also counts the values below. */
  readonly counter: number;
  /** Values still alive among the last `values.length` events of `id`, newest first. */
  readonly values: readonly V[];
}

/** A dotted version vector set of values of type `V`. Entries are sorted by `id`. */
export interface DvvSet<V> {
  /** One entry per server that ever wrote, sorted by id. */
  readonly entries: readonly DvvEntry<V>[];
  /** Values without a dot (from clients without context, or resolved by {@link dvvReconcile}). */
  readonly anonymous: readonly V[];
}

/** A causal context (a version vector): server id → counter, as {@link dvvJoin} returns it. */
export type DvvContext = Readonly<Record<string, number>>;

/** A set holding one value and no causal history (Riak `new/1`). */
export function dvvNew<V>(value: V): DvvSet<V> {
  return { entries: [], anonymous: [value] };
}

/**
 * A set holding one value whose causal past is `context` (Riak `new/2`): what a client sends
 * with a write after reading `context` with {@link dvvJoin}.
 */
export function dvvNewWithContext<V>(context: DvvContext, value: V): DvvSet<V> {
  const entries = Object.entries(context)
    .map(([id, counter]) => ({
      id: nonEmptyString('context id', id),
      counter: integerIn(`context.${id}`, counter, 0, Number.MAX_SAFE_INTEGER),
      values: [] as V[],
    }))
    .filter((e) => e.counter > 0)
    .sort((a, b) => cmpId(a.id, b.id));
  return { entries, anonymous: [value] };
}

/** The causal history of a set as a version vector (Riak `join/1`): hand it to clients as the read context. */
export function dvvJoin<V>(set: DvvSet<V>): DvvContext {
  return Object.fromEntries(set.entries.map((e) => [e.id, e.counter]));
}

/** Every value in the set: the anonymous ones, then each entry's, by id (Riak `values/1`). */
export function dvvValues<V>(set: DvvSet<V>): V[] {
  return [...set.anonymous, ...set.entries.flatMap((e) => e.values)];
}

/** The number of values (siblings) in the set. */
export function dvvSize<V>(set: DvvSet<V>): number {
  return set.anonymous.length + set.entries.reduce((n, e) => n + e.values.length, 0);
}

/**
 * True when `a`'s causal history is strictly contained in `b`'s, so every value of `a` is
 * obsolete given `b` (Riak `less/2`). Values are ignored.
 */
export function dvvLess<V>(a: DvvSet<V>, b: DvvSet<V>): boolean {
  let strict = false;
  let j = 0;
  for (const eb of b.entries) {
    const ea = a.entries[j];
    if (ea !== undefined && ea.id === eb.id) {
      if (ea.counter > eb.counter) return false;
      if (ea.counter < eb.counter) strict = true;
      j++;
    } else if (ea !== undefined && cmpId(ea.id, eb.id) < 0) {
      return false; // a has an id b lacks
    } else {
      strict = true; // b has an id a lacks
    }
  }
  return j === a.entries.length && strict;
}

/** True when both sets have the same causal history and value counts per entry (values ignored). */
export function dvvEqual<V>(a: DvvSet<V>, b: DvvSet<V>): boolean {
  if (a.entries.length !== b.entries.length) return false;
  return a.entries.every((ea, i) => {
    const eb = b.entries[i] as DvvEntry<V>;
    return ea.id === eb.id && ea.counter === eb.counter && ea.values.length === eb.values.length;
  });
}

/**
 * Merges sets from several replicas, keeping exactly the values no other set has seen
 * (Riak `sync/1`). Commutative, associative and idempotent on the causal histories.
 */
export function dvvSync<V>(sets: readonly DvvSet<V>[]): DvvSet<V> {
  let acc: DvvSet<V> | undefined;
  for (const s of sets) acc = acc === undefined ? s : sync2(acc, s);
  return acc ?? { entries: [], anonymous: [] };
}

function sync2<V>(a: DvvSet<V>, b: DvvSet<V>): DvvSet<V> {
  let anonymous: readonly V[];
  if (dvvLess(a, b)) anonymous = b.anonymous;
  else if (dvvLess(b, a)) anonymous = a.anonymous;
  else anonymous = uniqueValues([...a.anonymous, ...b.anonymous]);
  return { entries: syncEntries(a.entries, b.entries), anonymous };
}

function syncEntries<V>(a: readonly DvvEntry<V>[], b: readonly DvvEntry<V>[]): DvvEntry<V>[] {
  const out: DvvEntry<V>[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const ea = a[i];
    const eb = b[j];
    if (eb === undefined || (ea !== undefined && cmpId(ea.id, eb.id) < 0)) {
      out.push(ea as DvvEntry<V>);
      i++;
    } else if (ea === undefined || cmpId(ea.id, eb.id) > 0) {
      out.push(eb);
      j++;
    } else {
      out.push(mergeEntry(ea, eb));
      i++;
      j++;
    }
  }
  return out;
}

/**
 * Merges two entries of the same id. The one with the higher counter knows every event; of its
 * values, keep only those the other side had not yet seen or still holds: a value at dot `d` of
 * the larger side survives if `d` is newer than the smaller side's counter, or if the smaller side
 * still holds it (its oldest value's dot is <= d).
 */
function mergeEntry<V>(x: DvvEntry<V>, y: DvvEntry<V>): DvvEntry<V> {
  const [hi, lo] = x.counter >= y.counter ? [x, y] : [y, x];
  const hiOldest = hi.counter - hi.values.length;
  const loOldest = lo.counter - lo.values.length;
  if (hiOldest >= loOldest) return hi;
  const keep = hi.counter - lo.counter + lo.values.length;
  return { id: hi.id, counter: hi.counter, values: hi.values.slice(0, keep) };
}

/**
 * A server-side write without a client context (Riak `update/2`): `clientSet` must come from
 * {@link dvvNew} or {@link dvvNewWithContext}; its value gets the dot `(serverId, counter + 1)`.
 */
export function dvvUpdate<V>(clientSet: DvvSet<V>, serverId: string): DvvSet<V> {
  return { entries: event(clientSet.entries, serverId, singleValue(clientSet)), anonymous: [] };
}

/**
 * A server-side write (Riak `update/3`): merges the client's context into the server's current
 * set `serverSet` — discarding every value the client had seen — then gives the new value the
 * next dot of `serverId`. Values written concurrently (not in the context) stay as siblings.
 *
 * @example
 * let stored = dvvUpdate(dvvNew('v1'), 'a');              // a:1 [v1]
 * const ctx = dvvJoin(stored);                             // client reads { a: 1 }
 * stored = dvvUpdateWith(dvvNewWithContext(ctx, 'v2'), stored, 'a'); // a:2 [v2], v1 discarded
 */
export function dvvUpdateWith<V>(
  clientSet: DvvSet<V>,
  serverSet: DvvSet<V>,
  serverId: string,
): DvvSet<V> {
  const value = singleValue(clientSet);
  const synced = sync2({ entries: clientSet.entries, anonymous: [] }, serverSet);
  return { entries: event(synced.entries, serverId, value), anonymous: synced.anonymous };
}

function singleValue<V>(clientSet: DvvSet<V>): V {
  if (clientSet.anonymous.length !== 1) {
    throw rangeError(
      'clientSet.anonymous.length',
      '1 (build it with dvvNew or dvvNewWithContext)',
      clientSet.anonymous.length,
    );
  }
  return clientSet.anonymous[0] as V;
}

function event<V>(entries: readonly DvvEntry<V>[], id: string, value: V): DvvEntry<V>[] {
  nonEmptyString('serverId', id);
  const out: DvvEntry<V>[] = [];
  let placed = false;
  for (const e of entries) {
    if (!placed && e.id === id) {
      if (e.counter >= Number.MAX_SAFE_INTEGER)
        throw rangeError(`${id}.counter`, 'below 2^53 - 1', e.counter);
      out.push({ id, counter: e.counter + 1, values: [value, ...e.values] });
      placed = true;
    } else {
      if (!placed && cmpId(e.id, id) > 0) {
        out.push({ id, counter: 1, values: [value] });
        placed = true;
      }
      out.push(e);
    }
  }
  if (!placed) out.push({ id, counter: 1, values: [value] });
  return out;
}

/**
 * Resolves siblings with `winner` (Riak `reconcile/2`): the result keeps the causal history and
 * holds the single value `winner(values)` as an anonymous value, ready for {@link dvvUpdateWith}.
 */
export function dvvReconcile<V>(winner: (values: V[]) => V, set: DvvSet<V>): DvvSet<V> {
  return dvvNewWithContext(dvvJoin(set), winner(dvvValues(set)));
}

/**
 * The greatest value by `lessOrEqual` (Riak `last/2`), or undefined for an empty set. Of equal
 * values the one found last wins (entries by id, then anonymous values).
 */
export function dvvLast<V>(lessOrEqual: (a: V, b: V) => boolean, set: DvvSet<V>): V | undefined {
  const found = findLast(lessOrEqual, set);
  return found?.value;
}

/**
 * Last-writer-wins (Riak `lww/2`): keeps only the greatest value by `lessOrEqual` (e.g. by a
 * timestamp carried in the value), in its original place, with the full causal history.
 */
export function dvvLww<V>(lessOrEqual: (a: V, b: V) => boolean, set: DvvSet<V>): DvvSet<V> {
  const found = findLast(lessOrEqual, set);
  if (found === undefined) return set;
  if (found.id === undefined) return dvvNewWithContext(dvvJoin(set), found.value);
  return {
    entries: set.entries.map((e) => ({
      id: e.id,
      counter: e.counter,
      values: e.id === found.id ? [found.value] : [],
    })),
    anonymous: [],
  };
}

/** Applies `fn` to every value, keeping the causal history (Riak `map/2`). */
export function dvvMap<V, W>(fn: (value: V) => W, set: DvvSet<V>): DvvSet<W> {
  return {
    entries: set.entries.map((e) => ({ id: e.id, counter: e.counter, values: e.values.map(fn) })),
    anonymous: set.anonymous.map(fn),
  };
}

/**
 * The candidates are the newest value of each entry and every anonymous value (older values of an
 * entry are never compared, as in Riak). Entries go first, by id, then anonymous values; a later
 * candidate wins a tie.
 */
function findLast<V>(
  le: (a: V, b: V) => boolean,
  set: DvvSet<V>,
): { id: string | undefined; value: V } | undefined {
  let best: { id: string | undefined; value: V } | undefined;
  for (const e of set.entries) {
    if (e.values.length === 0) continue;
    const value = e.values[0] as V;
    if (best === undefined || le(best.value, value)) best = { id: e.id, value };
  }
  for (const value of set.anonymous) {
    if (best === undefined || le(best.value, value)) best = { id: undefined, value };
  }
  assert(best !== undefined || dvvSize(set) === 0, 'a non-empty set has a last value');
  return best;
}

function cmpId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function uniqueValues<V>(values: V[]): V[] {
  return values.filter((v, i) => values.indexOf(v) === i);
}

/**
 * Deadlocks across databases: each database reports the waits it sees, mapped to global
 * transaction ids, and the union of those edges is searched for cycles. A cycle that crosses two
 * databases is invisible to both — each holds one edge of it — and only the union shows it.
 *
 * @module
 */
import { nonEmptyString, rangeError } from '../core/validate.js';
import { DeadlockError } from './errors.js';
import { WaitForGraph } from './graph.js';

/** One wait a database reported: transaction `waiter` waits for a lock `holder` holds. */
export interface WaitForEdge {
  /** The waiting transaction's global id. */
  readonly waiter: string;
  /** The holding transaction's global id. */
  readonly holder: string;
  /** Where the wait was seen (a database name, for the report). */
  readonly source: string;
  /** The waiter's session there (PostgreSQL backend pid, MariaDB thread id), to cancel its wait. */
  readonly waiterSession: number;
  /** The holder's session there. */
  readonly holderSession: number;
}

/** A deadlock {@link findDeadlocks} found: the cycle, the victim, and the error to give it. */
export interface FoundDeadlock {
  /** The cycle, victim first: each waits for the next, the last for the first. */
  readonly cycle: readonly string[];
  readonly victim: string;
  /** The waits of the victim on the cycle (cancel these sessions' statements to break it). */
  readonly victimWaits: readonly WaitForEdge[];
  /** The typed error the victim's transaction should fail with. */
  readonly error: DeadlockError;
}

/** Options of {@link findDeadlocks}. */
export interface FindDeadlocksOptions {
  /**
   * Picks the victim of a cycle (given rotated to its smallest id). Default: the greatest id,
   * which is the youngest transaction when ids sort by start (e.g. a zero-padded sequence or a
   * time-ordered id) — it has done the least work. Must return a member of the cycle.
   */
  readonly victimOf?: (cycle: readonly string[]) => string;
}

function greatest(cycle: readonly string[]): string {
  let out = cycle[0] as string;
  for (const id of cycle) if (id > out) out = id;
  return out;
}

/**
 * Builds one wait-for graph from the edges of every source and returns each cycle with its
 * victim (disjoint cycles; a transaction is on at most one of them).
 *
 * @example
 * const edges = [...(await postgresWaitForEdges(pgPool, ids)), ...(await mariadbWaitForEdges(mariaPool, ids))];
 * for (const d of findDeadlocks(edges)) await abort(d.victim, d.error, d.victimWaits);
 */
export function findDeadlocks(
  edges: Iterable<WaitForEdge>,
  options: FindDeadlocksOptions = {},
): FoundDeadlock[] {
  const graph = new WaitForGraph();
  const list: WaitForEdge[] = [];
  for (const e of edges) {
    nonEmptyString('edge.waiter', e.waiter);
    nonEmptyString('edge.holder', e.holder);
    // A session waiting for itself is not a wait between transactions.
    if (e.waiter === e.holder) continue;
    graph.addEdge(e.waiter, e.holder);
    list.push(e);
  }
  const victimOf = options.victimOf ?? greatest;
  return graph.cycles().map((cycle) => {
    const victim = victimOf(cycle);
    const at = cycle.indexOf(victim);
    if (at < 0) throw rangeError('victimOf(cycle)', `a member of ${cycle.join(', ')}`, victim);
    const rotated = [...cycle.slice(at), ...cycle.slice(0, at)];
    const next = rotated[1 % rotated.length] as string;
    const victimWaits = list.filter((e) => e.waiter === victim && e.holder === next);
    return { cycle: rotated, victim, victimWaits, error: new DeadlockError(victim, rotated) };
  });
}

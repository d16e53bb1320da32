/**
 * A wait-for graph: an edge `a → b` means transaction `a` waits for a lock `b` holds. A cycle is a
 * deadlock.
 *
 * @module
 */

/** A directed wait-for graph over transaction ids. */
export class WaitForGraph {
  private readonly out = new Map<string, Set<string>>();

  /** Adds `waiter → holder`. */
  addEdge(waiter: string, holder: string): void {
    let set = this.out.get(waiter);
    if (set === undefined) this.out.set(waiter, (set = new Set()));
    set.add(holder);
  }

  /** Removes `waiter → holder`. */
  removeEdge(waiter: string, holder: string): void {
    const set = this.out.get(waiter);
    set?.delete(holder);
    if (set?.size === 0) this.out.delete(waiter);
  }

  /** Removes every edge out of `waiter` (it stopped waiting). */
  clearWaits(waiter: string): void {
    this.out.delete(waiter);
  }

  /** Every edge, as `[waiter, holder]`. */
  edges(): [string, string][] {
    const out: [string, string][] = [];
    for (const [a, set] of this.out) for (const b of set) out.push([a, b]);
    return out;
  }

  /** True when the edge exists. */
  has(waiter: string, holder: string): boolean {
    return this.out.get(waiter)?.has(holder) ?? false;
  }

  /** A cycle through `start` (starting with it), or undefined. Depth-first, iterative. */
  cycleThrough(start: string): string[] | undefined {
    const path: string[] = [start];
    const iters: Iterator<string>[] = [(this.out.get(start) ?? new Set<string>()).values()];
    const onPath = new Set([start]);
    const done = new Set<string>();
    while (iters.length > 0) {
      const next = (iters[iters.length - 1] as Iterator<string>).next();
      if (next.done === true) {
        const node = path.pop() as string;
        onPath.delete(node);
        done.add(node);
        iters.pop();
        continue;
      }
      const n = next.value;
      if (n === start) return [...path];
      if (onPath.has(n) || done.has(n)) continue;
      path.push(n);
      onPath.add(n);
      iters.push((this.out.get(n) ?? new Set<string>()).values());
    }
    return undefined;
  }

  /** Cycles found from every node not already on a reported one (each rotated to its smallest id). */
  cycles(): string[][] {
    const seen = new Set<string>();
    const out: string[][] = [];
    for (const node of [...this.out.keys()].sort()) {
      if (seen.has(node)) continue;
      const c = this.cycleThrough(node);
      if (c === undefined) continue;
      for (const n of c) seen.add(n);
      out.push(canonicalCycle(c));
    }
    return out;
  }
}

/** Rotates a cycle to start at its smallest id, so that equal cycles compare equal. */
export function canonicalCycle(cycle: readonly string[]): string[] {
  let min = 0;
  for (let i = 1; i < cycle.length; i++) if ((cycle[i] as string) < (cycle[min] as string)) min = i;
  return [...cycle.slice(min), ...cycle.slice(0, min)];
}

import { describe, expect, it } from 'vitest';
import { isDeadlockError } from './errors.js';
import { findDeadlocks } from './global.js';
import type { WaitForEdge } from './global.js';

function edge(waiter: string, holder: string, source = 'db', waiterSession = 1): WaitForEdge {
  return { waiter, holder, source, waiterSession, holderSession: 2 };
}

describe('findDeadlocks', () => {
  it('finds a cycle only in the union of two sources, the greatest id as victim', () => {
    const pg = [edge('T2', 'T1', 'postgres', 11)];
    const maria = [edge('T1', 'T2', 'mariadb', 22)];
    expect(findDeadlocks(pg)).toEqual([]);
    expect(findDeadlocks(maria)).toEqual([]);
    const [found, ...rest] = findDeadlocks([...pg, ...maria]);
    expect(rest).toEqual([]);
    expect(found?.victim).toBe('T2');
    expect(found?.cycle).toEqual(['T2', 'T1']);
    expect(found?.victimWaits).toEqual(pg);
    expect(isDeadlockError(found?.error)).toBe(true);
    expect(found?.error.message).toContain('T2 → T1 → T2');
  });

  it('takes a victim policy, ignores self-waits and chains', () => {
    const edges = [edge('a', 'b'), edge('b', 'c'), edge('c', 'a'), edge('d', 'd'), edge('e', 'a')];
    const [found] = findDeadlocks(edges, { victimOf: () => 'b' });
    expect(found?.cycle).toEqual(['b', 'c', 'a']);
    expect(found?.victimWaits).toEqual([edge('b', 'c')]);
    expect(findDeadlocks([edge('d', 'd'), edge('e', 'a')])).toEqual([]);
  });

  it('refuses a victim off the cycle and an empty id', () => {
    expect(() => findDeadlocks([edge('a', 'b'), edge('b', 'a')], { victimOf: () => 'z' })).toThrow(
      /victimOf/,
    );
    expect(() => findDeadlocks([edge('', 'b')])).toThrow(/edge.waiter/);
  });
});

import { describe, expect, it } from 'vitest';
import { runSeeds } from '../testing.js';
import { capPartition, survivors } from './cap-partition.js';

describe('the cap-partition scenario', () => {
  it('expects after the heal exactly the writes no later write had seen, transitively', () => {
    const w = (key: string, value: string, observed: string[] = []) => ({ key, value, observed });
    const acked = [
      w('x', 'a'),
      w('x', 'b', ['a']), // b superseded a
      w('x', 'c', ['b']), // c superseded b, and so a
      w('x', 'd'), // concurrent with all of them: a sibling
      w('x', 'e', ['d', 'z']), // supersedes d; z was never acknowledged
      w('y', 'f', ['c']), // another key's values do not count
    ];
    expect(survivors(acked, 'x')).toEqual(['c', 'e']);
    expect(survivors(acked, 'y')).toEqual(['f']);
    expect(survivors([w('x', 'a', ['b']), w('x', 'b', ['a'])], 'x')).toEqual([]);
  });

  it('the available store accepts minority writes, keeps siblings and reconciles them (seeds 1..10)', async () => {
    const runs = await runSeeds(capPartition, 'unsafe', 1, 10);
    for (const r of runs) {
      expect(r.figures['acceptedMinorityWrites'], `seed ${r.seed}`).toBeGreaterThan(0);
      expect(r.figures['siblingsAfterHeal'], `seed ${r.seed}`).toBeGreaterThanOrEqual(2);
      expect(r.figures['reconciled'], `seed ${r.seed}`).toBe(1);
      // It violates linearizability, and only that: no replica lost a write or kept a stale one.
      expect(r.violated, `seed ${r.seed}`).toBe(true);
      expect(r.evidence?.summary, `seed ${r.seed}`).toMatch(/^not linearizable/);
    }
  }, 120_000);

  it('Raft acknowledges no minority write during the partition and stays linearizable (seeds 1..10)', async () => {
    const runs = await runSeeds(capPartition, 'safe', 1, 10);
    for (const r of runs) {
      expect(r.figures['acceptedMinorityWrites'], `seed ${r.seed}`).toBe(0);
      expect(r.figures['linearizable'], `seed ${r.seed}`).toBe(1);
    }
    // The minority side's clients did try to write.
    expect(runs.some((r) => (r.figures['refusedMinorityWrites'] ?? 0) > 0)).toBe(true);
  }, 120_000);
});

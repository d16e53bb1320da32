import { describe, expect, it } from 'vitest';
import { runSeeds } from '../testing.js';
import { capPartition } from './cap-partition.js';

describe('the cap-partition scenario', () => {
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

import { describe, expect, it } from 'vitest';
import { runVariant } from '../run.js';
import { staleRead } from './stale-read.js';

const seeds = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('lab: stale read', () => {
  it('follower reads are not linearizable on every seed, yet sequentially consistent', async () => {
    for (const seed of seeds(1, 10)) {
      const run = await runVariant(staleRead, 'unsafe', { seed });
      expect(run.violated, `seed ${seed}`).toBe(true);
      expect(run.figures['staleReads']).toBeGreaterThan(0);
      expect(run.figures['sequentiallyConsistent']).toBe(1);
    }
  });

  it('the barrier costs a round trip to the primary and the replication lag', async () => {
    const unsafe = await runVariant(staleRead, 'unsafe', { seed: 3 });
    const safe = await runVariant(staleRead, 'safe', { seed: 3 });
    expect(safe.figures['readP50Ms']).toBeGreaterThan(unsafe.figures['readP50Ms'] ?? Infinity);
  });

  it('highlights the stale read in the trace and replays it exactly', async () => {
    const a = await runVariant(staleRead, 'unsafe', { seed: 2, record: true });
    const b = await runVariant(staleRead, 'unsafe', { seed: 2 });
    expect(b.traceHash).toBe(a.traceHash);
    // The evidence points at the invocation of the read that returned the old value.
    const op = a.trace?.events.find((e) => e.index === a.evidence?.traceIndex);
    expect(op?.kind).toBe('op');
    expect(op?.node).toMatch(/^reader\d$/);
    expect(op?.detail).toMatchObject({ type: 'invoke', f: 'read' });
    expect(a.evidence?.operations?.at(-1)).toMatch(/^reader\d read/);
  });
});

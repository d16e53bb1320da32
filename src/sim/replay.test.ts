import { describe, expect, it } from 'vitest';
import { runKvWorkload } from '../lab/kv/kv.js';
import { checkReplay, NondeterminismError } from './replay.js';
import { Simulation } from './simulation.js';

describe('checkReplay', () => {
  it('returns one hash per seed when runs agree', async () => {
    const hashes = await checkReplay([1, 2], async (seed) => {
      return (
        await runKvWorkload({ seed, durationMs: 100, faults: 'random', trace: { record: false } })
      ).traceHash;
    });
    expect([...hashes.keys()]).toEqual([1, 2]);
    expect(hashes.get(1)).not.toBe(hashes.get(2));
  });

  it('names the seed when a run is not deterministic', async () => {
    let leak = 0; // state shared between runs: the kind of bug it catches
    const run = (seed: number): string => {
      const sim = new Simulation({ seed });
      const a = sim.node('a');
      a.runtime.timers.setTimer(leak++, () => a.send('a', 'tick'));
      sim.runSync();
      return sim.trace.hash();
    };
    const error = await checkReplay([5], run, { runs: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NondeterminismError);
    expect((error as NondeterminismError).seed).toBe(5);
    expect((error as Error).message).toMatch(/seed 5/);
  });

  it('validates runs', async () => {
    await expect(checkReplay([1], () => 'x', { runs: 1 })).rejects.toThrow(/runs/);
  });
});

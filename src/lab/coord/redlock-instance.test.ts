import { describe, expect, it } from 'vitest';
import { Simulation } from '../../sim/simulation.js';
import { MemoryRedlockInstance } from './redlock-instance.js';

const o = { signal: new AbortController().signal };

function instance(): { sim: Simulation; server: MemoryRedlockInstance; step(ms: number): void } {
  const sim = new Simulation({ seed: 1, trace: false });
  const node = sim.node('r1');
  return {
    sim,
    server: new MemoryRedlockInstance(node.runtime),
    step: (ms) => node.clock.stepWallMs(ms),
  };
}

describe('MemoryRedlockInstance', () => {
  it('raises the holder’s token and keeps later tokens above it, like the Redis raise script', async () => {
    const { server } = instance();
    const first = await server.tryAcquire('k', 'a', 1_000, o);
    expect(first).toMatchObject({ kind: 'acquired', token: 1n });
    expect(await server.raiseToken('k', 'a', 7n, o)).toBe(true);
    expect((await server.holder('k', o))?.token).toBe(7n);
    expect(await server.extend('k', 'a', 7n, 1_000, o)).toMatchObject({ kind: 'extended' });
    expect(await server.extendOwner('k', 'a', 1_000, o)).toMatchObject({ kind: 'extended' });
    expect(await server.raiseToken('k', 'b', 9n, o)).toBe(false);
    await server.release('k', 'a', o);
    const next = await server.tryAcquire('k', 'b', 1_000, o);
    expect(next.kind === 'acquired' && next.token > 7n).toBe(true);
  });

  it('expires a key when its node’s wall clock steps forward past the TTL', async () => {
    const { server, step } = instance();
    await server.tryAcquire('k', 'a', 1_000, o);
    expect(await server.tryAcquire('k', 'b', 1_000, o)).toMatchObject({ kind: 'busy' });
    step(2_000);
    expect(await server.extendOwner('k', 'a', 1_000, o)).toEqual({
      kind: 'lost',
      reason: 'expired',
    });
    expect(await server.tryAcquire('k', 'b', 1_000, o)).toMatchObject({
      kind: 'acquired',
      token: 2n,
    });
  });
});

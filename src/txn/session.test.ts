import { describe, expect, it } from 'vitest';
import { Simulation } from '../sim/simulation.js';
import { SessionRouter, SessionToken } from './session.js';
import type { ServedRead } from './session.js';

/** Servers as applied positions; a read answers the position, or `behind`. */
function servers(applied: Record<string, bigint>) {
  const calls: string[] = [];
  const readOn = (target: string, token: bigint): Promise<ServedRead<string>> => {
    calls.push(target);
    const position = applied[target] ?? 0n;
    return Promise.resolve(
      position >= token
        ? { kind: 'read', value: `${target}@${position}`, position }
        : { kind: 'behind', position },
    );
  };
  return { calls, readOn };
}

describe('SessionToken', () => {
  it('keeps the highest position and round-trips as text', () => {
    const t = new SessionToken();
    t.observe(0x2a0n);
    t.observe(5n);
    expect(t.position).toBe(0x2a0n);
    expect(t.toString()).toBe('pos:2a0');
    expect(SessionToken.parse('pos:2a0').position).toBe(0x2a0n);
  });

  it('refuses malformed tokens, naming the field and the value', () => {
    for (const bad of ['', 'pos:', 'pos:xyz', 'pos:12345678901234567', '2a0'])
      expect(() => SessionToken.parse(bad)).toThrow(/token must be/);
    expect(() => new SessionToken(-1n)).toThrow(/position must be a bigint >= 0/);
  });
});

describe('SessionRouter', () => {
  it('reads from a replica that applied the token, and raises the token to the read position', async () => {
    const { readOn } = servers({ primary: 10n, r1: 4n, r2: 9n });
    const router = new SessionRouter({ primary: 'primary', replicas: ['r1', 'r2'] });
    const session = new SessionToken(7n);
    const read = await router.read(session, readOn);
    expect(read).toEqual({ value: 'r2@9', servedBy: 1, behind: 1 });
    expect(session.position).toBe(9n);
  });

  it('goes to the primary when every replica is behind and it may not wait', async () => {
    const { readOn, calls } = servers({ primary: 10n, r1: 4n, r2: 5n });
    const router = new SessionRouter({ primary: 'primary', replicas: ['r1', 'r2'] });
    const session = new SessionToken(10n);
    expect((await router.read(session, readOn)).servedBy).toBe('primary');
    expect(calls).toEqual(['r1', 'r2', 'primary']);
    expect(router.served).toEqual({ replica: 0, primary: 1 });
  });

  it('waits up to maxWaitMs for a replica to catch up', async () => {
    const sim = new Simulation({ seed: 1 });
    const node = sim.node('client');
    const applied: Record<string, bigint> = { primary: 10n, r1: 4n };
    const { readOn } = servers(applied);
    sim.scheduler.after(25, () => (applied['r1'] = 10n));
    const router = new SessionRouter({
      primary: 'primary',
      replicas: ['r1'],
      maxWaitMs: 50,
      pollMs: 10,
      runtime: node.runtime,
    });
    let result: unknown;
    void router.read(new SessionToken(10n), readOn).then((r) => (result = r));
    await sim.run({ until: () => result !== undefined, untilMs: 1000 });
    expect(result).toEqual({ value: 'r1@10', servedBy: 0, behind: 3 });
    expect(sim.nowMs).toBe(30);
  });

  it('keeps a key on one replica when sticky', () => {
    const router = new SessionRouter({ primary: 'p', replicas: ['r1', 'r2', 'r3'] });
    expect(router.stickyReplica('user-7')).toBe(router.stickyReplica('user-7'));
    const spread = new Set(Array.from({ length: 30 }, (_, i) => router.stickyReplica(`k${i}`)));
    expect(spread.size).toBe(3);
  });

  it('validates its options', () => {
    expect(() => new SessionRouter({ primary: 'p', replicas: [], maxWaitMs: -1 })).toThrow(
      /maxWaitMs must be a finite number >= 0 \(got -1\)/,
    );
    expect(() => new SessionRouter({ primary: 'p', replicas: [], pollMs: 0 })).toThrow(/pollMs/);
  });
});

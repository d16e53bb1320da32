import { describe, expect, it } from 'vitest';
import { Keyring, PbftReplica } from './pbft.js';
import type { Signed } from './pbft.js';
import { pbftProtocol } from './pbft-sim.js';

const replicas = ['r0', 'r1', 'r2', 'r3'];
const keyring = new Keyring(new Map([...replicas, 'client'].map((r) => [r, `key-${r}`])));

function sent(r: PbftReplica): Signed[] {
  const out = r.ready().messages.map((m) => m.message);
  r.advance();
  return out;
}

describe('PbftReplica', () => {
  it('refuses fewer than 4 replicas and an id outside them, naming the field', () => {
    expect(() => new PbftReplica({ id: 'r0', replicas: ['r0', 'r1', 'r2'], keyring })).toThrow(
      /replicas/,
    );
    expect(() => new PbftReplica({ id: 'x', replicas, keyring })).toThrow(/id/);
  });

  it('rejects a forged sender: a MAC that is not the claimed sender’s, or a sender the link does not name', () => {
    const r1 = new PbftReplica({ id: 'r1', replicas, keyring });
    const genuine = keyring.sign('r0', { kind: 'pre-prepare', view: 0, seq: 1, request: 'a' });
    r1.step('r2', genuine); // relayed by r2 as if from r0
    const forged: Signed = { ...keyring.sign('r2', genuine.body), by: 'r0' };
    r1.step('r0', forged);
    expect(sent(r1)).toEqual([]);
    r1.step('r0', genuine);
    expect(sent(r1).map((m) => m.body.kind)).toEqual(['prepare', 'prepare', 'prepare']);
  });

  it('commits with 2f + 1 matching commits after a pre-prepare and 2f prepares', () => {
    const r1 = new PbftReplica({ id: 'r1', replicas, keyring });
    const body = { view: 0, seq: 1, request: 'a' };
    r1.step('r0', keyring.sign('r0', { kind: 'pre-prepare', ...body }));
    r1.step('r2', keyring.sign('r2', { kind: 'prepare', ...body }));
    expect(sent(r1).some((m) => m.body.kind === 'commit')).toBe(true);
    r1.step('r2', keyring.sign('r2', { kind: 'commit', ...body }));
    expect(r1.committedLog.get(1)).toBeUndefined();
    r1.step('r3', keyring.sign('r3', { kind: 'commit', ...body }));
    expect(r1.committedLog.get(1)).toBe('a');
  });
});

describe('PBFT in the simulator', () => {
  async function violating(variant: string, seeds: number): Promise<number[]> {
    const failing: number[] = [];
    for (let seed = 1; seed <= seeds; seed++)
      if ((await pbftProtocol.run({ seed, variant })).violations > 0) failing.push(seed);
    return failing;
  }

  it('agrees and commits every request after healing, with a Byzantine primary: seeds 1..100', async () => {
    expect(await violating('correct', 100)).toEqual([]);
  });

  it('catches f + 1 quorums and a missing view change within 200 seeds', async () => {
    expect((await violating('small-quorum', 20)).length).toBeGreaterThan(0);
    expect((await violating('no-view-change', 20)).length).toBeGreaterThan(0);
  });
});

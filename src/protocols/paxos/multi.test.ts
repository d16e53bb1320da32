import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../core/random.js';
import { MultiPaxosNode, NOOP } from './multi.js';
import type { MultiPaxosMessage } from './multi.js';
import { multiPaxosProtocol } from './multi-sim.js';

const peers = ['n1', 'n2', 'n3'];

function take(node: MultiPaxosNode): MultiPaxosMessage[] {
  const out = node.ready().messages.map((m) => m.message);
  node.advance();
  return out;
}

/** Makes n1 leader: ticks until it stands, then answers its prepare with `accepted` from n2. */
function leader(accepted: { slot: number; ballot: number; value: string }[]): MultiPaxosNode {
  const n1 = new MultiPaxosNode({
    id: 'n1',
    peers,
    random: new SeededRandom(1),
    electionTicks: 4,
    heartbeatTicks: 2,
  });
  let prepare: MultiPaxosMessage | undefined;
  for (let i = 0; i < 20 && prepare === undefined; i++) {
    n1.tick();
    prepare = take(n1).find((m) => m.kind === 'prepare');
  }
  const ballot = prepare?.kind === 'prepare' ? prepare.ballot : -1;
  n1.step('n1', { kind: 'prepare', ballot });
  take(n1);
  n1.step('n1', { kind: 'promise', ballot, accepted: [] });
  n1.step('n2', { kind: 'promise', ballot, accepted });
  return n1;
}

describe('MultiPaxosNode', () => {
  it('runs phase 1 once per leadership, then phase 2 only for each command', () => {
    const n1 = leader([]);
    expect(n1.isLeader).toBe(true);
    take(n1);
    for (let i = 0; i < 10; i++) n1.submit(`c${i}`);
    const sent = take(n1);
    expect(sent.filter((m) => m.kind === 'prepare')).toHaveLength(0);
    expect(
      sent.filter((m) => m.kind === 'accept').map((m) => (m.kind === 'accept' ? m.slot : -1)),
    ).toEqual(Array.from({ length: 10 }, (_, i) => [i, i, i]).flat());
  });

  it('re-proposes what promisers accepted and fills the gaps below with no-ops', () => {
    const n1 = leader([{ slot: 2, ballot: 5, value: 'x' }]);
    const accepts = take(n1).flatMap((m): [number, string][] =>
      m.kind === 'accept' ? [[m.slot, m.value]] : [],
    );
    expect(new Map(accepts)).toEqual(
      new Map([
        [0, NOOP],
        [1, NOOP],
        [2, 'x'],
      ]),
    );
  });

  it('refuses bad options naming the field', () => {
    expect(
      () => new MultiPaxosNode({ id: 'n1', peers, random: new SeededRandom(1), electionTicks: 1 }),
    ).toThrow(/electionTicks/);
  });
});

describe('Multi-Paxos in the simulator', () => {
  async function violating(variant: string, seeds: number): Promise<number[]> {
    const failing: number[] = [];
    for (let seed = 1; seed <= seeds; seed++)
      if ((await multiPaxosProtocol.run({ seed, variant })).violations > 0) failing.push(seed);
    return failing;
  }

  it('one value per slot, no gaps, every node learns the log: seeds 1..150 under faults', async () => {
    expect(await violating('correct', 150)).toEqual([]);
  });

  it('catches the broken variants within 200 seeds', async () => {
    expect((await violating('no-durable-promise', 60)).length).toBeGreaterThan(0);
    expect((await violating('no-recovery', 20)).length).toBeGreaterThan(0);
  });
});

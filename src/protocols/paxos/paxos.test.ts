import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../core/random.js';
import { Simulation } from '../../sim/simulation.js';
import { ballotOf } from './ballot.js';
import { ChosenChecker } from './checker.js';
import { flpExperiment, paxosProtocol, runPaxos } from './sim.js';
import { PaxosNode } from './single.js';
import type { PaxosMessage } from './single.js';

const peers = ['n1', 'n2', 'n3'];
const random = (): SeededRandom => new SeededRandom(1);

function drain(node: PaxosNode): {
  persist: unknown;
  messages: { to: string; message: PaxosMessage }[];
} {
  const ready = node.ready();
  const out = { persist: ready.persist, messages: [...ready.messages] };
  node.advance();
  return out;
}

async function violatingSeeds(variant: string, seeds: number): Promise<number[]> {
  const failing: number[] = [];
  for (let seed = 1; seed <= seeds; seed++)
    if ((await paxosProtocol.run({ seed, variant })).violations > 0) failing.push(seed);
  return failing;
}

describe('PaxosNode', () => {
  it('rejects bad options naming the field', () => {
    expect(() => new PaxosNode({ id: 'x', peers, random: random() })).toThrow(/id/);
    expect(() => new PaxosNode({ id: 'n1', peers: ['n1', 'n1'], random: random() })).toThrow(
      /peers/,
    );
    expect(() => new PaxosNode({ id: 'n1', peers, random: random(), retryTicks: 0 })).toThrow(
      /retryTicks/,
    );
  });

  it('persists its promise before the promise leaves, and refuses a lower ballot after a restart', () => {
    const a = new PaxosNode({ id: 'n2', peers, random: random() });
    a.step('n1', { kind: 'prepare', ballot: ballotOf(2, 0) });
    const batch = drain(a);
    expect(batch.persist).toEqual({ promised: ballotOf(2, 0), accepted: null, round: 0 });
    expect(batch.messages).toEqual([
      { to: 'n1', message: { kind: 'promise', ballot: ballotOf(2, 0), accepted: null } },
    ]);
    const restarted = new PaxosNode(
      { id: 'n2', peers, random: random() },
      batch.persist as { promised: number; accepted: null; round: number },
    );
    restarted.step('n3', { kind: 'accept', ballot: ballotOf(1, 2), value: 'y' });
    expect(drain(restarted).messages).toEqual([
      { to: 'n3', message: { kind: 'nack', ballot: ballotOf(1, 2), promised: ballotOf(2, 0) } },
    ]);
  });

  it('proposes the highest accepted value it hears of in phase 1, not its own', () => {
    const p = new PaxosNode({ id: 'n1', peers, value: 'mine', random: random() });
    const prepare = drain(p).messages[0]?.message;
    expect(prepare?.kind).toBe('prepare');
    const ballot = prepare?.kind === 'prepare' ? prepare.ballot : -1;
    p.step('n2', { kind: 'promise', ballot, accepted: { ballot: 5, value: 'old' } });
    p.step('n3', { kind: 'promise', ballot, accepted: { ballot: 9, value: 'newer' } });
    const accepts = drain(p).messages.map((m) => m.message);
    expect(accepts).toContainEqual({ kind: 'accept', ballot, value: 'newer' });
  });

  it('learns a value once a majority accepted it at one ballot', () => {
    const l = new PaxosNode({ id: 'n3', peers, random: random() });
    l.step('n1', { kind: 'accepted', ballot: 7, value: 'x' });
    expect(l.learned).toBeUndefined();
    l.step('n2', { kind: 'accepted', ballot: 7, value: 'x' });
    expect(l.learned).toBe('x');
  });
});

describe('ChosenChecker', () => {
  it('reports two values chosen for one slot', () => {
    const c = new ChosenChecker(3, () => 0);
    c.accepted('n1', 0, 1, 'a');
    c.accepted('n2', 0, 1, 'a');
    expect(c.violations).toHaveLength(0);
    c.accepted('n2', 0, 2, 'b');
    c.accepted('n3', 0, 2, 'b');
    expect(c.violations.map((v) => v.summary)).toEqual([
      'two values chosen for slot 0: "a" and "b"',
    ]);
    expect(c.valuesChosen(0)).toBe(2);
  });

  it('reports a learner that learned a value that was not chosen', () => {
    const c = new ChosenChecker(3, () => 0);
    c.learned('n1', 0, 'z');
    expect(c.violations).toHaveLength(1);
  });
});

describe('single-decree Paxos in the simulator', () => {
  it('chooses one value and every node learns it, on seeds 1..200 under faults', async () => {
    expect(await violatingSeeds('correct', 200)).toEqual([]);
  });

  it('catches the broken variants within 200 seeds', async () => {
    expect((await violatingSeeds('no-durable-promise', 200)).length).toBeGreaterThan(0);
    expect((await violatingSeeds('duelling', 50)).length).toBeGreaterThan(0);
  });

  it('replays a seed: the same trace hash', async () => {
    const hash = async (): Promise<string> => {
      const sim = new Simulation({ seed: 7 });
      await runPaxos({ sim, variant: 'correct' });
      return sim.trace.hash();
    };
    expect(await hash()).toBe(await hash());
  });

  it('FLP: without back-off some seeds do not decide in time, with randomized back-off all do', async () => {
    const duelling = await flpExperiment('none', 60);
    const backoff = await flpExperiment('randomized', 60);
    expect(duelling.decidedShare).toBeLessThan(1);
    expect(backoff.decidedShare).toBe(1);
    expect(backoff.decisionMs.p50).toBeLessThan(duelling.decisionMs.p50);
  });
});

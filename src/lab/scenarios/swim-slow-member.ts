/**
 * SWIM under a slow member: one of eight members is overloaded, so every message it receives
 * waits up to a few seconds before it is handled. Classic SWIM lets that member's late acks and
 * late refutations turn into false declarations of death; Lifeguard (local health, dynamic
 * suspicion timeouts, nacks) keeps the cluster accurate, and still detects a real crash.
 *
 * @module
 */
import { SwimChecker, startSwimCluster } from '../../protocols/swim/sim.js';
import type { Evidence, LabContext, Scenario, VariantOutcome } from '../types.js';

const MEMBERS = 8;
const SLOW = 'm8';
const CRASHED = 'm2';
const CRASH_MS = 10_000;
const END_MS = 60_000;
const DEFAULT_DELAY_MS = 3000;

async function run(context: LabContext, lifeguard: boolean): Promise<VariantOutcome> {
  const sim = context.simulation({
    network: { latency: { kind: 'uniform', minMs: 1, maxMs: 10 }, lossProbability: 0.01 },
  });
  const delayMs = context.knobs['delayMs'] ?? DEFAULT_DELAY_MS;
  let evidence: Evidence | undefined;
  let healthyDeclared = 0;
  let slowDeclared = 0;
  const checker = new SwimChecker((timeMs, by, node) => {
    const crashed = checker.crashedAtMs.has(node);
    const healthy = !crashed && node !== SLOW;
    if (healthy) healthyDeclared++;
    if (node === SLOW) slowDeclared++;
    const index = context.note(by, `declares ${node} dead${crashed ? '' : ' (it is alive)'}`);
    if (!healthy || evidence !== undefined) return;
    evidence = {
      timeMs,
      node: by,
      traceIndex: index,
      summary: `${by} declared the healthy member ${node} dead: ${by === SLOW ? 'the slow member took its own late acks for failures' : `suspicions started by the slow member ran out before ${node}'s refutation arrived`}.`,
      operations: [
        `${SLOW} handles messages up to ${delayMs} ms late`,
        `${by} declares ${node} dead at ${timeMs.toFixed(0)} ms`,
      ],
    };
  });
  const names = Array.from({ length: MEMBERS }, (_, i) => `m${i + 1}`);
  const cluster = startSwimCluster({
    sim,
    names,
    checker,
    options: { lifeguard },
    slow: { node: SLOW, delayMs },
  });
  sim.scheduler.at(CRASH_MS, () => {
    context.note(CRASHED, 'crashes');
    cluster.crash(CRASHED);
  });
  sim.runSync({ untilMs: END_MS });
  if (evidence === undefined && !checker.detectionMs.has(CRASHED)) {
    const index = context.note(CRASHED, 'never declared dead');
    evidence = {
      timeMs: sim.nowMs,
      node: CRASHED,
      traceIndex: index,
      summary: `${CRASHED} crashed at ${CRASH_MS} ms and nobody declared it dead by the end of the run.`,
      operations: [`${CRASHED} crashes at ${CRASH_MS} ms`, `no declaration by ${END_MS} ms`],
    };
  }
  const figures = {
    healthyDeclaredDead: healthyDeclared,
    slowDeclaredDead: slowDeclared,
    falseSuspicions: checker.falseSuspicions,
    detectionMs: checker.detectionMs.get(CRASHED) ?? END_MS - CRASH_MS,
    messagesPerMemberPerSecond: cluster.messages() / MEMBERS / (END_MS / 1000),
  };
  return {
    violated: evidence !== undefined,
    ...(evidence === undefined ? {} : { evidence }),
    figures,
  };
}

/** The SWIM slow-member scenario. */
export const swimSlowMember: Scenario = {
  name: 'swim-slow-member',
  title: 'SWIM under a slow member: false positives without Lifeguard',
  problem:
    'SWIM assumes the member that runs a probe is healthy. When one member is overloaded, its acks ' +
    'and refutations arrive late, so it suspects healthy members and cannot refute in time: ' +
    'healthy members are declared dead. Lifeguard makes each member aware of its own health.',
  reference:
    'Das, Gupta, Motivala, “SWIM” (DSN 2002); Dadgar, Phillips, Currey, “Lifeguard: Local Health ' +
    'Awareness for More Accurate Failure Detection” (2018); hashicorp/memberlist',
  property:
    'No healthy member (neither crashed nor the slow one) is declared dead, and the crashed member is declared dead (checked against the simulated faults).',
  api: [
    "import { SwimNode } from 'faultline/swim';",
    "const node = new SwimNode({ name, random, profile: 'lan' }); // lifeguard: true by default",
    'node.join(seeds);',
    '// every 50 ms: node.tick(); per datagram: node.step(from, msg); send node.ready().messages',
  ].join('\n'),
  figures: [
    {
      name: 'healthyDeclaredDead',
      label: 'healthy members declared dead',
      unit: 'declarations',
      better: 'lower',
      key: true,
    },
    {
      name: 'detectionMs',
      label: 'time to declare the crashed member dead',
      unit: 'ms',
      better: 'lower',
      key: true,
    },
    {
      name: 'slowDeclaredDead',
      label: 'declarations of the slow (alive) member',
      unit: 'declarations',
      better: 'lower',
    },
    {
      name: 'falseSuspicions',
      label: 'suspicions of live members',
      unit: 'suspicions',
      better: 'lower',
    },
    {
      name: 'messagesPerMemberPerSecond',
      label: 'messages per member per second',
      unit: 'messages/s',
      better: 'lower',
    },
  ],
  knobs: [
    {
      name: 'delayMs',
      label: 'slow member handles messages up to',
      min: 0,
      max: 6000,
      step: 250,
      default: 3000,
      unit: 'ms',
    },
  ],
  variants: {
    unsafe: {
      summary: 'SWIM without Lifeguard: fixed probe timeouts and a fixed suspicion timeout.',
      run: (context) => run(context, false),
    },
    safe: {
      summary:
        'SWIM with Lifeguard: local health multiplier, nacks, and suspicion timeouts that start long and shrink with confirmations.',
      run: (context) => run(context, true),
    },
  },
};

/**
 * SWIM options, the three named profiles (LAN, WAN, local) and the formulas that derive the
 * protocol's limits from them. The values and formulas follow hashicorp/memberlist's documented
 * defaults (`DefaultLANConfig`, `DefaultWANConfig`, `DefaultLocalConfig`).
 *
 * @module
 */
import { integerIn, positive, rangeError } from '../../core/validate.js';

/** Tuning of a SWIM member. Every duration is in ms of the member's own clock. */
export interface SwimOptions {
  /**
   * Time between two probes of one member (memberlist `ProbeInterval`; LAN 1,000 ms). Shorter
   * detects failures sooner at the cost of more probe traffic (one ping per interval per member).
   */
  probeIntervalMs: number;
  /**
   * How long a direct ping waits for its ack before indirect probes start (`ProbeTimeout`; LAN
   * 500 ms). It should exceed the 99th-percentile round trip; too short causes indirect probes
   * and suspicions on a merely slow network.
   */
  probeTimeoutMs: number;
  /**
   * Members asked to probe a target indirectly when the direct ping fails (`IndirectChecks`; LAN
   * 3). More makes a false suspicion after a lossy link less likely and costs 2 messages each.
   */
  indirectChecks: number;
  /**
   * Retransmissions of a piggybacked broadcast: `retransmitMult · ⌈log10(N + 1)⌉`
   * (`RetransmitMult`; LAN 4). Higher spreads updates more reliably, with more bytes per packet.
   */
  retransmitMult: number;
  /**
   * Suspicion timeout multiplier: the minimum timeout is
   * `suspicionMult · max(1, log10(N)) · probeIntervalMs` (`SuspicionMult`; LAN 4). Longer gives a
   * suspected member more time to refute, and delays the detection of real failures.
   */
  suspicionMult: number;
  /**
   * Lifeguard: the suspicion timeout starts at `suspicionMaxTimeoutMult ×` the minimum and shrinks
   * with independent confirmations (`SuspicionMaxTimeoutMult`; 6).
   */
  suspicionMaxTimeoutMult: number;
  /**
   * Lifeguard local health: the probe interval and timeout are scaled by `1 + score`, with the
   * score capped at `awarenessMaxMultiplier − 1` (`AwarenessMaxMultiplier`; 8).
   */
  awarenessMaxMultiplier: number;
  /** Time between two gossip rounds (`GossipInterval`; LAN 200 ms). */
  gossipIntervalMs: number;
  /** Members each gossip round sends to (`GossipNodes`; LAN 3). */
  gossipNodes: number;
  /**
   * Time between two full state exchanges with a random member (`PushPullInterval`; LAN 30 s);
   * 0 disables them. They repair what piggybacking missed, and cost the whole member list.
   */
  pushPullIntervalMs: number;
  /**
   * How long a dead or departed member is remembered before it is reclaimed (forgotten), after
   * which it may rejoin with any incarnation (`GossipToTheDeadTime`; LAN 30 s).
   */
  deadReclaimMs: number;
  /** Lifeguard on (default) or off: local health, dynamic suspicion and nacks. */
  lifeguard: boolean;
  /** Broadcasts piggybacked on one message at most (bounds the datagram size). */
  maxPiggyback: number;
}

/** The named profiles. */
export type SwimProfile = 'lan' | 'wan' | 'local';

const lan: SwimOptions = Object.freeze({
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  retransmitMult: 4,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  awarenessMaxMultiplier: 8,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  pushPullIntervalMs: 30_000,
  deadReclaimMs: 30_000,
  lifeguard: true,
  maxPiggyback: 8,
});

/** Each profile's values: LAN is the base, WAN and local override parts of it. */
export const swimProfiles: Readonly<Record<SwimProfile, Readonly<SwimOptions>>> = Object.freeze({
  lan,
  wan: Object.freeze({
    ...lan,
    suspicionMult: 6,
    pushPullIntervalMs: 60_000,
    probeTimeoutMs: 3000,
    probeIntervalMs: 5000,
    gossipNodes: 4,
    gossipIntervalMs: 500,
    deadReclaimMs: 60_000,
  }),
  local: Object.freeze({
    ...lan,
    indirectChecks: 1,
    retransmitMult: 2,
    suspicionMult: 3,
    pushPullIntervalMs: 15_000,
    probeTimeoutMs: 200,
    probeIntervalMs: 1000,
    gossipIntervalMs: 100,
    deadReclaimMs: 15_000,
  }),
});

/** Resolves a profile plus overrides into validated options. */
export function swimOptions(
  overrides: Partial<SwimOptions> = {},
  profile: SwimProfile = 'lan',
): Readonly<SwimOptions> {
  const base = swimProfiles[profile];
  if (base === undefined) throw rangeError('profile', 'one of lan, wan, local', profile);
  const o: SwimOptions = { ...base, ...overrides };
  positive('probeIntervalMs', o.probeIntervalMs);
  positive('probeTimeoutMs', o.probeTimeoutMs);
  if (o.probeTimeoutMs >= o.probeIntervalMs)
    throw rangeError(
      'probeTimeoutMs',
      `< probeIntervalMs (${o.probeIntervalMs})`,
      o.probeTimeoutMs,
    );
  integerIn('indirectChecks', o.indirectChecks, 0, 16);
  integerIn('retransmitMult', o.retransmitMult, 1, 64);
  integerIn('suspicionMult', o.suspicionMult, 1, 64);
  integerIn('suspicionMaxTimeoutMult', o.suspicionMaxTimeoutMult, 1, 64);
  integerIn('awarenessMaxMultiplier', o.awarenessMaxMultiplier, 1, 64);
  positive('gossipIntervalMs', o.gossipIntervalMs);
  integerIn('gossipNodes', o.gossipNodes, 0, 64);
  if (!(o.pushPullIntervalMs >= 0) || !Number.isFinite(o.pushPullIntervalMs))
    throw rangeError('pushPullIntervalMs', 'a finite number >= 0', o.pushPullIntervalMs);
  positive('deadReclaimMs', o.deadReclaimMs);
  if (typeof o.lifeguard !== 'boolean') throw rangeError('lifeguard', 'a boolean', o.lifeguard);
  integerIn('maxPiggyback', o.maxPiggyback, 1, 256);
  return Object.freeze(o);
}

/** Transmissions of one broadcast in a cluster of `n` members: `mult · ⌈log10(n + 1)⌉`. */
export function retransmitLimit(mult: number, n: number): number {
  return mult * Math.ceil(Math.log10(n + 1));
}

/** The minimum suspicion timeout: `mult · max(1, log10(n)) · probeIntervalMs`. */
export function suspicionMinMs(mult: number, n: number, probeIntervalMs: number): number {
  const factor = Math.max(1, Math.log10(Math.max(1, n)));
  return mult * factor * probeIntervalMs;
}

/**
 * Lifeguard's dynamic suspicion timeout after `confirmations` independent suspicions, out of the
 * `expected` ones that shrink it to the minimum:
 * `max(min, max − (max − min) · log(c + 1) / log(k + 1))` (Lifeguard, §4.2).
 */
export function suspicionTimeoutMs(
  minMs: number,
  maxMs: number,
  confirmations: number,
  expected: number,
): number {
  if (expected < 1) return minMs;
  const frac = Math.log(confirmations + 1) / Math.log(expected + 1);
  return Math.max(minMs, Math.floor(maxMs - (maxMs - minMs) * frac));
}

/**
 * Quorum arithmetic: majorities, intersection, why odd sizes, flexible quorums and Byzantine
 * quorums. Small pure functions with their reasons, checked where they are used.
 *
 * @module
 */
import { integerIn } from '../../core/validate.js';

/** The smallest majority of `n` members: ⌊n/2⌋ + 1. */
export function majority(n: number): number {
  return Math.floor(integerIn('n', n, 1, 1_000_000) / 2) + 1;
}

/** True when `votes` members out of `n` are a majority. */
export function isMajority(votes: number, n: number): boolean {
  return votes >= majority(n);
}

/** Crashed members a majority-quorum cluster of `n` survives: ⌊(n − 1)/2⌋. */
export function crashTolerance(n: number): number {
  return Math.floor((integerIn('n', n, 1, 1_000_000) - 1) / 2);
}

/**
 * True when every quorum of size `a` and every quorum of size `b` drawn from `n` members share at
 * least one member: a + b > n (pigeonhole).
 */
export function quorumsIntersect(a: number, b: number, n: number): boolean {
  integerIn('n', n, 1, 1_000_000);
  return integerIn('a', a, 0, n) + integerIn('b', b, 0, n) > n;
}

/**
 * Flexible Paxos (Howard, Malkhi & Spiegelman, 2016): only phase-1 (election) and phase-2
 * (replication) quorums must intersect, so a phase-1 quorum of `phase1` allows phase-2 quorums of
 * n − phase1 + 1. Returns that phase-2 size.
 */
export function flexiblePhase2(n: number, phase1: number): number {
  integerIn('n', n, 1, 1_000_000);
  return n - integerIn('phase1', phase1, 1, n) + 1;
}

/**
 * An even-sized cluster tolerates no more crashes than the odd size below it (4 tolerates 1, like
 * 3) but needs a larger majority: the odd size that tolerates the same crashes.
 */
export function oddSizeFor(n: number): number {
  integerIn('n', n, 1, 1_000_000);
  return n % 2 === 1 ? n : n - 1;
}

/** Byzantine members `n` tolerates with 3f + 1 ≤ n: ⌊(n − 1)/3⌋. */
export function byzantineTolerance(n: number): number {
  return Math.floor((integerIn('n', n, 1, 1_000_000) - 1) / 3);
}

/**
 * The Byzantine quorum of `n` members tolerating f = ⌊(n − 1)/3⌋: ⌈(n + f + 1)/2⌉ (2f + 1 when
 * n = 3f + 1). Any two such quorums share at least f + 1 members, so at least one loyal member.
 */
export function byzantineQuorum(n: number): number {
  const f = byzantineTolerance(n);
  return Math.ceil((n + f + 1) / 2);
}

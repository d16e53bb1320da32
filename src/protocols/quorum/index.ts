/**
 * Quorums and split-brain protection (`faultline/quorum`): quorum arithmetic, a primary that
 * holds a majority lease (with witness and STONITH designs for two-node clusters) as a pure state
 * machine, and the split-brain workload and checker.
 *
 * @module faultline/quorum
 */
export {
  majority,
  isMajority,
  crashTolerance,
  quorumsIntersect,
  flexiblePhase2,
  oddSizeFor,
  byzantineTolerance,
  byzantineQuorum,
} from './quorum.js';
export { QuorumMember } from './primary.js';
export type {
  QuorumCheck,
  TakeOver,
  QuorumMessage,
  QuorumDurable,
  QuorumMemberOptions,
} from './primary.js';
export { runSplitBrain, quorumProtocol, quorumVariants } from './split-sim.js';
export type { SplitDesign, SplitRunOptions, SplitRunOutcome } from './split-sim.js';

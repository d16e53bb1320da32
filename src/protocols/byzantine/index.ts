/**
 * Byzantine agreement (`faultline/byzantine`): OM(m) of Lamport, Shostak & Pease and PBFT's
 * normal case and view change, as pure state machines, with their adversaries and checkers.
 *
 * @module faultline/byzantine
 */
export { OmGeneral, majority, DEFAULT_ORDER } from './om.js';
export type { Order, OmMessage, OmOptions, OmRule } from './om.js';
export { TraitorGeneral, lieStrategy, namedStrategies } from './adversary.js';
export type { LieStrategy, NamedStrategy } from './adversary.js';
export {
  runOmRounds,
  runOmSim,
  drawSetup,
  checkInteractiveConsistency,
  omProtocol,
  omVariants,
} from './om-sim.js';
export type { OmSetup, OmVerdict, OmSimOptions, OmSimOutcome, OmVariant } from './om-sim.js';
export { PbftReplica, Keyring, PBFT_NOOP } from './pbft.js';
export type { PbftBody, PbftOptions, PreparedProof, Signed } from './pbft.js';
export { runPbft, pbftProtocol, pbftVariants } from './pbft-sim.js';
export type { PbftOutcome, PbftVariant, PrimaryFault } from './pbft-sim.js';

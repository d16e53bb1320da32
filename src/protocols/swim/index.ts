/**
 * SWIM membership with the Lifeguard extensions (`faultline/swim`): the pure state machine, its
 * profiles and formulas, the versioned wire encoding, the simulator driver with its checker, and
 * the UDP transport.
 *
 * @module faultline/swim
 */
export { SwimNode } from './node.js';
export type {
  MemberEvent,
  MemberState,
  Outgoing,
  SwimFlaw,
  SwimNodeOptions,
  SwimReady,
} from './node.js';
export {
  retransmitLimit,
  suspicionMinMs,
  suspicionTimeoutMs,
  swimOptions,
  swimProfiles,
} from './config.js';
export type { SwimOptions, SwimProfile } from './config.js';
export {
  decodeMessage,
  encodeMessage,
  parseMessage,
  MAX_MEMBERS,
  MAX_NAME_LENGTH,
  MAX_UPDATES,
  SWIM_WIRE_VERSION,
} from './messages.js';
export type { MemberRecord, SwimMessage, SwimUpdate } from './messages.js';
export { SwimChecker, startSwimCluster } from './sim.js';
export type { SwimCluster, SwimClusterOptions, SwimViolation } from './sim.js';
export { runSwimSeed, swimProtocol } from './protocol.js';
export { GossipNode, gossipModes, newer } from '../gossip/gossip.js';
export type {
  GossipEntry,
  GossipFlaw,
  GossipMessage,
  GossipMode,
  GossipNodeOptions,
} from '../gossip/gossip.js';
export { runGossip } from '../gossip/sim.js';
export type { GossipRunOptions, GossipRunResult } from '../gossip/sim.js';
export { gossipProtocol, runGossipSeed } from '../gossip/protocol.js';
export { SwimUdpNode, MAX_DATAGRAM_BYTES } from './udp.js';
export type { SwimUdpOptions } from './udp.js';

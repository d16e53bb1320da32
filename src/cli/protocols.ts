/**
 * The protocols `faultline sim <protocol>` runs. Each protocol that lands adds itself here.
 *
 * @module
 */
import { kvProtocol } from '../lab/kv/protocol.js';
import { deadlockProtocol } from '../deadlock/protocol.js';
import type { ProtocolSim } from '../protocols/contract.js';
import { gossipProtocol } from '../protocols/gossip/protocol.js';
import { swimProtocol } from '../protocols/swim/protocol.js';

/** Every protocol, in the order the help lists them. */
export const protocols: readonly ProtocolSim[] = [
  kvProtocol,
  gossipProtocol,
  swimProtocol,
  deadlockProtocol,
];

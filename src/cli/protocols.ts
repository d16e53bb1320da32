/**
 * The protocols `faultline sim <protocol>` runs. Each protocol that lands adds itself here.
 *
 * @module
 */
import { kvProtocol } from '../lab/kv/protocol.js';
import type { ProtocolSim } from '../protocols/contract.js';
import { raftProtocol } from '../protocols/raft/protocol.js';

/** Every protocol, in the order the help lists them. */
export const protocols: readonly ProtocolSim[] = [kvProtocol, raftProtocol];

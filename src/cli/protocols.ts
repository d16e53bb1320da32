/**
 * The protocols `faultline sim <protocol>` runs. Each protocol that lands adds itself here.
 *
 * @module
 */
import { kvProtocol } from '../lab/kv/protocol.js';
import { sagaProtocol, twoPhaseProtocol } from '../lab/txn/protocols.js';
import { threePhaseProtocol } from '../lab/txn/three-phase-sim.js';
import { tccProtocol } from '../lab/txn/tcc-protocol.js';
import { deadlockProtocol } from '../deadlock/protocol.js';
import type { ProtocolSim } from '../protocols/contract.js';
import { gossipProtocol } from '../protocols/gossip/protocol.js';
import { swimProtocol } from '../protocols/swim/protocol.js';
import { paxosProtocol } from '../protocols/paxos/sim.js';
import { multiPaxosProtocol } from '../protocols/paxos/multi-sim.js';
import { omProtocol } from '../protocols/byzantine/om-sim.js';
import { raftProtocol } from '../protocols/raft/protocol.js';
import { pbftProtocol } from '../protocols/byzantine/pbft-sim.js';
import { quorumProtocol } from '../protocols/quorum/split-sim.js';

/** Every protocol, in the order the help lists them. */
export const protocols: readonly ProtocolSim[] = [
  kvProtocol,
  twoPhaseProtocol,
  threePhaseProtocol,
  sagaProtocol,
  tccProtocol,
  gossipProtocol,
  swimProtocol,
  paxosProtocol,
  omProtocol,
  raftProtocol,
  deadlockProtocol,
  multiPaxosProtocol,
  pbftProtocol,
  quorumProtocol,
];

/**
 * Raft (`faultline/raft`): the consensus algorithm as a pure state machine in the style of
 * etcd-io/raft, its safety checker, the replicated key-value store built on it, and the
 * simulator harness that proves it.
 *
 * @module faultline/raft
 */
export { RaftNode } from './raft.js';
export type { RaftStatus } from './raft.js';
export type {
  RaftOptions,
  ReadOnlyMode,
  RaftUnsafeOptions,
  ResolvedRaftOptions,
} from './options.js';
export { resolveOptions } from './options.js';
export type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  ProposeResult,
  RaftId,
  RaftMessage,
  RaftMessageType,
  RaftStorage,
  ReadState,
  Ready,
  Header,
  Role,
  Snapshot,
  SoftState,
} from './types.js';
export { Progress } from './progress.js';
export type { ProgressState } from './progress.js';
export { RaftSafetyChecker, entryFingerprint } from './invariants.js';
export type { LogView, RaftProperty, RaftViolation } from './invariants.js';
export { KvStateMachine, isKvCommand, raftKvModel } from './kv.js';
export type { KeyState, KvCommand, KvImage, KvOp, KvResult } from './kv.js';
export { RaftHarness, describeMessage } from './harness.js';
export type { RaftHarnessOptions } from './harness.js';
export { runScript } from './script.js';
export { runRaftSim, raftVariants } from './sim.js';
export type { RaftSimOptions, RaftSimResult, RaftVariant } from './sim.js';
export { startNemesis, nemesisActions } from './nemesis.js';
export type { Nemesis, NemesisAction, NemesisOptions } from './nemesis.js';
export { raftProtocol, runRaftSeed } from './protocol.js';
export { RaftServer } from './server.js';
export type { RaftServerEvent, RaftServerOptions } from './server.js';
export type { PeerAddress, TransportCounters } from './transport.js';
export { RaftDisk, RaftDiskError, isRaftDiskError } from './disk.js';
export {
  FrameDecoder,
  MAX_FRAME_BYTES,
  RaftWireError,
  WIRE_VERSION,
  encodeFrame,
  isRaftWireError,
  parseMessage,
} from './wire.js';
export type { WireFrame } from './wire.js';

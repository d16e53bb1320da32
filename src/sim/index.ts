/**
 * The deterministic simulator (`faultline/sim`).
 *
 * @module faultline/sim
 */
export { Scheduler, SimulationLimitError } from './scheduler.js';
export type { ProtocolRunOptions, ProtocolRunResult, ProtocolSim } from '../protocols/contract.js';
export type { SchedulerOptions, EventCallback } from './scheduler.js';
export { SimClock, SimTimers, createSimRuntime } from './runtime.js';
export type { SimClockOptions, SimRuntime } from './runtime.js';
export { Simulation } from './simulation.js';
export type { SimulationOptions, RunOptions } from './simulation.js';
export { Node } from './node.js';
export type {
  Envelope,
  MessageHandler,
  Transport,
  NodeState,
  StartFunction,
  NodeOptions,
} from './node.js';
export { Network } from './network.js';
export type {
  LatencyModel,
  LinkOptions,
  NetworkOptions,
  DropReason,
  OutgoingMessage,
  InterceptContext,
  Interceptor,
  NodeRef,
} from './network.js';
export { SimDisk } from './disk.js';
export type { SimDiskOptions } from './disk.js';
export { Trace } from './trace.js';
export type { TraceKind, TraceEvent, TraceOptions, TraceJson } from './trace.js';
export { History } from './history.js';
export type { OpType, OpEvent, PendingOp } from './history.js';
export { randomFaultSchedule, randomFaultKinds, validateFault } from './faults.js';
export type {
  Fault,
  FaultKind,
  ScheduledFault,
  RandomFaultKind,
  RandomFaultOptions,
  RandomFaultSchedule,
} from './faults.js';
export { buggify, BuggifyController } from './buggify.js';
export type { BuggifyOptions } from './buggify.js';
export {
  SimulationError,
  InvariantViolationError,
  isSimulationError,
  isInvariantViolationError,
} from './errors.js';
export type { SimulationPoint } from './errors.js';
export { checkReplay, NondeterminismError } from './replay.js';
export type { CheckReplayOptions } from './replay.js';

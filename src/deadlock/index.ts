/**
 * Deadlock detection (`faultline/deadlock`): a lock manager with a wait-for graph, lock-wait
 * timeouts and ordered acquisition, a monitor that breaks deadlocks across databases, and
 * Chandy–Misra–Haas edge chasing across sites.
 *
 * @module faultline/deadlock
 */
export {
  DeadlockError,
  isDeadlockError,
  LockWaitTimeoutError,
  isLockWaitTimeoutError,
  DeadlockMonitorTimeoutError,
  isDeadlockMonitorTimeoutError,
} from './errors.js';
export { WaitForGraph, canonicalCycle } from './graph.js';
export { LockManager } from './manager.js';
export { findDeadlocks } from './global.js';
export type { FindDeadlocksOptions, FoundDeadlock, WaitForEdge } from './global.js';
export { DeadlockMonitor } from './monitor.js';
export type {
  CancelVictim,
  DeadlockMonitorEvent,
  DeadlockMonitorOptions,
  WaitForEdgeSource,
} from './monitor.js';
export type { LockManagerOptions } from './manager.js';
export { DeadlockSite } from './edge-chasing.js';
export type { DeadlockSiteOptions, ProbeBack, SiteEvent, SiteMessage } from './edge-chasing.js';
export { DeadlockChecker, runDeadlockWorkload } from './sim.js';
export type { DeadlockDesign, DeadlockRunOptions, DeadlockRunResult } from './sim.js';
export { deadlockProtocol, runDeadlockSeed } from './protocol.js';

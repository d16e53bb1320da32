/**
 * The deterministic simulator (`faultline/sim`).
 *
 * @module
 */
export { Scheduler, SimulationLimitError } from './scheduler.js';
export type { SchedulerOptions } from './scheduler.js';
export { SimClock, SimTimers, createSimRuntime } from './runtime.js';
export type { SimClockOptions, SimRuntime } from './runtime.js';

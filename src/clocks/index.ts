/**
 * Logical clocks: Lamport, vector clocks (version vectors), dotted version vector sets, hybrid
 * logical clocks, TrueTime-style interval time, and registers built on them.
 *
 * @module
 */
export {
  ClockOffsetError,
  isClockOffsetError,
  ClockCounterOverflowError,
  isClockCounterOverflowError,
} from './errors.js';
export { LamportClock, compareLamport } from './lamport.js';
export type { LamportClockOptions, LamportTimestamp } from './lamport.js';
export { VectorClock } from './vector.js';
export type { CausalOrder, VectorEntry, VectorPruneOptions } from './vector.js';
export {
  dvvNew,
  dvvNewWithContext,
  dvvJoin,
  dvvValues,
  dvvSize,
  dvvLess,
  dvvEqual,
  dvvSync,
  dvvUpdate,
  dvvUpdateWith,
  dvvReconcile,
  dvvLast,
  dvvLww,
  dvvMap,
} from './dvvset.js';
export type { DvvContext, DvvEntry, DvvSet } from './dvvset.js';
export {
  HybridLogicalClock,
  HLC_MAX_COUNTER,
  compareHlc,
  encodeHlc,
  decodeHlc,
  hlcToBigInt,
  hlcFromBigInt,
} from './hlc.js';
export type { HlcTimestamp, HybridLogicalClockOptions } from './hlc.js';
export { IntervalClock } from './interval.js';
export type { IntervalClockOptions, TimeInterval } from './interval.js';
export { WallClockLwwRegister, HlcLwwRegister, MultiValueRegister } from './registers.js';
export type {
  LwwState,
  MultiValueRegisterOptions,
  Sibling,
  WallClockLwwRegisterOptions,
  WallStamp,
} from './registers.js';

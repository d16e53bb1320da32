/**
 * The deadlock module's errors.
 *
 * @module
 */
import { errorGuard, FaultlineError } from '../core/errors.js';

/** A transaction was chosen as the victim of a deadlock; it must release its locks and retry. */
export class DeadlockError extends FaultlineError {
  override name = 'DeadlockError';
  /** The cycle of the wait-for graph, victim first: each waits for the next, the last for the first. */
  readonly cycle: readonly string[];
  readonly victim: string;

  constructor(victim: string, cycle: readonly string[]) {
    super(
      'FAULTLINE_DEADLOCK',
      `deadlock: ${victim} aborted to break the cycle ${[...cycle, cycle[0]].join(' → ')}`,
    );
    this.victim = victim;
    this.cycle = cycle;
  }
}

/** True when `e` is a {@link DeadlockError}. */
export const isDeadlockError = errorGuard(DeadlockError);

/** A lock was not granted within its timeout. */
export class LockWaitTimeoutError extends FaultlineError {
  override name = 'LockWaitTimeoutError';
  readonly txn: string;
  readonly resource: string;
  readonly timeoutMs: number;

  constructor(txn: string, resource: string, timeoutMs: number) {
    super(
      'FAULTLINE_LOCK_WAIT_TIMEOUT',
      `${txn} waited ${timeoutMs} ms for ${JSON.stringify(resource)} without getting it`,
    );
    this.txn = txn;
    this.resource = resource;
    this.timeoutMs = timeoutMs;
  }
}

/** True when `e` is a {@link LockWaitTimeoutError}. */
export const isLockWaitTimeoutError = errorGuard(LockWaitTimeoutError);

/** A call of a `DeadlockMonitor` (reading a source, cancelling a victim) missed its deadline. */
export class DeadlockMonitorTimeoutError extends FaultlineError {
  override name = 'DeadlockMonitorTimeoutError';
  readonly what: string;
  readonly timeoutMs: number;

  constructor(what: string, timeoutMs: number) {
    super('FAULTLINE_DEADLOCK_MONITOR_TIMEOUT', `${what} did not answer within ${timeoutMs} ms`);
    this.what = what;
    this.timeoutMs = timeoutMs;
  }
}

/** True when `e` is a {@link DeadlockMonitorTimeoutError}. */
export const isDeadlockMonitorTimeoutError = errorGuard(DeadlockMonitorTimeoutError);

/**
 * Typed failures of TCC (Try-Confirm-Cancel) branches, as a fence table decides them. Each is a
 * {@link FaultlineError} with a stable `code` and an `isXError` guard.
 *
 * @module
 */
import { errorGuard, FaultlineError } from '../core/errors.js';

/**
 * A Try arrived after the Cancel of its branch (the "hanging" Try: the Try was delayed, the
 * coordinator gave up on it and cancelled). The fence table remembers the Cancel, so the Try is
 * refused and reserves nothing; without the fence its reservation would never be released.
 */
export class TccHangingTryError extends FaultlineError {
  override name = 'TccHangingTryError';
  readonly gid: string;
  readonly branchId: string;

  constructor(gid: string, branchId: string) {
    super(
      'FAULTLINE_TCC_HANGING_TRY',
      `the Try of branch ${JSON.stringify(branchId)} of ${gid} arrived after its Cancel and was refused`,
    );
    this.gid = gid;
    this.branchId = branchId;
  }
}

/** True when `e` is a {@link TccHangingTryError}. */
export const isTccHangingTryError = errorGuard(TccHangingTryError);

/**
 * A Confirm found nothing reserved to confirm: no Try of the branch succeeded (`reason: 'no-try'`)
 * or the branch was cancelled (`reason: 'cancelled'`). Confirming it would apply a reservation
 * that does not exist.
 */
export class TccNothingReservedError extends FaultlineError {
  override name = 'TccNothingReservedError';
  readonly gid: string;
  readonly branchId: string;
  readonly reason: 'no-try' | 'cancelled';

  constructor(gid: string, branchId: string, reason: 'no-try' | 'cancelled') {
    super(
      'FAULTLINE_TCC_NOTHING_RESERVED',
      `cannot confirm branch ${JSON.stringify(branchId)} of ${gid}: ${
        reason === 'no-try' ? 'no Try of it succeeded' : 'it was cancelled'
      }`,
    );
    this.gid = gid;
    this.branchId = branchId;
    this.reason = reason;
  }
}

/** True when `e` is a {@link TccNothingReservedError}. */
export const isTccNothingReservedError = errorGuard(TccNothingReservedError);

/**
 * A Cancel reached a branch that was already confirmed: the coordinator decided both ways, which
 * a correct coordinator never does. Nothing is changed.
 */
export class TccAlreadyConfirmedError extends FaultlineError {
  override name = 'TccAlreadyConfirmedError';
  readonly gid: string;
  readonly branchId: string;

  constructor(gid: string, branchId: string) {
    super(
      'FAULTLINE_TCC_ALREADY_CONFIRMED',
      `cannot cancel branch ${JSON.stringify(branchId)} of ${gid}: it was confirmed`,
    );
    this.gid = gid;
    this.branchId = branchId;
  }
}

/** True when `e` is a {@link TccAlreadyConfirmedError}. */
export const isTccAlreadyConfirmedError = errorGuard(TccAlreadyConfirmedError);

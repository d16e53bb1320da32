/**
 * Typed failures of the transaction module. Each is a {@link FaultlineError} with a stable `code`
 * and an `isXError` guard.
 *
 * @module
 */
import { errorGuard, FaultlineError } from '../core/errors.js';

/**
 * The transaction was rolled back everywhere: the body threw, or a participant voted no (its
 * prepare failed). Nothing of it was committed.
 */
export class TxnAbortedError extends FaultlineError {
  override name = 'TxnAbortedError';
  /** The global transaction id. */
  readonly gid: string;
  /** The participant whose prepare failed, if that is why. */
  readonly participant: string | undefined;

  constructor(gid: string, reason: string, participant?: string, options?: { cause?: unknown }) {
    super('FAULTLINE_TXN_ABORTED', `transaction ${gid} aborted: ${reason}`, options);
    this.gid = gid;
    this.participant = participant;
  }
}

/** True when `e` is a {@link TxnAbortedError}. */
export const isTxnAbortedError = errorGuard(TxnAbortedError);

/**
 * Every participant prepared, but writing the commit decision failed in a way that leaves its
 * outcome unknown (the log's connection dropped during the commit). The transaction's branches
 * stay prepared; `recover()` commits them if the decision record exists and rolls them back if not.
 */
export class TxnInDoubtError extends FaultlineError {
  override name = 'TxnInDoubtError';
  readonly gid: string;

  constructor(gid: string, options?: { cause?: unknown }) {
    super(
      'FAULTLINE_TXN_IN_DOUBT',
      `transaction ${gid} is in doubt: its commit decision may or may not be durable; recover() settles it`,
      options,
    );
    this.gid = gid;
  }
}

/** True when `e` is a {@link TxnInDoubtError}. */
export const isTxnInDoubtError = errorGuard(TxnInDoubtError);

/** A saga failed and every step that had started was compensated. */
export class SagaCompensatedError extends FaultlineError {
  override name = 'SagaCompensatedError';
  readonly sagaId: string;
  /** The step whose failure started the compensation. */
  readonly step: string;

  constructor(sagaId: string, step: string, options?: { cause?: unknown }) {
    super(
      'FAULTLINE_SAGA_COMPENSATED',
      `saga ${sagaId} failed at step ${JSON.stringify(step)} and was compensated`,
      options,
    );
    this.sagaId = sagaId;
    this.step = step;
  }
}

/** True when `e` is a {@link SagaCompensatedError}. */
export const isSagaCompensatedError = errorGuard(SagaCompensatedError);

/**
 * A compensation kept failing after its retries: the saga is stuck half-compensated and stays in
 * the log; `resume()` tries again later. Compensations must eventually succeed.
 */
export class SagaStuckError extends FaultlineError {
  override name = 'SagaStuckError';
  readonly sagaId: string;
  readonly step: string;

  constructor(sagaId: string, step: string, options?: { cause?: unknown }) {
    super(
      'FAULTLINE_SAGA_STUCK',
      `saga ${sagaId}: the compensation of step ${JSON.stringify(step)} keeps failing; resume() retries it`,
      options,
    );
    this.sagaId = sagaId;
    this.step = step;
  }
}

/** True when `e` is a {@link SagaStuckError}. */
export const isSagaStuckError = errorGuard(SagaStuckError);

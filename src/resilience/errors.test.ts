import { describe, expect, it } from 'vitest';
import { FaultlineError, isFaultlineError } from '../core/errors.js';
import { ClockOffsetError, isClockOffsetError } from '../clocks/errors.js';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isRetryBudgetExhaustedError,
  isTimeoutError,
  RetryBudgetExhaustedError,
  TimeoutError,
} from './errors.js';

describe('resilience errors', () => {
  const cause = new Error('last attempt');
  const errors = [
    new BrokenCircuitError('open'),
    new TimeoutError(250),
    new BulkheadRejectedError(4, 8),
    new RetryBudgetExhaustedError({ cause }),
  ];
  const guards = [
    isBrokenCircuitError,
    isTimeoutError,
    isBulkheadRejectedError,
    isRetryBudgetExhaustedError,
  ];

  it('each guard accepts its own class only', () => {
    guards.forEach((guard, i) => {
      errors.forEach((error, j) => expect(guard(error)).toBe(i === j));
      expect(guard(new Error('plain'))).toBe(false);
      expect(guard(undefined)).toBe(false);
      expect(guard({ code: errors[i]?.code })).toBe(false); // a look-alike is not the class
    });
    expect(isClockOffsetError(new ClockOffsetError(2000, 1000, 500))).toBe(true);
    expect(isClockOffsetError(errors[1])).toBe(false);
  });

  it('carries stable codes, names, fields and causes', () => {
    expect(errors.map((e) => e.code)).toEqual([
      'FAULTLINE_BROKEN_CIRCUIT',
      'FAULTLINE_TIMEOUT',
      'FAULTLINE_BULKHEAD_REJECTED',
      'FAULTLINE_RETRY_BUDGET_EXHAUSTED',
    ]);
    expect(errors.map((e) => e.name)).toEqual([
      'BrokenCircuitError',
      'TimeoutError',
      'BulkheadRejectedError',
      'RetryBudgetExhaustedError',
    ]);
    for (const e of errors) {
      expect(e).toBeInstanceOf(FaultlineError);
      expect(isFaultlineError(e)).toBe(true);
    }
    const [broken, timeout, bulkhead, budget] = errors;
    expect(isBrokenCircuitError(broken) && broken.state).toBe('open');
    expect(isTimeoutError(timeout) && timeout.timeoutMs).toBe(250);
    expect(
      isBulkheadRejectedError(bulkhead) && [bulkhead.maxConcurrent, bulkhead.maxQueue],
    ).toEqual([4, 8]);
    expect(budget?.cause).toBe(cause);
  });
});

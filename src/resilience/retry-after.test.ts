import { describe, expect, it } from 'vitest';
import { parseRetryAfter, retryAfterMsOf } from './retry-after.js';

const now = Date.UTC(2015, 9, 21, 7, 28, 0);

describe('Retry-After', () => {
  it('parses seconds and HTTP-dates against the given wall clock', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 1.5 ', now)).toBe(1500);
    expect(parseRetryAfter(3, now)).toBe(3000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('Wed Oct 21 07:28:10 2015', now)).toBe(10_000); // asctime
    expect(parseRetryAfter('Wednesday, 21-Oct-15 07:28:20 GMT', now)).toBe(20_000); // RFC 850
    // Malformed values that Date.parse would read as dates in the past ("retry at once").
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('1 2', now)).toBeUndefined();
    expect(parseRetryAfter(-1, now)).toBeUndefined();
  });

  it('reads retryAfterMs, retryAfter, headers and response.headers', () => {
    expect(retryAfterMsOf({ retryAfterMs: 250 }, now)).toBe(250);
    expect(retryAfterMsOf({ retryAfter: '2' }, now)).toBe(2000);
    expect(retryAfterMsOf({ headers: new Headers({ 'Retry-After': '4' }) }, now)).toBe(4000);
    expect(retryAfterMsOf({ headers: { 'retry-after': '5' } }, now)).toBe(5000);
    expect(retryAfterMsOf({ response: { headers: { 'retry-after': '6' } } }, now)).toBe(6000);
    expect(retryAfterMsOf(new Error('x'), now)).toBeUndefined();
    expect(retryAfterMsOf('503', now)).toBeUndefined();
    expect(retryAfterMsOf({ retryAfterMs: Number.NaN }, now)).toBeUndefined();
  });
});

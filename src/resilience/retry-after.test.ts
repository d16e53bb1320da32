import { describe, expect, it } from 'vitest';
import { parseHttpDate, parseRetryAfter, retryAfterMsOf } from './retry-after.js';

const now = Date.UTC(2015, 9, 21, 7, 28, 0);

describe('Retry-After', () => {
  it('parses seconds and HTTP-dates against the given wall clock', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 15 ', now)).toBe(15_000);
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

  it('accepts only delay-seconds and the three HTTP-date forms (RFC 9110 §10.2.3, §5.6.7)', () => {
    // The examples of RFC 9110 §5.6.7, one per form, all the same instant.
    const rfc = Date.UTC(1994, 10, 6, 8, 49, 37);
    const before = rfc - 60_000;
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', before)).toBe(60_000);
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', before)).toBe(60_000);
    expect(parseRetryAfter('Sun Nov  6 08:49:37 1994', before)).toBe(60_000);
    const rejected = [
      '1.5', // delay-seconds is digits only
      '+5',
      '0x10',
      '1e3',
      '',
      '5 seconds',
      'Nov 2015', // names a month, which a lenient parser took for a date long past
      'in May',
      'sun, 06 Nov 1994 08:49:37 GMT', // HTTP-date is case-sensitive
      'Sun, 06 nov 1994 08:49:37 GMT',
      'Sun, 6 Nov 1994 08:49:37 GMT', // IMF-fixdate has two-digit days
      'Sun, 06 Nov 1994 08:49:37 UTC', // only GMT
      'Sun, 06 Nov 1994 08:49:37 +0000',
      'Sun, 06 Nov 1994 08:49 GMT',
      'Sun, 06 Nov 1994 24:00:00 GMT', // hour out of range
      'Sun, 31 Feb 1994 08:49:37 GMT', // no such day
      'Sun, 06 Nov 1994 08:49:37 GMT trailing',
      'Sun, 06-Nov-94 08:49:37 GMT', // RFC 850 has long day names
      'Sunday, 06 Nov 1994 08:49:37 GMT',
      'Sun Nov 6 08:49:37 1994', // asctime pads the day with a space
      'Sun Nov  6 08:49:37 1994 GMT',
      '2015-10-21T07:28:30Z', // ISO 8601 is not an HTTP-date
    ];
    for (const value of rejected)
      expect([value, parseRetryAfter(value, now)]).toEqual([value, undefined]);
  });

  it('reads an RFC 850 two-digit year as at most 50 years ahead', () => {
    const in2030 = Date.UTC(2030, 0, 1);
    // 79 from 2030 would be 2079, 49 years ahead: kept. 81 would be 2081, more than 50: 1981.
    expect(parseHttpDate('Sunday, 01-Jan-79 00:00:00 GMT', in2030)).toBe(Date.UTC(2079, 0, 1));
    expect(parseHttpDate('Thursday, 01-Jan-81 00:00:00 GMT', in2030)).toBe(Date.UTC(1981, 0, 1));
  });

  it('reads retryAfterMs, retryAfter, headers and response.headers', () => {
    expect(retryAfterMsOf({ retryAfterMs: 250 }, now)).toBe(250);
    expect(retryAfterMsOf({ retryAfter: '2' }, now)).toBe(2000);
    expect(retryAfterMsOf({ headers: new Headers({ 'Retry-After': '4' }) }, now)).toBe(4000);
    expect(retryAfterMsOf({ headers: { 'retry-after': '5' } }, now)).toBe(5000);
    // Header names are case-insensitive in plain records too.
    expect(retryAfterMsOf({ headers: { 'RETRY-AFTER': '7' } }, now)).toBe(7000);
    expect(retryAfterMsOf({ headers: { 'Retry-after': ['8'] } }, now)).toBe(8000);
    expect(retryAfterMsOf({ headers: { 'retry-after': ['1', '2'] } }, now)).toBeUndefined();
    expect(retryAfterMsOf({ headers: { 'retry-after': 'Nov 2015' } }, now)).toBeUndefined();
    expect(retryAfterMsOf({ response: { headers: { 'retry-after': '6' } } }, now)).toBe(6000);
    expect(retryAfterMsOf(new Error('x'), now)).toBeUndefined();
    expect(retryAfterMsOf('503', now)).toBeUndefined();
    expect(retryAfterMsOf({ retryAfterMs: Number.NaN }, now)).toBeUndefined();
  });
});

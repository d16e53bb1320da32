/**
 * Reading a server's `Retry-After` (RFC 9110 §10.2.3): either a number of seconds or an HTTP-date.
 *
 * @module
 */

const SECONDS = /^\s*\d+(\.\d+)?\s*$/;
/** Every HTTP-date form (IMF-fixdate, RFC 850, asctime) names its month. */
const MONTH = /\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\b/i;

/**
 * Parses a `Retry-After` value into a delay in ms from `nowWallMs`. A number (or numeric string)
 * is seconds; anything else is parsed as an HTTP-date against the wall clock (a date in the past
 * gives 0). Returns undefined when the value is not understood (the caller then uses its backoff).
 */
export function parseRetryAfter(value: string | number, nowWallMs: number): number | undefined {
  if (typeof value === 'number')
    return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  if (SECONDS.test(value)) return Number(value) * 1000;
  // Date.parse is lenient ('-5' and '1 2' parse as dates in 2001, i.e. "retry now"): accept only
  // strings shaped like an HTTP-date, so a malformed value falls back to the backoff.
  if (!MONTH.test(value)) return undefined;
  // HTTP-dates are in GMT; asctime carries no zone, and Date.parse would read it as local time.
  const at = Date.parse(/\b(gmt|utc)\b/i.test(value) ? value : `${value} GMT`);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowWallMs);
}

function headerOf(headers: unknown): unknown {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function')
    return (get as (name: string) => unknown).call(headers, 'retry-after');
  const record = headers as Record<string, unknown>;
  return record['retry-after'] ?? record['Retry-After'];
}

/**
 * The delay a failure (or result) asks for, in ms: a `retryAfterMs` number, a `retryAfter` value,
 * or a `retry-after` header in `headers` (a `Headers`-like object or a plain record) of the value
 * itself or of its `response`. Undefined when it carries none.
 */
export function retryAfterMsOf(value: unknown, nowWallMs: number): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as {
    retryAfterMs?: unknown;
    retryAfter?: unknown;
    headers?: unknown;
    response?: unknown;
  };
  if (typeof v.retryAfterMs === 'number') {
    return Number.isFinite(v.retryAfterMs) && v.retryAfterMs >= 0 ? v.retryAfterMs : undefined;
  }
  let raw = v.retryAfter ?? headerOf(v.headers);
  if (raw === undefined && typeof v.response === 'object' && v.response !== null) {
    raw = headerOf((v.response as { headers?: unknown }).headers);
  }
  if (typeof raw === 'string' || typeof raw === 'number') return parseRetryAfter(raw, nowWallMs);
  return undefined;
}

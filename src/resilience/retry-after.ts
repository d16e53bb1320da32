/**
 * Reading a server's `Retry-After` (RFC 9110 §10.2.3): either a number of seconds or an HTTP-date.
 *
 * @module
 */

/** `delay-seconds = 1*DIGIT`, surrounded by optional white space (a field value's OWS). */
const SECONDS = /^[ \t]*(\d+)[ \t]*$/;
const DAY = '(Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const DAY_LONG = '(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
/** The obsolete RFC 850 form: `Sunday, 06-Nov-94 08:49:37 GMT`. */
const RFC850 = new RegExp(`^${DAY_LONG}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
/** The obsolete asctime form: `Sun Nov  6 08:49:37 1994` (no zone: it is GMT). */
const ASCTIME = new RegExp(`^${DAY} ${MONTH} (\\d{2}| \\d) ${TIME} (\\d{4})$`);

/** Milliseconds since the epoch of a valid UTC date and time, else undefined. */
function utc(
  year: number,
  month: string,
  day: number,
  h: number,
  m: number,
  s: number,
): number | undefined {
  const mon = MONTHS.indexOf(month);
  // 60 seconds is a leap second (RFC 9110 §5.6.7 allows it); it is read as the next minute.
  if (h > 23 || m > 59 || s > 60 || day < 1) return undefined;
  const at = Date.UTC(year, mon, day, h, m, s);
  // Date.UTC rolls 31 Feb over into March: a day the month does not have is not a date.
  return new Date(Date.UTC(year, mon, day)).getUTCDate() === day ? at : undefined;
}

/**
 * An RFC 850 two-digit year: one that would be more than 50 years in the future is the most
 * recent past year with the same last two digits (RFC 9110 §5.6.7).
 */
function fullYear(twoDigits: number, nowWallMs: number): number {
  const now = new Date(nowWallMs).getUTCFullYear();
  let year = now - (now % 100) + twoDigits;
  if (year > now + 50) year -= 100;
  return year;
}

/**
 * Parses an HTTP-date in its three forms (RFC 9110 §5.6.7), exactly as the grammar has it (names
 * are case-sensitive); undefined for anything else.
 */
export function parseHttpDate(value: string, nowWallMs: number): number | undefined {
  const text = value.replace(/^[ \t]+|[ \t]+$/g, '');
  let m = IMF.exec(text);
  if (m !== null)
    return utc(
      Number(m[4]),
      m[3] as string,
      Number(m[2]),
      Number(m[5]),
      Number(m[6]),
      Number(m[7]),
    );
  m = RFC850.exec(text);
  if (m !== null) {
    const year = fullYear(Number(m[4]), nowWallMs);
    return utc(year, m[3] as string, Number(m[2]), Number(m[5]), Number(m[6]), Number(m[7]));
  }
  m = ASCTIME.exec(text);
  if (m !== null)
    return utc(
      Number(m[7]),
      m[2] as string,
      Number((m[3] as string).trim()),
      Number(m[4]),
      Number(m[5]),
      Number(m[6]),
    );
  return undefined;
}

/**
 * Parses a `Retry-After` value (RFC 9110 §10.2.3) into a delay in ms from `nowWallMs`: either
 * `delay-seconds` (digits only) or an HTTP-date in one of its three forms (a date in the past gives
 * 0). A number is seconds. Anything else (`1.5`, `-5`, `soon`, a date in another format) returns
 * undefined, and the caller uses its backoff instead: a lenient parser would read some malformed
 * values as dates long past, which means "retry at once".
 */
export function parseRetryAfter(value: string | number, nowWallMs: number): number | undefined {
  if (typeof value === 'number')
    return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  if (typeof value !== 'string') return undefined;
  const seconds = SECONDS.exec(value);
  if (seconds !== null) {
    const ms = Number(seconds[1]) * 1000;
    return Number.isFinite(ms) ? ms : undefined;
  }
  const at = parseHttpDate(value, nowWallMs);
  return at === undefined ? undefined : Math.max(0, at - nowWallMs);
}

function headerOf(headers: unknown): unknown {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function')
    return (get as (name: string) => unknown).call(headers, 'retry-after');
  // Field names are case-insensitive (RFC 9110 §5.1), in a plain record too.
  const record = headers as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    if (name.toLowerCase() !== 'retry-after') continue;
    const raw = record[name];
    // Node's IncomingHttpHeaders may hold a list; only a single value is meaningful.
    if (Array.isArray(raw)) return raw.length === 1 ? raw[0] : undefined;
    return raw;
  }
  return undefined;
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

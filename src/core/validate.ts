/**
 * Option validation. A bad option throws a `RangeError` naming the field and the value, in the
 * constructor, so misconfiguration fails at start-up instead of under load.
 *
 * @module
 */

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  return String(value);
}

/** Throws a `RangeError` of the form `field must be <rule> (got <value>)`. */
export function rangeError(field: string, rule: string, value: unknown): RangeError {
  return new RangeError(`${field} must be ${rule} (got ${show(value)})`);
}

/** Requires a finite number > 0. */
export function positive(field: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw rangeError(field, 'a finite number > 0', value);
  }
  return value;
}

/** Requires a finite number >= 0. */
export function nonNegative(field: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw rangeError(field, 'a finite number >= 0', value);
  }
  return value;
}

/** Requires an integer in [min, max]. */
export function integerIn(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw rangeError(field, `an integer in [${min}, ${max}]`, value);
  }
  return value;
}

/** Requires a number in [min, max]. */
export function numberIn(field: string, value: number, min: number, max: number): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    throw rangeError(field, `a number in [${min}, ${max}]`, value);
  }
  return value;
}

/** Requires a non-empty string. */
export function nonEmptyString(field: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw rangeError(field, 'a non-empty string', value);
  }
  return value;
}

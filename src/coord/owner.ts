/**
 * Owner ids: the per-acquisition secret a backend stores with a lease and compares on extend and
 * release.
 *
 * @module
 */
import { assert } from '../core/assert.js';
import type { Runtime } from '../core/runtime.js';

/** The character code of each lowercase hex digit. */
const DIGITS = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/**
 * The character codes of the id being built, reused by every call: the id is made by one
 * `String.fromCharCode`, a flat 32-character string, where appending two digits at a time would
 * leave a chain of 16 intermediate strings per id (every acquire makes one).
 */
const codes: number[] = new Array<number>(32).fill(0);

/** The bytes of the id being built, reused by every call (`Random.fillBytes`: no buffer per id). */
const scratch = new Uint8Array(16);

/** A fresh owner id: 128 bits from `runtime.random.bytes(16)` in lowercase hex (32 characters). */
export function newOwnerId(runtime: Runtime): string {
  const { random } = runtime;
  const bytes = random.fillBytes === undefined ? random.bytes(16) : random.fillBytes(scratch);
  assert(bytes.length === 16, 'random.bytes(16) returns 16 bytes');
  for (let i = 0; i < 16; i++) {
    const b = bytes[i] ?? 0;
    codes[2 * i] = DIGITS[b >> 4] ?? 0;
    codes[2 * i + 1] = DIGITS[b & 15] ?? 0;
  }
  return String.fromCharCode(...codes);
}

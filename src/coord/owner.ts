/**
 * Owner ids: the per-acquisition secret a backend stores with a lease and compares on extend and
 * release.
 *
 * @module
 */
import type { Runtime } from '../core/runtime.js';

/** Two lowercase hex digits for every byte value (a table: no `toString(16)` per byte on the hot path). */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** A fresh owner id: 128 bits from `runtime.random.bytes(16)` in lowercase hex (32 characters). */
export function newOwnerId(runtime: Runtime): string {
  const bytes = runtime.random.bytes(16);
  let hex = '';
  for (const b of bytes) hex += HEX[b] ?? '';
  return hex;
}

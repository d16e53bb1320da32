/**
 * Global transaction ids that fit every database's limit: PostgreSQL's `PREPARE TRANSACTION`
 * takes at most 199 bytes (GIDSIZE is 200 with the terminator), MariaDB's XA `gtrid` at most 64.
 * An id is `<coordinatorId>.<32 hex digits>`, so a coordinator finds its own prepared branches by
 * prefix after a restart and never touches another coordinator's.
 *
 * @module
 */
import type { Random } from '../core/runtime.js';
import { rangeError } from '../core/validate.js';

/** Longest global id: MariaDB's XA gtrid limit (64 bytes). */
export const MAX_GID_BYTES = 64;
/** Longest coordinator id: the rest of a gid is a dot and 32 hex digits. */
export const MAX_COORDINATOR_ID_LENGTH = MAX_GID_BYTES - 33;
const ID_PATTERN = /^[A-Za-z0-9_-]+$/;

/** Validates a coordinator (or orchestrator) id: 1 to 31 of `[A-Za-z0-9_-]`. */
export function coordinatorId(field: string, value: string): string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > MAX_COORDINATOR_ID_LENGTH ||
    !ID_PATTERN.test(value)
  ) {
    throw rangeError(field, `1 to ${MAX_COORDINATOR_ID_LENGTH} of [A-Za-z0-9_-]`, value);
  }
  return value;
}

/** The prefix every gid of coordinator `id` starts with. */
export function gidPrefix(id: string): string {
  return `${id}.`;
}

/** A fresh gid of coordinator `id`: 128 random bits from `random`. */
export function newGid(id: string, random: Random): string {
  let hex = '';
  for (const byte of random.bytes(16)) hex += byte.toString(16).padStart(2, '0');
  return `${gidPrefix(id)}${hex}`;
}

/** True when `gid` is a well-formed gid (what recovery accepts from a database). */
export function isGid(gid: string): boolean {
  return /^[A-Za-z0-9_-]{1,31}\.[0-9a-f]{32}$/.test(gid);
}

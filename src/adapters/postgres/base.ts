/**
 * What the two PostgreSQL lock backends share: option validation, the schema names, the LISTEN
 * notifier behind `waitForChange`, and how a failed statement is reported.
 *
 * @module
 */
import type { Pool } from 'pg';
import type { Runtime } from '../../core/runtime.js';
import { systemRuntime } from '../../core/system.js';
import { raceAbort } from '../../core/abort.js';
import { integerIn, rangeError } from '../../core/validate.js';
import { BackendUnavailableError } from '../../coord/errors.js';
import type { CallOptions } from '../../coord/types.js';
import { Notifier } from './notifier.js';
import { ensureSchema, schemaNames } from './schema.js';
import type { SchemaNames } from './schema.js';

/** Options of {@link PostgresLockBackend} and {@link PostgresAdvisoryLockBackend}. */
export interface PostgresLockBackendOptions {
  /**
   * A `pg` pool (`new pg.Pool(...)`); the backend never ends it. The backend keeps one of its
   * connections for LISTEN (the advisory variant also one per held lock), so size it accordingly.
   */
  pool: Pool;
  /**
   * Base name of the schema objects (default `faultline_lock`): tables `<schema>_leases` and
   * `<schema>_holders`, sequence `<schema>_token_seq`, channel `<schema>_changed`. A lowercase SQL
   * identifier of at most 40 characters. Create them once with {@link PostgresLockBackend.ensureSchema}.
   */
  schema?: string;
  /**
   * Upper bound on concurrent `waitForChange` calls (default 1,000); more reject with
   * `TooManyWaitersError`. {@link PostgresLockBackend} bounds its queued waiters by it too.
   */
  maxWaiters?: number;
  /**
   * Timers of a queued waiter's fallback recheck (an expiry sends no NOTIFY); default: the system
   * runtime.
   */
  runtime?: Runtime;
}

/**
 * The part of a PostgreSQL lock backend that does not depend on how locks are held: the validated
 * pool and schema names, `ensureSchema`, and event-driven waiting on the schema's NOTIFY channel.
 */
export abstract class PostgresBackendBase {
  /** The schema object names. */
  readonly names: SchemaNames;
  protected readonly pool: Pool;
  protected readonly notifier: Notifier;
  protected readonly runtime: Runtime;
  /** The validated `maxWaiters`. */
  protected readonly maxWaiters: number;

  protected constructor(options: PostgresLockBackendOptions) {
    if (typeof options.pool?.query !== 'function')
      throw rangeError('pool', 'a pg Pool', options.pool);
    this.pool = options.pool;
    this.names = schemaNames(options.schema ?? 'faultline_lock');
    this.runtime = options.runtime ?? systemRuntime();
    this.maxWaiters = integerIn('maxWaiters', options.maxWaiters ?? 1000, 1, 1_000_000);
    this.notifier = new Notifier(this.pool, this.names.channel, this.maxWaiters);
  }

  /**
   * Refuses a key PostgreSQL cannot store: a `text` value cannot hold a NUL character (the server
   * rejects the statement, so every attempt would fail until the acquire's `waitMs`).
   */
  checkKey(field: string, key: string): void {
    if (key.includes('\u0000'))
      throw rangeError(field, 'a string without NUL characters (PostgreSQL text)', key);
  }

  /** Creates the tables and the sequence if missing (idempotent; run once at start-up or in a migration). */
  ensureSchema(): Promise<void> {
    return ensureSchema(this.pool, this.names);
  }

  /** Resolves on a NOTIFY for `key` (or a lost LISTEN connection); rejects when the signal aborts. */
  waitForChange(key: string, options: CallOptions): Promise<void> {
    return this.notifier.wait(key, options.signal);
  }

  /** Releases the LISTEN connection. The pool stays open: it belongs to the caller. */
  close(): Promise<void> {
    return this.notifier.close();
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Awaits `pending` unless `signal` aborts first. An abort rethrows the signal's reason (and hands
 * a result that arrives later to `onLate`, so the caller can undo it); any other failure becomes a
 * {@link BackendUnavailableError} naming `operation`: its outcome is unknown.
 */
export async function settle<T>(
  operation: string,
  pending: Promise<T>,
  signal: AbortSignal,
  onLate?: (late: T) => void,
): Promise<T> {
  try {
    return await raceAbort(pending, signal);
  } catch (error) {
    if (signal.aborted) {
      if (onLate !== undefined) pending.then(onLate, () => undefined);
      throw signal.reason;
    }
    throw unavailable(operation, error);
  }
}

/** A {@link BackendUnavailableError} for `operation` carrying `error` as its cause. */
export function unavailable(operation: string, error: unknown): BackendUnavailableError {
  return new BackendUnavailableError(operation, String((error as Error)?.message ?? error), {
    cause: error,
  });
}

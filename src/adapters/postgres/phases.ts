/**
 * Multi-phase idempotent operations with recovery points on PostgreSQL (the design Stripe
 * described for its API: Leach, "Implementing Stripe-like Idempotency Keys in Postgres", 2017).
 *
 * An operation that calls a foreign service between local transactions is split into phases. Each
 * phase runs in one local transaction that also moves the key's record to the next recovery point
 * (or completes it), and that update is fenced by owner and epoch: when a retry took the key over
 * (this invocation's lease expired), the update matches no row, the transaction rolls back and the
 * phase's local writes vanish. A retry resumes from the last recovery point that committed, so
 * phases that committed never run twice; a foreign call made in a phase that rolled back is made
 * again, so pass the foreign service an idempotency key derived from the key and the phase.
 *
 * @module
 */
import type { PoolClient } from 'pg';
import { rangeError } from '../../core/validate.js';
import { IdempotencyFencedError } from '../../coord/idempotency/errors.js';
import type { IdempotentOptions, IdempotentResult } from '../../coord/idempotency/idempotent.js';
import {
  LeaseGuard,
  checkIdempotencyKey,
  claimKey,
  resolveOptions,
  storeCall,
} from '../../coord/idempotency/idempotent.js';
import type { Claim, Resolved } from '../../coord/idempotency/idempotent.js';
import type { PostgresIdempotencyStore } from './idempotency.js';

/** What a phase returns: the next recovery point (with data for it), or the operation's result. */
export type PhaseStep<R> =
  | {
      /** The recovery point to move to; a key of `phases`. */
      readonly next: string;
      /** JSON data the next phase receives as `context.data` (kept in the record). */
      readonly data?: unknown;
    }
  | { readonly done: R };

/** What a phase receives. */
export interface PhaseContext {
  /**
   * The phase's transaction: local writes made with it commit together with the move to the next
   * recovery point, or not at all. Do not run `BEGIN`/`COMMIT` on it.
   */
  readonly tx: PoolClient;
  /** The recovery point this phase runs from. */
  readonly point: string;
  /** The data the previous phase stored (`null` for the first). */
  readonly data: unknown;
  readonly key: string;
  /** The invocation's epoch; with `key`, a good idempotency key for a foreign call. */
  readonly epoch: number;
  /** True when this invocation took the key over from one whose lease expired. */
  readonly takeover: boolean;
  /** Aborts when the caller gives up or the lease is lost. */
  readonly signal: AbortSignal;
}

/** One phase: local writes with `context.tx`, perhaps a foreign call, then where to go next. */
export type Phase<R> = (context: PhaseContext) => Promise<PhaseStep<R>>;

/** Options of {@link runPhases}: those of `idempotent()` with a PostgreSQL store, without `onError`. */
export interface PhasedOptions<R> extends Omit<IdempotentOptions<R>, 'store' | 'onError'> {
  store: PostgresIdempotencyStore;
  /** Upper bound on phases one invocation runs (default 100): a phase cycle fails instead of looping. */
  maxPhases?: number;
}

/** The first recovery point of every operation. */
export const FIRST_RECOVERY_POINT = 'started';

/**
 * Runs the phases of `key` from its last recovery point: the first call starts at `started`; a
 * retry after a failure (or after a crash and the lease's expiry) resumes where the last committed
 * phase left off; a repeat after completion replays the result. A phase that throws rolls back,
 * the lease is given up at once (the record keeps its recovery point), and the error is rethrown.
 *
 * @example
 * const result = await runPhases(key, body, {
 *   started: async ({ tx }) => {
 *     const ride = await tx.query('INSERT INTO rides (origin) VALUES ($1) RETURNING id', [body.origin]);
 *     return { next: 'ride_created', data: { rideId: ride.rows[0].id } };
 *   },
 *   ride_created: async ({ tx, data, key }) => {
 *     const charge = await bank.charge(body.amount, { idempotencyKey: `${key}/charge` });
 *     await tx.query('UPDATE rides SET charge_id = $1 WHERE id = $2', [charge.id, data.rideId]);
 *     return { done: { rideId: data.rideId, chargeId: charge.id } };
 *   },
 * }, { store });
 */
export async function runPhases<R>(
  key: string,
  request: unknown,
  phases: Readonly<Record<string, Phase<R>>>,
  options: PhasedOptions<R>,
): Promise<IdempotentResult<R>> {
  checkIdempotencyKey(key);
  if (typeof phases?.[FIRST_RECOVERY_POINT] !== 'function')
    throw rangeError('phases', `an object with a "${FIRST_RECOVERY_POINT}" phase`, phases);
  const maxPhases = options.maxPhases ?? 100;
  if (!Number.isInteger(maxPhases) || maxPhases < 1)
    throw rangeError('maxPhases', 'an integer >= 1', maxPhases);
  const o = resolveOptions<R>({ ...options, onError: 'forget' });
  const claimed = await claimKey(key, request, o);
  if (claimed.kind === 'replayed')
    return { value: claimed.value, replayed: true, epoch: undefined };
  const { claim } = claimed;
  const guard = new LeaseGuard(o as Resolved<unknown>, claim);
  try {
    for (let n = 0; n < maxPhases; n++) {
      if (guard.signal.aborted) throw guard.signal.reason;
      const result = await runOnePhase(options.store, o, claim, phases, guard.signal);
      if (result.finished) {
        o.emit({ kind: 'completed', key, epoch: claim.epoch });
        return { value: result.value, replayed: false, epoch: claim.epoch };
      }
    }
    throw rangeError('phases', `at most ${maxPhases} phases per invocation`, maxPhases + 1);
  } catch (error) {
    guard.stop();
    // Give the lease up now (keeping the recovery point), so a retry resumes without waiting.
    await storeCall(o.runtime, 'unlock', o.callTimeoutMs, undefined, (c) =>
      options.store.unlock(key, claim.owner, claim.epoch, c),
    ).catch(() => undefined);
    throw error;
  } finally {
    guard.stop();
  }
}

/** One phase in one transaction, ending with the fenced move of the record. */
async function runOnePhase<R>(
  store: PostgresIdempotencyStore,
  o: Resolved<R>,
  claim: Claim,
  phases: Readonly<Record<string, Phase<R>>>,
  signal: AbortSignal,
): Promise<{ finished: false } | { finished: true; value: R }> {
  const { key, owner, epoch } = claim;
  const fence = `key = $1 AND state = 'run' AND owner = $2 AND epoch = $3 AND expires_at > now()`;
  const tx = await store.pool.connect();
  let open = false;
  try {
    await tx.query('BEGIN');
    open = true;
    const current = await tx.query(
      `SELECT recovery_point, recovery_data FROM ${store.table} WHERE ${fence}`,
      [key, owner, epoch],
    );
    const row = current.rows[0] as { recovery_point: string; recovery_data: unknown } | undefined;
    if (row === undefined) throw new IdempotencyFencedError(key, epoch, 'taken-over');
    const phase = phases[row.recovery_point];
    if (typeof phase !== 'function')
      throw rangeError(
        'phases',
        `an object with a "${row.recovery_point}" phase`,
        Object.keys(phases).join(','),
      );
    const step = await phase({
      tx,
      point: row.recovery_point,
      data: row.recovery_data,
      key,
      epoch,
      takeover: claim.takeover,
      signal,
    });
    const moved =
      'next' in step
        ? await tx.query(
            `UPDATE ${store.table} SET recovery_point = $4, recovery_data = $5::jsonb,
                    lease_until = now() + $6 * interval '1 millisecond',
                    expires_at = greatest(expires_at, now() + $6 * interval '1 millisecond')
              WHERE ${fence}`,
            [
              key,
              owner,
              epoch,
              checkPoint(step.next, phases),
              JSON.stringify(step.data ?? null),
              o.leaseMs,
            ],
          )
        : await tx.query(
            `UPDATE ${store.table} SET state = 'done', outcome_kind = 'value', outcome_data = $4,
                    recovery_point = 'finished', expires_at = now() + $5 * interval '1 millisecond'
              WHERE ${fence}`,
            [key, owner, epoch, o.codec.encode(step.done), o.ttlMs],
          );
    if (moved.rowCount !== 1) throw new IdempotencyFencedError(key, epoch, 'taken-over');
    await tx.query('COMMIT');
    open = false;
    return 'next' in step ? { finished: false } : { finished: true, value: step.done };
  } finally {
    if (open) await tx.query('ROLLBACK').catch(() => undefined);
    tx.release();
  }
}

function checkPoint<R>(next: string, phases: Readonly<Record<string, Phase<R>>>): string {
  if (typeof next !== 'string' || typeof phases[next] !== 'function')
    throw rangeError('next', `one of the phases (${Object.keys(phases).join(', ')})`, next);
  return next;
}

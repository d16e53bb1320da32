/**
 * Multi-phase idempotent operations with recovery points on a private PostgreSQL: a retry resumes
 * from the last committed phase (the committed phases do not run again), a repeat replays, and a
 * late invocation whose key was taken over has its phase rolled back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PostgresIdempotencyStore, runPhases } from '../../src/adapters/postgres/index.js';
import type { Phase } from '../../src/adapters/postgres/index.js';
import { isIdempotencyFencedError } from '../../src/coord/idempotency/errors.js';
import { postgres } from '../services/index.js';
import type { PostgresServer } from '../services/index.js';

let server: PostgresServer;
let pool: pg.Pool;
let store: PostgresIdempotencyStore;
const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

beforeAll(async () => {
  server = await postgres();
  pool = new pg.Pool({ ...server.connection, max: 10 });
  pool.on('error', () => undefined);
  store = new PostgresIdempotencyStore({ pool });
  await store.ensureSchema();
  await pool.query(
    'CREATE TABLE rides (id serial PRIMARY KEY, request_key text NOT NULL, charge_id text)',
  );
});

afterAll(async () => {
  await pool?.end();
  await server?.cleanup();
});

/** A foreign payment service that de-duplicates by the idempotency key it is given. */
class Bank {
  calls = 0;
  down = false;
  readonly charges = new Map<string, string>();
  async charge(key: string): Promise<string> {
    this.calls++;
    if (this.down) throw new Error('bank unavailable');
    const existing = this.charges.get(key);
    if (existing !== undefined) return existing;
    const id = `ch_${this.charges.size + 1}`;
    this.charges.set(key, id);
    return id;
  }
}

type Receipt = { rideId: number; chargeId: string };

function ridePhases(bank: Bank, counts: { started: number }): Record<string, Phase<Receipt>> {
  return {
    started: async ({ tx, key }) => {
      counts.started++;
      const ride = await tx.query('INSERT INTO rides (request_key) VALUES ($1) RETURNING id', [
        key,
      ]);
      return { next: 'ride_created', data: { rideId: ride.rows[0].id as number } };
    },
    ride_created: async ({ tx, key, data }) => {
      const { rideId } = data as { rideId: number };
      const chargeId = await bank.charge(`${key}/charge`);
      await tx.query('UPDATE rides SET charge_id = $1 WHERE id = $2', [chargeId, rideId]);
      return { done: { rideId, chargeId } };
    },
  };
}

const rides = async (key: string) =>
  (await pool.query('SELECT id, charge_id FROM rides WHERE request_key = $1', [key])).rows;

describe('runPhases', () => {
  it('runs every phase once and replays the result to a repeat', async () => {
    const bank = new Bank();
    const counts = { started: 0 };
    const first = await runPhases('ride-1', { from: 'A' }, ridePhases(bank, counts), { store });
    const again = await runPhases('ride-1', { from: 'A' }, ridePhases(bank, counts), { store });
    expect(first.replayed).toBe(false);
    expect(again).toEqual({ value: first.value, replayed: true, epoch: undefined });
    expect(counts.started).toBe(1);
    expect(await rides('ride-1')).toEqual([
      { id: first.value.rideId, charge_id: first.value.chargeId },
    ]);
  });

  it('resumes from the last recovery point after a failed foreign call', async () => {
    const bank = new Bank();
    const counts = { started: 0 };
    bank.down = true;
    const failed = await runPhases('ride-2', { from: 'B' }, ridePhases(bank, counts), {
      store,
    }).catch((e: unknown) => e);
    expect((failed as Error).message).toBe('bank unavailable');
    // The first phase committed (the ride exists, not yet charged); the second rolled back.
    expect(await rides('ride-2')).toEqual([{ id: expect.any(Number), charge_id: null }]);
    bank.down = false;
    const retry = await runPhases('ride-2', { from: 'B' }, ridePhases(bank, counts), { store });
    expect(retry.replayed).toBe(false);
    expect(counts.started).toBe(1);
    expect(await rides('ride-2')).toEqual([
      { id: retry.value.rideId, charge_id: retry.value.chargeId },
    ]);
    expect(bank.charges.size).toBe(1);
  });

  it('rolls back the phase of a late invocation whose key a retry took over', async () => {
    const bank = new Bank();
    const slow: Record<string, Phase<Receipt>> = {
      ...ridePhases(bank, { started: 0 }),
      started: async ({ tx, key }) => {
        await tx.query('INSERT INTO rides (request_key) VALUES ($1)', [`${key}/late`]);
        await pause(700); // past its 200 ms lease, without renewing
        return { next: 'ride_created', data: { rideId: -1 } };
      },
    };
    const late = runPhases('ride-3', { from: 'C' }, slow, {
      store,
      leaseMs: 200,
      renew: false,
    }).then(
      () => 'completed',
      (e: unknown) => (isIdempotencyFencedError(e) ? 'fenced' : String(e)),
    );
    await pause(350);
    const retry = await runPhases('ride-3', { from: 'C' }, ridePhases(bank, { started: 0 }), {
      store,
    });
    expect(retry.epoch).toBe(2);
    expect(await late).toBe('fenced');
    expect(await rides('ride-3/late')).toEqual([]);
    expect(await rides('ride-3')).toEqual([
      { id: retry.value.rideId, charge_id: retry.value.chargeId },
    ]);
  });

  it('rejects phases without a started phase and a next point that is not a phase', async () => {
    await expect(runPhases('ride-4', 1, {}, { store })).rejects.toThrow(/^phases must be/);
    const bad: Record<string, Phase<number>> = { started: async () => ({ next: 'nowhere' }) };
    await expect(runPhases('ride-4', 1, bad, { store })).rejects.toThrow(/^next must be one of/);
  });
});

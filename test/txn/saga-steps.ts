/**
 * The trip saga of the PostgreSQL saga tests: three steps, each inserting the saga's key into its
 * own table (idempotent by key), each compensated by deleting it. The card step fails when the
 * input says the card is declined.
 */
import type pg from 'pg';
import type { SagaDefinition } from '../../src/txn/index.js';

export const STEPS = ['flight', 'hotel', 'card'] as const;

/** The trip saga over `pool`. */
export function tripSaga(pool: pg.Pool): SagaDefinition<{ declined: boolean }> {
  return {
    name: 'trip',
    steps: STEPS.map((name) => ({
      name,
      run: async ({ key, input }) => {
        if (name === 'card' && input.declined) throw new Error('card declined');
        await pool.query(`INSERT INTO booked_${name} (key) VALUES ($1) ON CONFLICT DO NOTHING`, [
          key,
        ]);
      },
      compensate: async ({ key }) => {
        await pool.query(`DELETE FROM booked_${name} WHERE key = $1`, [key]);
      },
    })),
  };
}

/** Creates the step tables. */
export async function createStepTables(pool: pg.Pool): Promise<void> {
  for (const name of STEPS)
    await pool.query(`CREATE TABLE IF NOT EXISTS booked_${name} (key text PRIMARY KEY)`);
}

/** Rows of each step table whose key belongs to `sagaId`. */
export async function bookedRows(pool: pg.Pool, sagaId: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of STEPS) {
    const r = await pool.query(`SELECT count(*) AS n FROM booked_${name} WHERE key LIKE $1`, [
      `${sagaId}:%`,
    ]);
    out.push(Number(r.rows[0].n));
  }
  return out;
}

import { describe, expect, it } from 'vitest';
import { schemaNames } from './schema.js';
import { PostgresAdvisoryLockBackend } from './advisory.js';
import { PostgresLockBackend } from './lock.js';
import type { Pool } from 'pg';

const pool = { query: async () => ({ rows: [] }), connect: async () => ({}) } as unknown as Pool;

describe('schemaNames', () => {
  it('derives every object name from the base', () => {
    expect(schemaNames('app_locks')).toEqual({
      leases: 'app_locks_leases',
      holders: 'app_locks_holders',
      sequence: 'app_locks_token_seq',
      channel: 'app_locks_changed',
    });
  });

  it.each(['', 'Upper', '1abc', 'a-b', 'x; DROP TABLE y', 'a'.repeat(41)])('rejects %j', (bad) => {
    expect(() => schemaNames(bad)).toThrow(RangeError);
  });
});

describe('PostgreSQL backend options', () => {
  it('validates the pool, schema and bounds, naming the field', () => {
    expect(() => new PostgresLockBackend({ pool: {} as Pool })).toThrow(/pool/);
    expect(() => new PostgresLockBackend({ pool, schema: 'Bad' })).toThrow(/schema/);
    expect(() => new PostgresLockBackend({ pool, maxWaiters: 0 })).toThrow(/maxWaiters/);
    expect(() => new PostgresAdvisoryLockBackend({ pool, maxHeld: 0 })).toThrow(/maxHeld/);
    expect(new PostgresLockBackend({ pool }).guarantees).toEqual({
      fifo: false,
      durable: true,
      consensus: false,
    });
    expect(new PostgresAdvisoryLockBackend({ pool }).guarantees.fifo).toBe(true);
  });
});

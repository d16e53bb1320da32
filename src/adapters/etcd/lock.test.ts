import { describe, expect, it } from 'vitest';
import type { Etcd3 } from 'etcd3';
import { EtcdLockBackend } from './lock.js';

const client = { leaseClient: {}, kv: {} } as unknown as Etcd3;

describe('EtcdLockBackend options', () => {
  it('validates every option, naming the field', () => {
    expect(() => new EtcdLockBackend({ client: {} as Etcd3 })).toThrow(/client/);
    expect(() => new EtcdLockBackend({ client, prefix: '' })).toThrow(/prefix/);
    expect(() => new EtcdLockBackend({ client, maxWaiters: 0 })).toThrow(/maxWaiters/);
    expect(() => new EtcdLockBackend({ client, maxSessions: 1.5 })).toThrow(/maxSessions/);
    const backend = new EtcdLockBackend({ client });
    expect(backend.guarantees).toEqual({ fifo: true, durable: true, consensus: true });
    expect(backend.name).toBe('etcd');
  });
});
